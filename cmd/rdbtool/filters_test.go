package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/golden"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// keySet is a set of "db/key" names.
type keySet map[string]bool

func (s keySet) sorted() []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// corpusKey is a key of sample as the server that wrote it reported it.
type corpusKey struct {
	db      int
	key     string
	typ     string
	expires int64 // Unix ms, 0 for none
	size    uint64
}

// sampleKeys are sample's keys from its expectations (recorded from the
// live server), with memory's estimate of each.
func sampleKeys(t *testing.T) []corpusKey {
	t.Helper()
	recs := corpustest.Expected(t, corpustest.File{Expected: "../../testdata/corpus/redis-7.4.1/main.expected.jsonl.gz"})
	sizes := map[string]uint64{}
	out, code := run(t, "memory", "--format", "jsonl", sample)
	if code != 0 {
		t.Fatalf("memory: exit %d: %s", code, out)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		db, key, v := jsonKey(t, l)
		sizes[dbKey(db, string(key))] = v.Size
	}
	var keys []corpusKey
	for _, r := range recs {
		k := corpusKey{db: r.DB, key: string(r.KeyB64), typ: r.Type}
		if r.ExpireAtMs != nil {
			k.expires = *r.ExpireAtMs
		}
		var ok bool
		if k.size, ok = sizes[dbKey(k.db, string(r.KeyB64))]; !ok {
			t.Fatalf("memory has no row for %q", k.key)
		}
		keys = append(keys, k)
	}
	if len(keys) != 101 {
		t.Fatalf("%d keys in the expectations, want 101", len(keys))
	}
	return keys
}

// filterCases are the filters every command is tried with, each with what
// it keeps, written independently of the implementation.
var filterCases = []struct {
	name string
	args []string
	keep func(k corpusKey) bool
}{
	{"none", nil, func(corpusKey) bool { return true }},
	{"db 1", []string{"--db", "1"}, func(k corpusKey) bool { return k.db == 1 }},
	{"db list", []string{"--db", "0,15"}, func(k corpusKey) bool { return k.db == 0 || k.db == 15 }},
	{"db repeated", []string{"--db", "1", "--db", "15"}, func(k corpusKey) bool { return k.db == 1 || k.db == 15 }},
	{"match prefix", []string{"--match", "s1:str:*"}, func(k corpusKey) bool { return strings.HasPrefix(k.key, "s1:str:") }},
	{"match class", []string{"--match", "s1:[hz]*:large"}, func(k corpusKey) bool {
		return (strings.HasPrefix(k.key, "s1:h") || strings.HasPrefix(k.key, "s1:z")) && strings.HasSuffix(k.key, ":large")
	}},
	{"regex", []string{"--regex", "^s1:(hash|zset):"}, func(k corpusKey) bool {
		return strings.HasPrefix(k.key, "s1:hash:") || strings.HasPrefix(k.key, "s1:zset:")
	}},
	{"type list", []string{"--type", "hash,zset"}, func(k corpusKey) bool { return k.typ == "hash" || k.typ == "zset" }},
	{"type and db", []string{"--type", "list", "--db", "1"}, func(k corpusKey) bool { return k.typ == "list" && k.db == 1 }},
	{"min-bytes", []string{"--min-bytes", "1K"}, func(k corpusKey) bool { return k.size >= 1024 }},
	{"min-bytes and type", []string{"--min-bytes", "300", "--type", "string"}, func(k corpusKey) bool { return k.size >= 300 && k.typ == "string" }},
}

