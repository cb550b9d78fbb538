// Package render writes an analyze.Report for people and other programs:
// text tables, one self-contained HTML page, and the JSON schema; and the
// per-key rows of "rdbtool memory" as CSV (redis-rdb-tools' columns) or
// JSON Lines. It is apart from analyze so that a program that only wants
// the Report does not pull in the table and page writers.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/internal/display"
	"github.com/rdbtool/rdbtool/internal/jsontext"
)

// JSON writes the report in its documented JSON schema (analyze.Report):
// sizes are raw byte counts, times Unix seconds or milliseconds. Control
// characters in keys are escaped, the C1 ones too.
func JSON(w io.Writer, r *analyze.Report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(jsontext.EscapeC1(b), '\n'))
	return err
}

// TableOptions say how Table shows figures.
type TableOptions struct {
	// Bytes shows sizes as exact byte counts instead of binary units
	// (KiB, MiB, GiB).
	Bytes bool
	// Now is the time ages are measured against (zero: the current time).
	Now time.Time
}

type tableWriter struct {
	w   io.Writer
	o   TableOptions
	err error
	// snapshot is each file's snapshot time, which key TTLs are measured from.
	snapshot map[string]int64
}

func (t *tableWriter) size(n uint64) string {
	if t.o.Bytes {
		return strconv.FormatUint(n, 10)
	}
	return display.Bytes(n)
}

