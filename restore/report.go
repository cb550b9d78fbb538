package restore

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/internal/display"
	"github.com/rdbtool/rdbtool/internal/periodic"
	"github.com/rdbtool/rdbtool/rewrite"
)

// KeyIssue is a key that was not written, with the reason.
type KeyIssue struct {
	Source string `json:"source"`
	DB     int    `json:"db"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Report is what Restore did.
type Report struct {
	Target        string
	TargetVersion string // redis_version of the target
	TargetRDB     int    // RDB version the target loads
	Nodes         []string
	Resumed       bool

	Keys            int64 // keys read from the sources (after filters)
	Written         int64
	ByRestore       int64 // written with RESTORE of the stored payload
	ByReencode      int64 // written with RESTORE of a re-encoded payload
	ByCommands      int64 // written with commands
	BySet           int64 // strings written with SET ... PXAT (cheaper for the server than RESTORE)
	ByMSet          int64 // strings without TTL written in MSET batches (cheaper still)
	BySync          int64 // loaded by the target from a replication full sync (Method)
	Skipped         map[string]int64
	Failed          int64      // errors (the reasons are in Issues)
	Refused         int64      // content the target cannot hold
	Issues          []KeyIssue // failed and refused keys (the first 1000)
	Functions       int64
	FunctionsFailed int64
	Notes           []string
	Bytes           int64 // payload bytes sent
	Elapsed         time.Duration
	Verify          *VerifyReport
	// EstimatedBytes is the memory the keys are expected to take in the
	// target (computed when the target has a maxmemory).
	EstimatedBytes int64
	DryRun         bool
	// Incompatible is what the target cannot hold, found before writing
	// by one pass over the sources; when it is not empty nothing was
	// written and Restore returned a *rewrite.Error.
	Incompatible []rewrite.Finding
}

// OK reports whether every key was written or deliberately skipped.
func (r *Report) OK() bool {
	return r.Failed == 0 && r.Refused == 0 && r.FunctionsFailed == 0 && (r.Verify == nil || r.Verify.OK())
}

// Print writes a human summary.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "restore into %s (%s, RDB %d, %d node(s))%s\n", redactURL(r.Target), r.TargetVersion, r.TargetRDB, len(r.Nodes), map[bool]string{true: ", resumed", false: ""}[r.Resumed])
	if r.DryRun {
		fmt.Fprintf(w, "  dry run: nothing was written\n")
	}
	if r.EstimatedBytes > 0 {
		fmt.Fprintf(w, "  estimated memory in the target: %s\n", humanBytes(r.EstimatedBytes))
	}
	if r.DryRun || len(r.Incompatible) > 0 {
		// Nothing was written: no counts to show.
		r.printIncompatible(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if len(r.Incompatible) == 0 {
			fmt.Fprintf(w, "  the checks made before writing pass\n")
		}
		return
	}
	rate := float64(r.Written) / math.Max(r.Elapsed.Seconds(), 1e-3)
	how := fmt.Sprintf("RESTORE %d, re-encoded %d, SET %d, MSET %d, commands %d", r.ByRestore, r.ByReencode, r.BySet, r.ByMSet, r.ByCommands)
	if r.BySync > 0 {
		how = fmt.Sprintf("by a full sync: the target loaded a stream of %s", display.Bytes(uint64(r.Bytes)))
	}
	fmt.Fprintf(w, "  keys read:    %d\n  written:      %d (%s) in %.1fs, %.0f keys/s, %s\n",
		r.Keys, r.Written, how, r.Elapsed.Seconds(), rate, display.Bytes(uint64(r.Bytes)))
	var reasons []string
	for k := range r.Skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	var total int64
	for _, k := range reasons {
		total += r.Skipped[k]
	}
	fmt.Fprintf(w, "  skipped:      %d\n", total)
	for _, k := range reasons {
		fmt.Fprintf(w, "    %8d  %s\n", r.Skipped[k], k)
	}
	fmt.Fprintf(w, "  refused:      %d\n  failed:       %d\n", r.Refused, r.Failed)
	if r.Functions > 0 || r.FunctionsFailed > 0 {
		fmt.Fprintf(w, "  functions:    %d loaded, %d failed\n", r.Functions, r.FunctionsFailed)
	}
	printIssues(w, r.Issues)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.Verify != nil {
		r.Verify.Print(w)
	}
}

// printIncompatible lists what the target cannot hold, with counts,
// example keys and the flag that leaves each out.
func (r *Report) printIncompatible(w io.Writer) {
	if len(r.Incompatible) == 0 {
		return
	}
	fmt.Fprintf(w, "  the target cannot hold (nothing was written):\n")
	for _, x := range r.Incompatible {
		fmt.Fprintf(w, "    %8d  %s", x.Count, x.Reason)
		if len(x.Examples) > 0 {
			fmt.Fprintf(w, " (e.g. %s)", strings.Join(x.Examples, ", "))
		}
		fmt.Fprintln(w)
	}
}

// printIssues prints the failed and refused keys one line per reason,
// with a count and a few example keys.
func printIssues(w io.Writer, issues []KeyIssue) {
	var f rewrite.Findings
	for _, is := range issues {
		f.Add(rewrite.Reason{What: is.Reason}, is.DB, []byte(is.Key))
	}
	f.Print(w, "  ")
	if len(issues) == issueLimit {
		fmt.Fprintf(w, "    (only the first %d keys are listed)\n", issueLimit)
	}
}

// issueLimit bounds Report.Issues.
const issueLimit = 1000

func (e *engine) finishReport(start time.Time) {
	r := e.rep
	r.Written = e.written.Load() + e.cpBase.Written
	r.ByRestore, r.ByReencode, r.ByCommands, r.BySet, r.ByMSet = e.byRestore.Load(), e.byReenc.Load(), e.byCmd.Load(), e.bySet.Load(), e.byMSet.Load()
	r.BySync = e.bySync.Load()
	r.Failed = e.failed.Load() + e.cpBase.Failed
	r.Refused = e.refused.Load() + e.cpBase.Refused
	r.Bytes = e.bytes.Load()
	r.Keys = e.keysRead.Load()
	e.repMu.Lock()
	for k, v := range e.skipped {
		r.Skipped[k] += v
	}
	for k, v := range e.cpBase.Skipped {
		r.Skipped[k] += v
	}
	e.repMu.Unlock()
	r.Elapsed = time.Since(start)
}

// progress prints a line every second.
func (e *engine) progress(start time.Time) func() {
	return periodic.Every(time.Second, func() {
		el := time.Since(start).Seconds()
		w := e.written.Load()
		fmt.Fprintf(e.o.Progress, "restore: %d keys written (%.0f/s), %d failed, %d refused, %d MiB sent, %.0fs\n",
			w, float64(w)/el, e.failed.Load(), e.refused.Load(), e.bytes.Load()>>20, el)
	})
}