// TestFiltersOnEveryCommand runs each filter on each command that reads
// keys and compares the keys it acts on with the expectations.
func TestFiltersOnEveryCommand(t *testing.T) {
	keys := sampleKeys(t)
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.rdb")
	writeEmptyRDB(t, empty)
	now := time.Now().UnixMilli()

	// Each command's keys for some filter arguments; nil when the
	// command does not take them. expired: the command leaves out keys
	// expired now (restore).
	type command struct {
		name    string
		sizes   bool // takes --min-bytes
		expired bool
		keys    func(t *testing.T, args []string) keySet
	}
	commands := []command{
		{name: "keys", sizes: true, keys: func(t *testing.T, args []string) keySet {
			out := mustRun(t, append([]string{"keys", "--show-db", sample}, args...)...)
			return parseShowDB(t, out)
		}},
		{name: "memory", sizes: true, keys: func(t *testing.T, args []string) keySet {
			return jsonKeys(t, mustRun(t, append([]string{"memory", "--format", "jsonl", sample}, args...)...))
		}},
		{name: "dump", sizes: true, keys: func(t *testing.T, args []string) keySet {
			return jsonKeys(t, mustRun(t, append([]string{"dump", sample}, args...)...))
		}},
		{name: "dump --jobs 1", sizes: true, keys: func(t *testing.T, args []string) keySet {
			return jsonKeys(t, mustRun(t, append([]string{"dump", "--jobs", "1", sample}, args...)...))
		}},
		{name: "diff", keys: func(t *testing.T, args []string) keySet {
			out, code := run(t, append([]string{"diff", "--format", "jsonl", "--keep-expired", sample, empty}, args...)...)
			if code != 0 && code != 1 {
				t.Fatalf("diff: exit %d: %s", code, out)
			}
			return jsonKeys(t, out)
		}},
		{name: "convert", sizes: true, keys: func(t *testing.T, args []string) keySet {
			out := filepath.Join(dir, "convert.rdb")
			mustRun(t, append([]string{"convert", "--quiet", sample, out}, args...)...)
			return fileKeys(t, out)
		}},
		{name: "convert --jobs 1", sizes: true, keys: func(t *testing.T, args []string) keySet {
			out := filepath.Join(dir, "convert1.rdb")
			mustRun(t, append([]string{"convert", "--quiet", "--jobs", "1", sample, out}, args...)...)
			return fileKeys(t, out)
		}},
		{name: "split", sizes: true, keys: func(t *testing.T, args []string) keySet {
			// A cluster node has database 0 only: one database at a
			// time, mapped to 0.
			got := keySet{}
			for _, db := range []string{"0", "1", "15"} {
				if slices.Contains(args, "--db") && !dbsAllow(args, db) {
					continue
				}
				prefix := filepath.Join(dir, "split"+db)
				mustRun(t, append([]string{"split", "--quiet", sample, "--slots-per-file", "8192", "--out-prefix", prefix,
					"--map-db", db + ":0", "--db", db}, withoutDB(args)...)...)
				for _, f := range []string{"-00000-08191.rdb", "-08192-16383.rdb"} {
					for k := range fileKeys(t, prefix+f) {
						got[db+"/"+strings.TrimPrefix(k, "0/")] = true
					}
				}
			}
			return got
		}},
		{name: "analyze", sizes: true, keys: nil}, // counted below
		{name: "analyze --jobs 1", sizes: true, keys: nil},
		{name: "memory --jobs 1", sizes: true, keys: func(t *testing.T, args []string) keySet {
			return jsonKeys(t, mustRun(t, append([]string{"memory", "--jobs", "1", "--format", "jsonl", sample}, args...)...))
		}},
		{name: "keys --jobs 1", sizes: true, keys: func(t *testing.T, args []string) keySet {
			return parseShowDB(t, mustRun(t, append([]string{"keys", "--jobs", "1", "--show-db", sample}, args...)...))
		}},
		{name: "restore", sizes: true, expired: true, keys: func(t *testing.T, args []string) keySet {
			s := redistest.Start(t, "")
			defer s.Stop()
			mustRun(t, append([]string{"restore", sample, "--target", "redis://" + s.Addr, "--quiet", "--drop-field-ttls", "--downgrade-streams"}, args...)...)
			got := keySet{}
			for _, db := range []int{0, 1, 15} {
				redistest.MustDo(t, s, "SELECT", db)
				for _, k := range redistest.AsList(redistest.MustDo(t, s, "KEYS", "*")) {
					got[dbKey(db, string(k))] = true
				}
			}
			return got
		}},
	}
	for _, c := range filterCases {
		want := keySet{}
		for _, k := range keys {
			if c.keep(k) {
				want[dbKey(k.db, k.key)] = true
			}
		}
		if len(want) == 0 || len(want) == len(keys) && c.name != "none" {
			t.Fatalf("%s: the case keeps %d of %d keys: it tests nothing", c.name, len(want), len(keys))
		}
		for _, cmd := range commands {
			t.Run(c.name+"/"+cmd.name, func(t *testing.T) {
				if slices.Contains(c.args, "--min-bytes") && !cmd.sizes {
					out, code := runMsg(t, append([]string{strings.Fields(cmd.name)[0], sample, empty}, c.args...)...)
					if code != 2 || !strings.Contains(out, "unknown flag: --min-bytes") {
						t.Errorf("--min-bytes on %s: exit %d, want 2 (not offered):\n%s", cmd.name, code, out)
					}
					return
				}
				if testing.Short() && cmd.name == "restore" && c.name != "db list" && c.name != "min-bytes and type" {
					t.Skip("-short: restore runs two of the cases")
				}
				exp := want
				if cmd.expired {
					exp = keySet{}
					for _, k := range keys {
						if c.keep(k) && (k.expires == 0 || k.expires > now+60_000) {
							exp[dbKey(k.db, k.key)] = true
						}
					}
				}
				if cmd.keys == nil { // analyze: the report's counts per database
					var rep struct {
						Totals struct{ Keys int } `json:"totals"`
						DBs    []struct {
							DB   int `json:"db"`
							Keys int `json:"keys"`
						} `json:"dbs"`
					}
					a := append(strings.Fields(cmd.name), "--format", "json", "--now", "1", sample)
					out := mustRun(t, append(a, c.args...)...)
					if err := json.Unmarshal([]byte(out), &rep); err != nil {
						t.Fatal(err)
					}
					perDB := map[int]int{}
					for k := range exp {
						db, _, _ := strings.Cut(k, "/")
						n, _ := strconv.Atoi(db)
						perDB[n]++
					}
					got := map[int]int{}
					for _, d := range rep.DBs {
						if d.Keys > 0 {
							got[d.DB] = d.Keys
						}
					}
					if rep.Totals.Keys != len(exp) || !mapsEqual(got, perDB) {
						t.Errorf("analyze %v: %d keys %v, want %d %v", c.args, rep.Totals.Keys, got, len(exp), perDB)
					}
					return
				}
				got := cmd.keys(t, c.args)
				if !slices.Equal(got.sorted(), exp.sorted()) {
					t.Errorf("%s %v:\n got %q\nwant %q", cmd.name, c.args, got.sorted(), exp.sorted())
				}
			})
		}
	}
}

