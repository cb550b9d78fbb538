package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/rdb"
)

// Keys and values that are text, text with control characters (valid
// UTF-8 that must still be escaped), and bytes that are not UTF-8.
var (
	textKey    = "user:1:名前"
	controlKey = "ctl\x1b[31m\u009b2J\x00"
	binaryKey  = "bin\xff\xfe"
)

// keysFile writes an RDB with string and list keys named as above; with
// repeat, textKey is written twice in db 0 (a file check calls invalid).
func keysFile(t *testing.T, repeat bool) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, AllowDuplicateKeys: repeat})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.SelectDB(0))
	must(w.WriteString(rdb.KeyHeader{Key: []byte(textKey)}, []byte("héllo \"quoted\" \\ \n")))
	must(w.WriteString(rdb.KeyHeader{Key: []byte(controlKey)}, []byte("v\x07\u0085")))
	must(w.WriteString(rdb.KeyHeader{Key: []byte(binaryKey)}, []byte("\xfe\xff")))
	if repeat {
		must(w.WriteString(rdb.KeyHeader{Key: []byte(textKey)}, []byte("again")))
	}
	must(w.SelectDB(3))
	l, err := w.BeginList(rdb.KeyHeader{Key: []byte("list:1")}, 2)
	must(err)
	must(l.Add(rdb.Element{Member: []byte("a")}))
	must(l.Add(rdb.Element{Member: []byte("\xff")}))
	must(l.Close())
	must(w.Close())
	p := filepath.Join(t.TempDir(), "keys.rdb")
	must(os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

// checkTextPair checks the rule for a record's text/b64 pair: name_b64
// decodes to the bytes, and name is present, equal to them, exactly when
// they are valid UTF-8. It returns the bytes.
func checkTextPair(t *testing.T, where string, rec map[string]json.RawMessage, name string) []byte {
	t.Helper()
	var b64 string
	if err := json.Unmarshal(rec[name+"_b64"], &b64); err != nil {
		t.Fatalf("%s: %s_b64: %v in %v", where, name, err, rec)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("%s: %s_b64 %q: %v", where, name, b64, err)
	}
	text, has := rec[name]
	switch {
	case utf8.Valid(raw) && !has:
		t.Errorf("%s: %s %q is UTF-8 but has no %q field", where, name, raw, name)
	case !utf8.Valid(raw) && has:
		t.Errorf("%s: %s %q is not UTF-8 but has %q: %s", where, name, raw, name, text)
	case has:
		var s string
		if err := json.Unmarshal(text, &s); err != nil || s != string(raw) {
			t.Errorf("%s: %s is %s, want %q (%v)", where, name, text, raw, err)
		}
	}
	return raw
}

// jsonRecords parses JSON Lines, failing on any line that is not JSON or
// that carries a raw control byte.
func jsonRecords(t *testing.T, out string) []map[string]json.RawMessage {
	t.Helper()
	var recs []map[string]json.RawMessage
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.ContainsAny(line, "\x1b\x07\x00\u009b\u0085") {
			t.Errorf("a raw control character in %q", line)
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %v: %q", err, line)
		}
		recs = append(recs, rec)
	}
	return recs
}

func keysSeen(t *testing.T, where string, recs []map[string]json.RawMessage) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for _, rec := range recs {
		if _, ok := rec["database"]; ok {
			t.Errorf("%s: field \"database\" (want \"db\"): %v", where, rec)
		}
		if _, ok := rec["db"]; !ok {
			t.Errorf("%s: no db: %v", where, rec)
		}
		seen[string(checkTextPair(t, where, rec, "key"))] = true
	}
	return seen
}

