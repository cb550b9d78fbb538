// Package rewrite holds what the commands that read keys and write them
// elsewhere share, as a library:
//
//   - KeyFilter, the key selection of every command (--db, --match,
//     --regex, --type, --min-bytes, and --slots, --drop-expired), with the
//     parsers of those flags' values, and DBMap (--map-db);
//   - Converter, which copies an RDB stream for another server version
//     through an rdb.Writer (convert), and Split, which writes one file
//     per cluster slot range (split);
//   - what a target cannot hold and the command-line flag that leaves it
//     out (Checker, Findings), tallied with counts and a few example keys;
//     keys written twice in one database (FindRepeats); empty collections.
//
// Messages name the command-line flags (--downgrade-streams), not the Go
// options behind them: they are read by people running the commands.
package rewrite

import (
	"fmt"
	"io"
	"strings"
)

// Reason is one kind of content a target cannot hold, with the flag that
// leaves it out ("" when no flag does).
type Reason struct {
	What string
	Flag string
	Hint string // what to do instead of "<Flag> leaves them out"
}

func (r Reason) String() string {
	switch {
	case r.Hint != "":
		return r.What + "; " + r.Hint
	case r.Flag == "":
		return r.What
	}
	return r.What + "; " + r.Flag + " leaves them out"
}

// Finding is a Reason with the number of keys (or records) it concerns
// and the first few of them.
type Finding struct {
	Reason
	Count    int64
	Examples []string // "db N "key"" of the first keys, quoted
}

// maxExamples is how many keys a Finding names.
const maxExamples = 3

// Findings tallies Reasons in the order they were first met.
type Findings struct {
	byReason map[Reason]*Finding
	order    []*Finding
}

// Add counts one key (or, with key nil, one record) under r.
func (f *Findings) Add(r Reason, db int, key []byte) {
	if f.byReason == nil {
		f.byReason = map[Reason]*Finding{}
	}
	x := f.byReason[r]
	if x == nil {
		x = &Finding{Reason: r}
		f.byReason[r] = x
		f.order = append(f.order, x)
	}
	x.Count++
	if len(x.Examples) < maxExamples && key != nil {
		x.Examples = append(x.Examples, fmt.Sprintf("db %d %q", db, key))
	}
}

// AddN counts n keys under r, with examples already formatted.
func (f *Findings) AddN(r Reason, n int64, examples []string) {
	if n <= 0 {
		return
	}
	f.Add(r, 0, nil)
	x := f.byReason[r]
	x.Count += n - 1
	for _, e := range examples {
		if len(x.Examples) < maxExamples {
			x.Examples = append(x.Examples, e)
		}
	}
}

// List returns the findings in the order first met.
func (f *Findings) List() []Finding {
	out := make([]Finding, len(f.order))
	for i, x := range f.order {
		out[i] = *x
		out[i].Examples = append([]string(nil), x.Examples...)
	}
	return out
}

// Total is the number of keys and records counted.
func (f *Findings) Total() int64 {
	var n int64
	for _, x := range f.order {
		n += x.Count
	}
	return n
}

// Empty reports whether nothing was counted.
func (f *Findings) Empty() bool { return len(f.order) == 0 }

// Print writes one line per finding: count, reason, flag, examples.
func (f *Findings) Print(w io.Writer, indent string) {
	for _, x := range f.order {
		fmt.Fprintf(w, "%s%8d  %s", indent, x.Count, x.Reason)
		if len(x.Examples) > 0 {
			more := ""
			if x.Count > int64(len(x.Examples)) {
				more = ", ..."
			}
			fmt.Fprintf(w, " (e.g. %s%s)", strings.Join(x.Examples, ", "), more)
		}
		fmt.Fprintln(w)
	}
}

// Flags lists the flags that would leave everything found out, in order,
// or false when some finding has no flag.
func (f *Findings) Flags() ([]string, bool) {
	var flags []string
	all := true
	seen := map[string]bool{}
	for _, x := range f.order {
		if x.Flag == "" {
			all = false
			continue
		}
		if !seen[x.Flag] {
			seen[x.Flag] = true
			flags = append(flags, x.Flag)
		}
	}
	return flags, all
}

// Error is the error of a run refused for its findings.
type Error struct {
	Findings []Finding
}

func (e *Error) Error() string {
	var b strings.Builder
	var n int64
	for _, x := range e.Findings {
		n += x.Count
	}
	fmt.Fprintf(&b, "the target cannot hold %d key(s) or record(s) of the input; nothing was written:", n)
	for _, x := range e.Findings {
		fmt.Fprintf(&b, "\n  %d: %s", x.Count, x.Reason)
		if len(x.Examples) > 0 {
			fmt.Fprintf(&b, " (e.g. %s)", strings.Join(x.Examples, ", "))
		}
	}
	return b.String()
}

// Err returns an *Error for the findings, or nil when there are none.
func (f *Findings) Err() error {
	if f.Empty() {
		return nil
	}
	return &Error{Findings: f.List()}
}
