package render

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/internal/golden"
	"github.com/rdbtool/rdbtool/rdb"
)

// tableOf analyzes corpus files with a fixed clock and renders the table.
func tableOf(t *testing.T, o TableOptions, files ...string) []byte {
	t.Helper()
	var inputs []analyze.Input
	for _, f := range files {
		// Names relative to the corpus keep the output independent of
		// where the repository is.
		in := openInput(filepath.Join("..", "..", "testdata", "corpus", f))
		in.Name = f
		inputs = append(inputs, in)
	}
	rep, err := analyze.New(analyze.Options{}).Analyze(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Table(&buf, rep, o); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var goldenNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// TestTableGolden: the analyze table of corpus files, in human units and
// with --bytes, is what the golden files hold.
func TestTableGolden(t *testing.T) {
	golden.Check(t, "analyze-redis-7.4.1-main.txt", tableOf(t, TableOptions{Now: goldenNow}, "redis-7.4.1/main.rdb"))
	golden.Check(t, "analyze-redis-7.4.1-main-bytes.txt", tableOf(t, TableOptions{Now: goldenNow, Bytes: true}, "redis-7.4.1/main.rdb"))
	golden.Check(t, "analyze-two-files.txt", tableOf(t, TableOptions{Now: goldenNow}, "redis-7.0.15/lfu.rdb", "valkey-8.0.1/cluster.rdb"))
}

// TestTableSaysSomething checks the rules the golden files could hide:
// the overall biggest keys come first, string keys have no table by
// element count, compact encodings show their largest element, sizes are
// in binary units, and used-mem is beside the estimate with its reason.
func TestTableSaysSomething(t *testing.T) {
	out := string(tableOf(t, TableOptions{Now: goldenNow}, "redis-7.4.1/main.rdb"))
	first := strings.Index(out, "Biggest keys by memory (all types)")
	if first < 0 || first > strings.Index(out, "Biggest hash keys by memory") {
		t.Errorf("the overall biggest-keys table is missing or not first")
	}
	if strings.Contains(out, "Biggest string keys by elements") {
		t.Errorf("a table of strings by element count")
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " listpack ") && strings.Contains(line, " ? ") {
			t.Errorf("a listpack key with an unknown largest element: %s", line)
		}
	}
	for _, want := range []string{"1.25 MiB", "used-mem (file)", "4.62 MiB", "used-mem is the writing server's used_memory",
		"2026-11-24T22:03:24Z (10d 13h ago)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	raw := string(tableOf(t, TableOptions{Now: goldenNow, Bytes: true}, "redis-7.4.1/main.rdb"))
	if strings.Contains(raw, "MiB") || strings.Contains(raw, "KiB") || !strings.Contains(raw, "1310776") {
		t.Errorf("--bytes output still has binary units or lacks exact counts")
	}
}

// TestTableAndJSONHostileKeys: keys holding escape sequences, C1 controls
// and bytes that are not UTF-8 reach the table only quoted, and the JSON
// only escaped, with "key" absent for the key that is not UTF-8.
func TestTableAndJSONHostileKeys(t *testing.T) {
	keys := []string{"esc\x1b[31mred\x07", "bad\xff\xfe", "c1\u009b2J", "rtl\u202eevil"}
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
	if err != nil {
		t.Fatal(err)
	}
	w.SelectDB(0)
	for i, k := range keys {
		if err := w.WriteString(rdb.KeyHeader{Key: []byte(k)}, bytes.Repeat([]byte("v"), 100*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hostile.rdb")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := analyze.New(analyze.Options{}).Analyze(context.Background(), []analyze.Input{openInput(p)})
	if err != nil {
		t.Fatal(err)
	}
	var table, js bytes.Buffer
	if err := Table(&table, rep, TableOptions{Now: goldenNow}); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	// The table quotes bidi overrides too; JSON, for programs, keeps
	// them as text.
	for name, c := range map[string]struct{ out, bad string }{"table": {table.String(), "\x1b\x07\u009b\u202e"}, "json": {js.String(), "\x1b\x07\u009b"}} {
		if strings.ContainsAny(c.out, c.bad) || !utf8.ValidString(c.out) {
			t.Errorf("%s: a control character or invalid UTF-8 reaches the output", name)
		}
	}
	for _, want := range []string{`"esc\x1b[31mred\a"`, `"bad\xff\xfe"`, `"c1\u009b2J"`, `"rtl\u202eevil"`} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %s", want)
		}
	}
	var back struct {
		Biggest []map[string]any `json:"biggest_keys"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	texts := map[string]bool{}
	for _, k := range back.Biggest {
		if s, ok := k["key"].(string); ok {
			texts[s] = true
		}
	}
	if len(back.Biggest) != 4 || len(texts) != 3 || !texts[keys[0]] || !texts[keys[2]] || !texts[keys[3]] {
		t.Errorf("biggest keys' text: %v of %d", texts, len(back.Biggest))
	}
}