// TestDumpJSONKeyAndValueText: dump's records have key beside key_b64
// and, for strings, value beside value_b64, exactly when the bytes are
// UTF-8, escaped as JSON.
func TestDumpJSONKeyAndValueText(t *testing.T) {
	for _, jobs := range []string{"1", "4"} {
		out, code := run(t, "dump", "--jobs", jobs, keysFile(t, false))
		if code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		recs := jsonRecords(t, out)
		seen := keysSeen(t, "dump", recs)
		values := map[string]string{}
		for _, rec := range recs {
			var typ string
			json.Unmarshal(rec["type"], &typ)
			if typ == "string" {
				k, _ := base64.StdEncoding.DecodeString(strings.Trim(string(rec["key_b64"]), `"`))
				values[string(k)] = string(checkTextPair(t, "dump value", rec, "value"))
			}
		}
		for _, k := range []string{textKey, controlKey, binaryKey, "list:1"} {
			if !seen[k] {
				t.Errorf("--jobs %s: key %q missing", jobs, k)
			}
		}
		if values[textKey] != "héllo \"quoted\" \\ \n" || values[binaryKey] != "\xfe\xff" || values[controlKey] != "v\x07\u0085" {
			t.Errorf("--jobs %s: values %q", jobs, values)
		}
	}
}

// TestMemoryJSONLFields: memory --format jsonl says db (not database) and
// key beside key_b64; the CSV keeps redis-rdb-tools' column names.
func TestMemoryJSONLFields(t *testing.T) {
	file := keysFile(t, false)
	out, code := run(t, "memory", "--format", "jsonl", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	seen := keysSeen(t, "memory", jsonRecords(t, out))
	if len(seen) != 4 || !seen[binaryKey] || !seen[controlKey] {
		t.Errorf("keys %v", seen)
	}
	out, _ = run(t, "memory", file)
	if !strings.HasPrefix(out, "database,type,key,size_in_bytes,") {
		t.Errorf("CSV header changed: %q", strings.SplitN(out, "\n", 2)[0])
	}
}

// TestCheckJSONFields: check --format json names repeated keys with db,
// key and key_b64, and says the file is invalid (exit 1).
func TestCheckJSONFields(t *testing.T) {
	out, code := run(t, "check", "--format", "json", keysFile(t, true))
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, out)
	}
	recs := jsonRecords(t, out)
	if len(recs) != 1 {
		t.Fatalf("%d objects, want one per file", len(recs))
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != "invalid" || rep.ProblemCount != 1 || len(rep.Problems) != 1 || rep.Keys != 4 {
		t.Fatalf("report %+v", rep)
	}
	var problems []map[string]json.RawMessage
	json.Unmarshal(recs[0]["problems"], &problems)
	if k := checkTextPair(t, "check problem", problems[0], "key"); string(k) != textKey {
		t.Errorf("problem key %q, want %q", k, textKey)
	}
	if p := rep.Problems[0]; p.Kind != "duplicate-key" || p.DB == nil || *p.DB != 0 || p.Offset <= 0 {
		t.Errorf("problem %+v", p)
	}
	out, code = run(t, "check", "--format", "json", sample)
	if code != 0 || !strings.Contains(out, `"status":"ok"`) || !strings.Contains(out, `"keys":101`) {
		t.Errorf("clean file: exit %d: %s", code, out)
	}
	if out, code = run(t, "check", "--format", "yaml", sample); code != 2 {
		t.Errorf("unknown format: exit %d: %s", code, out)
	}
}

// TestDiffJSONKeyText: diff's JSON Lines carry key beside key_b64.
func TestDiffJSONKeyText(t *testing.T) {
	a := keysFile(t, false)
	out, code := run(t, "diff", "--format", "jsonl", a, sample)
	if code != 1 {
		t.Fatalf("exit %d: %s", code, out)
	}
	seen := keysSeen(t, "diff", jsonRecords(t, out))
	if !seen[binaryKey] || !seen[controlKey] || !seen["s1:str:big"] {
		t.Errorf("keys %d, lacking some expected", len(seen))
	}
}