func mapsEqual(a, b map[int]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// dbsAllow reports whether the --db values of args include db.
func dbsAllow(args []string, db string) bool {
	for i, a := range args {
		if a == "--db" && i+1 < len(args) && slices.Contains(strings.Split(args[i+1], ","), db) {
			return true
		}
	}
	return false
}

// withoutDB drops the --db flags of a.
func withoutDB(a []string) []string {
	var out []string
	for i := 0; i < len(a); i++ {
		if a[i] == "--db" {
			i++
			continue
		}
		out = append(out, a[i])
	}
	return out
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, code := run(t, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d:\n%s", args, code, out)
	}
	return out
}

// parseShowDB reads keys --show-db output: "db<TAB>key" lines, a key
// holding a newline continuing on the next line.
func parseShowDB(t *testing.T, out string) keySet {
	t.Helper()
	s := keySet{}
	var last string
	flush := func() {
		if last != "" {
			db, key, _ := strings.Cut(last, "\t")
			s[db+"/"+key] = true
		}
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	lead := regexp.MustCompile(`^\d+\t`)
	for _, l := range lines {
		if lead.MatchString(l) {
			flush()
			last = l
			continue
		}
		last += "\n" + l
	}
	flush()
	return s
}

// jsonLine is what the tests read of a JSON line naming a key.
type jsonLine struct {
	DB       *int    `json:"db"`
	Database *int    `json:"database"` // memory's name for it before 1.0
	Key      *string `json:"key"`
	KeyB64   []byte  `json:"key_b64"`
	Size     uint64  `json:"size_in_bytes"`
}

// jsonKey reads the db and key of a JSON line (key_b64, or key).
func jsonKey(t *testing.T, l string) (int, []byte, jsonLine) {
	t.Helper()
	var v jsonLine
	if err := json.Unmarshal([]byte(l), &v); err != nil {
		t.Fatalf("%v: %s", err, l)
	}
	k := v.KeyB64
	if k == nil && v.Key != nil {
		k = []byte(*v.Key)
	}
	db := v.DB
	if db == nil {
		db = v.Database
	}
	if db == nil || k == nil {
		t.Fatalf("no db or key: %s", l)
	}
	return *db, k, v
}

// jsonKeys reads the db and key of each JSON line.
func jsonKeys(t *testing.T, out string) keySet {
	t.Helper()
	s := keySet{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		db, k, _ := jsonKey(t, l)
		s[dbKey(db, string(k))] = true
	}
	return s
}

// fileKeys reads the keys of an RDB file.
func fileKeys(t *testing.T, name string) keySet {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	s := keySet{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return s
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.Kind == rdb.KindKey {
			s[dbKey(rec.DB, string(rec.Key))] = true
		}
	}
}

func writeEmptyRDB(t *testing.T, name string) {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 12}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFilterInvalidValues: an invalid filter value exits 2 naming the
// valid choices, on every command that takes filters.
func TestFilterInvalidValues(t *testing.T) {
	cmds := map[string][]string{
		"keys":    {"keys", sample},
		"memory":  {"memory", sample},
		"analyze": {"analyze", sample},
		"dump":    {"dump", sample},
		"diff":    {"diff", sample, sample},
		"convert": {"convert", sample, filepath.Join(t.TempDir(), "out.rdb")},
		"split":   {"split", sample, "--slots-per-file", "16384", "--out-prefix", filepath.Join(t.TempDir(), "p")},
		"restore": {"restore", sample, "--target", "redis://127.0.0.1:1"},
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "strng"}, "use string, list, set, zset, hash, stream, module"},
		{[]string{"--type", "hash,"}, "use string, list"},
		{[]string{"--db", "-1"}, "use database numbers, 0 or more"},
		{[]string{"--db", "x"}, "use database numbers, 0 or more"},
		{[]string{"--regex", "a("}, "missing closing )"},
		{[]string{"--min-bytes", "lots"}, "--min-bytes"},
	} {
		for name, base := range cmds {
			if name == "diff" && c.args[0] == "--min-bytes" {
				continue // not offered: TestFiltersOnEveryCommand
			}
			out, code := runMsg(t, append(slices.Clone(base), c.args...)...)
			if code != 2 || !strings.Contains(out, c.want) {
				t.Errorf("%s %v: exit %d, want 2 and %q:\n%s", name, c.args, code, c.want, out)
			}
		}
	}
	for _, c := range [][]string{{"--map-db", "1"}, {"--map-db", "a:0"}, {"--slots", "1-99999"}} {
		out, code := runMsg(t, append([]string{"convert", sample, filepath.Join(t.TempDir(), "o.rdb")}, c...)...)
		if code != 2 || !strings.Contains(out, c[0]) {
			t.Errorf("convert %v: exit %d, want 2 naming %s:\n%s", c, code, c[0], out)
		}
	}
	// --min-bytes estimates in a pass before: not from stdin.
	out, code := runMsg(t, "dump", "--min-bytes", "1K", "-")
	if code != 2 || !strings.Contains(out, "give a file, not stdin") {
		t.Errorf("dump --min-bytes -: exit %d:\n%s", code, out)
	}
}

