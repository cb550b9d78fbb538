package analyze

import (
	"context"

	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"github.com/rdbtool/rdbtool/rdb"
	"io"
	"strconv"
	"time"

	"github.com/olekukonko/tablewriter"
)

// WriteJSON writes the report in the documented JSON schema.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func table(w io.Writer, title string, header []string, rows [][]string) {
	fmt.Fprintf(w, "\n%s\n", title)
	t := tablewriter.NewWriter(w)
	hs := make([]any, len(header))
	for i, h := range header {
		hs[i] = h
	}
	t.Header(hs...)
	for _, r := range rows {
		vs := make([]any, len(r))
		for i, v := range r {
			vs[i] = v
		}
		t.Append(vs...)
	}
	t.Render()
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func statsRow(s *Stats) []string {
	return []string{u(s.Keys), u(s.Memory), u(s.Elements), u(s.WithTTL), u(s.WithoutTTL), u(s.Expired)}
}

var statsHeader = []string{"keys", "memory", "elements", "with ttl", "no ttl", "expired"}

// WriteTable writes the report as text tables.
func WriteTable(w io.Writer, r *Report) error {
	var rows [][]string
	for _, f := range r.Files {
		rows = append(rows, append([]string{f.Name, f.Server + " (" + f.ServerSource + ")", strconv.FormatInt(f.Bytes, 10)}, statsRow(&f.Stats)...))
	}
	table(w, "Files (allocator "+r.Allocator+")", append([]string{"file", "server", "bytes"}, statsHeader...), rows)
	table(w, "Total", statsHeader, [][]string{statsRow(&r.Totals)})
	rows = nil
	loadRow := func(name string, l *LoadPrediction) []string {
		fits := "-"
		if l.Maxmemory > 0 {
			fits = "yes"
			if !l.Fits {
				fits = "NO"
			}
		}
		return []string{name, l.Server + " " + l.Allocator, u(l.UsedMemory), u(l.Dataset), u(l.Overhead), u(l.KeyspaceTables), u(l.Expires),
			u(l.Keys), u(l.DroppedExpired), fmt.Sprintf("±%.0f%%", l.Accuracy*100), fits}
	}
	for i := range r.Files {
		rows = append(rows, loadRow(r.Files[i].Name, &r.Files[i].Load))
	}
	if len(r.Files) > 1 {
		rows = append(rows, loadRow("total", &r.Load))
	}
	table(w, "Once loaded (INFO memory predicted for a server that loads the file; accuracy "+r.Load.AccuracyBasis+")",
		[]string{"file", "server", "used_memory", "dataset", "overhead", "keyspace tables", "expires", "keys", "dropped as expired", "accuracy", "fits maxmemory"}, rows)
	rows = nil
	for _, d := range r.DBs {
		rows = append(rows, append([]string{strconv.Itoa(d.DB)}, statsRow(&d.Stats)...))
	}
	table(w, "Databases", append([]string{"db"}, statsHeader...), rows)
	rows = nil
	for _, t := range r.Types {
		rows = append(rows, append([]string{t.Type, t.Encoding}, statsRow(&t.Stats)...))
	}
	table(w, "Types and encodings", append([]string{"type", "encoding"}, statsHeader...), rows)
	for _, b := range r.BigKeys {
		for i, list := range [][]KeyRef{b.ByMemory, b.ByElements} {
			by := "memory"
			if i == 1 {
				by = "elements"
			}
			rows = nil
			for _, k := range list {
				rows = append(rows, keyRow(&k))
			}
			table(w, "Biggest "+b.Type+" keys by "+by, keyHeader, rows)
		}
	}
	rows = nil
	for i, name := range TTLBuckets {
		rows = append(rows, []string{name, u(r.TTL.Keys[i]), u(r.TTL.Memory[i])})
	}
	table(w, "TTL (relative to snapshot time)", []string{"ttl", "keys", "memory"}, rows)
	if r.Prefixes.Depth > 0 {
		rows = nil
		for _, p := range r.Prefixes.Rows {
			if len(rows) >= 50 {
				break
			}
			share := "0%"
			if p.Keys > 0 {
				share = fmt.Sprintf("%.1f%%", 100*float64(p.WithTTL)/float64(p.Keys))
			}
			rows = append(rows, []string{printable(p.Prefix), strconv.Itoa(p.Level), u(p.Keys), u(p.Memory), share})
		}
		c := r.Prefixes.Collapsed
		title := fmt.Sprintf("Prefixes (separators %q, depth %d; top %d shown; collapsed: %d prefixes, %d keys, %d bytes)",
			r.Prefixes.Separators, r.Prefixes.Depth, len(rows), c.Prefixes, c.Keys, c.Memory)
		table(w, title, []string{"prefix", "level", "keys", "memory", "with ttl"}, rows)
	}
	if len(r.HotKeys) > 0 {
		rows = nil
		for _, k := range r.HotKeys {
			rows = append(rows, append(keyRow(&k), strconv.Itoa(k.Freq)))
		}
		table(w, "Hot keys (LFU counter)", append(keyHeader, "lfu"), rows)
	}
	if len(r.Modules) > 0 {
		rows = nil
		for _, m := range r.Modules {
			rows = append(rows, []string{m.Name, u(m.Keys), u(m.Memory), u(m.AuxRecords)})
		}
		table(w, "Modules", []string{"module type", "keys", "memory", "aux records"}, rows)
	}
	if len(r.Functions) > 0 {
		rows = nil
		for _, f := range r.Functions {
			rows = append(rows, []string{f})
		}
		table(w, "Function libraries", []string{"library"}, rows)
	}
	return nil
}