// TestMemoryLargest: --largest N prints the N keys a full listing ranks
// biggest (ties by db and key), after the filters, biggest first.
func TestMemoryLargest(t *testing.T) {
	full, code := run(t, "memory", "--format", "jsonl", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, full)
	}
	type row struct {
		DB   int    `json:"db"`
		Key  []byte `json:"key_b64"`
		Type string `json:"type"`
		Size uint64 `json:"size_in_bytes"`
	}
	parse := func(out string) []row {
		var rows []row
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			var r row
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("%v: %q", err, line)
			}
			rows = append(rows, r)
		}
		return rows
	}
	all := parse(full)
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		if a.DB != b.DB {
			return a.DB < b.DB
		}
		return string(a.Key) < string(b.Key)
	})
	for _, c := range []struct {
		args []string
		keep func(row) bool
	}{
		{[]string{"--largest", "5"}, func(row) bool { return true }},
		{[]string{"--largest", "3", "--type", "hash"}, func(r row) bool { return r.Type == "hash" }},
		{[]string{"--largest", "4", "--db", "1"}, func(r row) bool { return r.DB == 1 }},
		{[]string{"--largest", "1000"}, func(row) bool { return true }},
	} {
		n, _ := strconv.Atoi(c.args[1])
		var want []row
		for _, r := range all {
			if c.keep(r) && len(want) < n {
				want = append(want, r)
			}
		}
		out, code := run(t, append(append([]string{"memory", "--format", "jsonl"}, c.args...), sample)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, out)
		}
		got := parse(out)
		if len(got) != len(want) {
			t.Fatalf("%v: %d rows, want %d", c.args, len(got), len(want))
		}
		for i := range want {
			if got[i].DB != want[i].DB || string(got[i].Key) != string(want[i].Key) || got[i].Size != want[i].Size {
				t.Errorf("%v: row %d is %d/%q %d, want %d/%q %d", c.args, i, got[i].DB, got[i].Key, got[i].Size, want[i].DB, want[i].Key, want[i].Size)
			}
		}
	}
	if out, code := run(t, "memory", "--largest", "-1", sample); code != 2 {
		t.Errorf("--largest -1: exit %d: %s", code, out)
	}
}

// TestAnalyzeJSONFields: the report's JSON has the overall biggest keys
// (key beside key_b64), labelled TTL buckets and the file's used-mem.
func TestAnalyzeJSONFields(t *testing.T) {
	out, code := run(t, "analyze", "--format", "json", "--top", "3", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var rep struct {
		SchemaVersion int                          `json:"schema_version"`
		Biggest       []map[string]json.RawMessage `json:"biggest_keys"`
		TTL           struct {
			Keys    []uint64 `json:"keys"`
			Buckets []struct {
				TTL  string `json:"ttl"`
				Keys uint64 `json:"keys"`
			} `json:"buckets"`
		} `json:"ttl"`
		Files []struct {
			UsedMem uint64 `json:"used_mem_aux"`
			Memory  uint64 `json:"memory"`
		} `json:"files"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.SchemaVersion != 2 || len(rep.Biggest) != 3 {
		t.Fatalf("schema %d, %d biggest keys", rep.SchemaVersion, len(rep.Biggest))
	}
	if k := checkTextPair(t, "analyze biggest", rep.Biggest[0], "key"); string(k) != "s1:str:big" {
		t.Errorf("biggest key %q", k)
	}
	var largest int64
	json.Unmarshal(rep.Biggest[0]["largest_element"], &largest)
	if largest != 1048576 {
		t.Errorf("largest element %d, want 1048576", largest)
	}
	labels := []string{"expired", "<1m", "<1h", "<1d", "<1w", "longer", "never"}
	if len(rep.TTL.Buckets) != len(labels) {
		t.Fatalf("ttl buckets %+v", rep.TTL.Buckets)
	}
	for i, b := range rep.TTL.Buckets {
		if b.TTL != labels[i] || b.Keys != rep.TTL.Keys[i] {
			t.Errorf("bucket %d: %+v, want %s with %d keys", i, b, labels[i], rep.TTL.Keys[i])
		}
	}
	// The file's used-mem aux field is 4842872 (rdbtool info shows it).
	if len(rep.Files) != 1 || rep.Files[0].UsedMem != 4842872 || rep.Files[0].Memory >= rep.Files[0].UsedMem {
		t.Errorf("files %+v", rep.Files)
	}
}