func (t *tableWriter) table(title string, header []string, rows [][]string) {
	if t.err != nil {
		return
	}
	if _, t.err = fmt.Fprintf(t.w, "\n%s\n", title); t.err != nil {
		return
	}
	// Headers as written: "used_memory" is the INFO field's name.
	tab := tablewriter.NewTable(t.w, tablewriter.WithHeaderAutoFormat(tw.Off))
	hs := make([]any, len(header))
	for i, h := range header {
		hs[i] = h
	}
	tab.Header(hs...)
	for _, r := range rows {
		vs := make([]any, len(r))
		for i, v := range r {
			vs[i] = v
		}
		if t.err = tab.Append(vs...); t.err != nil {
			return
		}
	}
	t.err = tab.Render()
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func (t *tableWriter) statsRow(s *analyze.Stats) []string {
	return []string{u(s.Keys), t.size(s.Memory), u(s.Elements), u(s.WithTTL), u(s.WithoutTTL), u(s.Expired)}
}

var statsHeader = []string{"keys", "memory", "elements", "with ttl", "no ttl", "expired"}

// Table writes the report as text tables: files, totals, the biggest keys
// across types, the prediction once loaded, databases, types and
// encodings, the biggest keys of each type, TTLs, prefixes, hot keys,
// modules and function libraries. Keys and names from the data are quoted
// when they hold anything that is not printable text.
func Table(w io.Writer, r *analyze.Report, o TableOptions) error {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	t := &tableWriter{w: w, o: o, snapshot: map[string]int64{}}
	for _, f := range r.Files {
		t.snapshot[f.Name] = f.SnapshotTime
	}
	t.files(r)
	var usedMem uint64
	for _, f := range r.Files {
		usedMem += f.UsedMemAux
	}
	total := t.statsRow(&r.Totals)
	totalHeader := statsHeader
	if usedMem > 0 {
		total = append(total, t.size(usedMem))
		totalHeader = append(append([]string(nil), statsHeader...), "used-mem (file)")
	}
	t.table("Total", totalHeader, [][]string{total})
	if usedMem > 0 && t.err == nil {
		_, t.err = fmt.Fprintln(w, "memory is the keys' MEMORY USAGE; used-mem is the writing server's used_memory when it saved, which also counts its keyspace tables, clients, buffers and replication backlog.")
	}
	if len(r.BiggestKeys) > 0 {
		t.keys("Biggest keys by memory (all types)", r.BiggestKeys, false)
	}
	t.load(r)
	var rows [][]string
	for _, d := range r.DBs {
		rows = append(rows, append([]string{strconv.Itoa(d.DB)}, t.statsRow(&d.Stats)...))
	}
	t.table("Databases", append([]string{"db"}, statsHeader...), rows)
	rows = nil
	for _, ty := range r.Types {
		rows = append(rows, append([]string{display.Quote(ty.Type), ty.Encoding}, t.statsRow(&ty.Stats)...))
	}
	t.table("Types and encodings", append([]string{"type", "encoding"}, statsHeader...), rows)
	for _, b := range r.BigKeys {
		t.keys("Biggest "+display.Quote(b.Type)+" keys by memory", b.ByMemory, false)
		// A string has one element: its list by elements says nothing.
		// Neither does one that repeats the list by memory.
		if b.Type != "string" && !sameKeys(b.ByMemory, b.ByElements) {
			t.keys("Biggest "+display.Quote(b.Type)+" keys by elements", b.ByElements, false)
		}
	}
	rows = nil
	for i, name := range analyze.TTLBuckets {
		rows = append(rows, []string{name, u(r.TTL.Keys[i]), t.size(r.TTL.Memory[i])})
	}
	t.table("TTL (relative to snapshot time)", []string{"ttl", "keys", "memory"}, rows)
	t.prefixes(r)
	if len(r.HotKeys) > 0 {
		t.keys("Hot keys (LFU counter)", r.HotKeys, true)
	}
	if len(r.Modules) > 0 {
		rows = nil
		for _, m := range r.Modules {
			rows = append(rows, []string{display.Quote(m.Name), u(m.Keys), t.size(m.Memory), u(m.AuxRecords)})
		}
		t.table("Modules", []string{"module type", "keys", "memory", "aux records"}, rows)
	}
	if len(r.Functions) > 0 {
		rows = nil
		for _, f := range r.Functions {
			rows = append(rows, []string{display.Quote(f)})
		}
		t.table("Function libraries", []string{"library"}, rows)
	}
	return t.err
}

func (t *tableWriter) files(r *analyze.Report) {
	var rows [][]string
	for _, f := range r.Files {
		snap := "-"
		if f.SnapshotTime > 0 {
			snap = display.Time(time.Unix(f.SnapshotTime, 0), t.o.Now)
		}
		rows = append(rows, append([]string{display.Quote(f.Name), f.Server + " (" + f.ServerSource + ")", snap, t.size(uint64(f.Bytes))}, t.statsRow(&f.Stats)...))
	}
	t.table("Files (allocator "+r.Allocator+")", append([]string{"file", "server", "snapshot time", "file size"}, statsHeader...), rows)
}

func (t *tableWriter) load(r *analyze.Report) {
	row := func(name string, l *analyze.LoadPrediction) []string {
		fits := "-"
		if l.Maxmemory > 0 {
			fits = "yes"
			if !l.Fits {
				fits = "NO"
			}
		}
		return []string{name, l.Server + " " + l.Allocator, t.size(l.UsedMemory), t.size(l.Dataset), t.size(l.Overhead), t.size(l.KeyspaceTables), t.size(l.Expires),
			u(l.Keys), u(l.DroppedExpired), fmt.Sprintf("±%.0f%%", l.Accuracy*100), fits}
	}
	var rows [][]string
	for i := range r.Files {
		rows = append(rows, row(display.Quote(r.Files[i].Name), &r.Files[i].Load))
	}
	if len(r.Files) > 1 {
		rows = append(rows, row("total", &r.Load))
	}
	t.table("Once loaded (INFO memory predicted for a server that loads the file; accuracy "+r.Load.AccuracyBasis+")",
		[]string{"file", "server", "used_memory", "dataset", "overhead", "keyspace tables", "expires", "keys", "dropped as expired", "accuracy", "fits maxmemory"}, rows)
}

func (t *tableWriter) prefixes(r *analyze.Report) {
	if r.Prefixes.Depth <= 0 {
		return
	}
	var rows [][]string
	for _, p := range r.Prefixes.Rows {
		if len(rows) >= 50 {
			break
		}
		share := "0%"
		if p.Keys > 0 {
			share = fmt.Sprintf("%.1f%%", 100*float64(p.WithTTL)/float64(p.Keys))
		}
		rows = append(rows, []string{display.Quote(p.Prefix), strconv.Itoa(p.Level), u(p.Keys), t.size(p.Memory), share})
	}
	c := r.Prefixes.Collapsed
	title := fmt.Sprintf("Prefixes (separators %q, depth %d; top %d shown; collapsed: %d prefixes, %d keys, %s)",
		r.Prefixes.Separators, r.Prefixes.Depth, len(rows), c.Prefixes, c.Keys, t.size(c.Memory))
	t.table(title, []string{"prefix", "level", "keys", "memory", "with ttl"}, rows)
}

func (t *tableWriter) keys(title string, keys []analyze.KeyRef, freq bool) {
	header := []string{"db", "key", "type", "encoding", "memory", "elements", "largest element", "expires"}
	if freq {
		header = append(header, "lfu")
	}
	var rows [][]string
	for _, k := range keys {
		largest := "?"
		if k.LargestElement >= 0 {
			largest = t.size(uint64(k.LargestElement))
		}
		expires := "-"
		if k.ExpireAt != 0 {
			expires = t.expiry(&k)
		}
		row := []string{strconv.Itoa(k.DB), display.Quote(string(k.Key)), display.Quote(k.Type), k.Encoding, t.size(k.Memory), u(k.Elements), largest, expires}
		if freq {
			row = append(row, strconv.Itoa(k.Freq))
		}
		rows = append(rows, row)
	}
	t.table(title, header, rows)
}

// expiry shows when a key expires, in UTC, with its TTL at the snapshot
// time of its file.
func (t *tableWriter) expiry(k *analyze.KeyRef) string {
	at := time.UnixMilli(k.ExpireAt)
	s := at.UTC().Format(time.RFC3339)
	snap, ok := t.snapshot[k.File]
	if !ok || snap == 0 {
		return s
	}
	// A ctime is the end of its second, as analyze counts expiry.
	ttl := at.Sub(time.Unix(snap, 999e6))
	if ttl <= 0 {
		return s + " (expired)"
	}
	return s + " (ttl " + display.Duration(ttl) + ")"
}

// sameKeys reports whether two top lists hold the same keys in order.
func sameKeys(a, b []analyze.KeyRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].File != b[i].File || a[i].DB != b[i].DB || string(a[i].Key) != string(b[i].Key) {
			return false
		}
	}
	return true
}