var keyHeader = []string{"db", "key", "encoding", "memory", "elements", "largest element"}

func keyRow(k *KeyRef) []string {
	largest := "?"
	if k.LargestElement >= 0 {
		largest = strconv.FormatInt(k.LargestElement, 10)
	}
	return []string{strconv.Itoa(k.DB), printable(k.KeyText), k.Encoding, u(k.Memory), u(k.Elements), largest}
}

// printable quotes keys that are not plain printable text.
func printable(s string) string {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == 0xfffd {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// CSVHeader is the redis-rdb-tools compatible column list of "rdbtool memory --format csv".
var CSVHeader = []string{"database", "type", "key", "size_in_bytes", "encoding", "num_elements", "len_largest_element", "expiry"}

// RowWriter writes one row per key as CSV or JSONL.
type RowWriter struct {
	csv  *csv.Writer
	json *json.Encoder
	w    io.Writer
}

// NewCSVWriter writes the header and returns a writer for rows.
func NewCSVWriter(w io.Writer) (*RowWriter, error) {
	c := csv.NewWriter(w)
	if err := c.Write(CSVHeader); err != nil {
		return nil, err
	}
	return &RowWriter{csv: c, w: w}, nil
}

// NewJSONLWriter returns a writer of JSON lines.
func NewJSONLWriter(w io.Writer) *RowWriter {
	return &RowWriter{json: json.NewEncoder(w), w: w}
}

// KeyRow is one line of "rdbtool memory --format jsonl".
type KeyRow struct {
	Database          int     `json:"database"`
	Type              string  `json:"type"`
	Key               string  `json:"key"`
	KeyB64            string  `json:"key_b64"`
	SizeInBytes       uint64  `json:"size_in_bytes"`
	Encoding          string  `json:"encoding"`
	NumElements       uint64  `json:"num_elements"`
	LenLargestElement *uint64 `json:"len_largest_element"`
	Expiry            string  `json:"expiry"`
	ExpireAtMs        *int64  `json:"expire_at_ms"`
}

// Write writes one key.
func (rw *RowWriter) Write(k *Key) error {
	expiry := ""
	if k.ExpireAt != 0 {
		expiry = time.UnixMilli(k.ExpireAt).UTC().Format("2006-01-02T15:04:05.000000")
	}
	if rw.csv != nil {
		largest := ""
		if k.LargestKnown {
			largest = u(k.Largest)
		}
		return rw.csv.Write([]string{strconv.Itoa(k.DB), k.Type, string(k.Key), u(k.Bytes), k.Encoding, u(k.Elements), largest, expiry})
	}
	row := KeyRow{Database: k.DB, Type: k.Type, Key: string(k.Key), KeyB64: base64.StdEncoding.EncodeToString(k.Key),
		SizeInBytes: k.Bytes, Encoding: k.Encoding, NumElements: k.Elements, Expiry: expiry}
	if k.LargestKnown {
		l := k.Largest
		row.LenLargestElement = &l
	}
	if k.ExpireAt != 0 {
		e := k.ExpireAt
		row.ExpireAtMs = &e
	}
	return rw.json.Encode(&row)
}

// Flush flushes buffered CSV output.
func (rw *RowWriter) Flush() error {
	if rw.csv != nil {
		rw.csv.Flush()
		return rw.csv.Error()
	}
	return nil
}

// ScanKeys calls fn with every key of r and its estimate (Options.Top,
// prefixes and TTL settings are not used). It is what "rdbtool memory"
// runs.
func ScanKeys(ctx context.Context, r *rdb.Reader, opts Options, fn func(*Key) error) (*FileMeta, error) {
	var meta FileMeta
	err := scanFile(ctx, r, scanOptions{allocator: opts.Allocator, version: opts.ServerVersion, deep: opts.Deep, listCompressDepth: opts.ListCompressDepth, jobs: opts.Jobs, filter: opts.Filter, minBytes: opts.MinBytes}, &meta, fn)
	return &meta, err
}