// TestKeysGolden: keys' output for a corpus file, byte for byte (exact
// key bytes to a file or pipe, newlines and binary included).
func TestKeysGolden(t *testing.T) {
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"keys-main.golden", []string{"keys", sample}},
		{"keys-main-showdb-db1.golden", []string{"keys", "--show-db", "--db", "1", sample}},
	} {
		golden.Check(t, c.golden, []byte(mustRun(t, c.args...)))
	}
	// The file's order, and every key once.
	out := mustRun(t, "keys", "--show-db", sample)
	if n := len(parseShowDB(t, out)); n != 101 {
		t.Errorf("%d distinct keys, want 101", n)
	}
	if !strings.HasPrefix(out, "0\ts1:hfe:small\n") {
		t.Errorf("first line: %q", out[:min(len(out), 40)])
	}
}

// TestKeysQuotesOnATerminal: on a terminal a key that is not plain text
// is shown Go-quoted (no control byte reaches it); elsewhere the bytes
// go out as they are.
func TestKeysQuotesOnATerminal(t *testing.T) {
	for _, c := range []struct {
		quote, showDB bool
		want          string
	}{
		{true, false, "plain\n\"a\\x1b[31mb\\r\\n\"\n\"\\xff\\x00\"\n"},
		{false, false, "plain\na\x1b[31mb\r\n\n\xff\x00\n"},
		{true, true, "3\tplain\n3\t\"a\\x1b[31mb\\r\\n\"\n3\t\"\\xff\\x00\"\n"},
	} {
		var buf bytes.Buffer
		kw := &keyWriter{w: bufio.NewWriter(&buf), quote: c.quote, showDB: c.showDB}
		for _, k := range []string{"plain", "a\x1b[31mb\r\n", "\xff\x00"} {
			if err := kw.key(3, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		kw.w.Flush()
		if buf.String() != c.want {
			t.Errorf("quote %v: %q, want %q", c.quote, buf.String(), c.want)
		}
	}
}
