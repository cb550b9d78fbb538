// Package corpustest finds the ground-truth corpus for tests and loads its
// expectations. Fixtures copied into testdata/ are always used, and a test
// fails when they are missing; the full corpus beside the repository
// (../shared/corpus, or $RDBTOOL_CORPUS) is added when present, which
// brings in the large "mixed" files.
package corpustest

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// File is one corpus snapshot with its expectations.
type File struct {
	Name     string // "<server>-<version>/<scenario>", e.g. "redis-7.0.15/main"
	RDB      string // path of the RDB file
	Expected string // path of expected.jsonl or expected.jsonl.gz
	Meta     string // path of meta.json
}

// Server returns the directory part of the name, e.g. "redis-7.0.15".
func (f File) Server() string { return strings.SplitN(f.Name, "/", 2)[0] }

// Scenario returns the scenario part of the name, e.g. "main".
func (f File) Scenario() string { return strings.SplitN(f.Name, "/", 2)[1] }

// Root returns the repository root.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedDir returns the full corpus directory if present, else "".
func SharedDir() string {
	if d := os.Getenv("RDBTOOL_CORPUS"); d != "" {
		return d
	}
	d := filepath.Join(Root(), "..", "shared", "corpus")
	if _, err := os.Stat(d); err == nil {
		return d
	}
	return ""
}

// ThirdPartyDir returns testdata/corpus-thirdparty, failing the test when absent.
func ThirdPartyDir(t testing.TB) string {
	d := filepath.Join(Root(), "testdata", "corpus-thirdparty")
	if _, err := os.Stat(d); err != nil {
		t.Fatalf("fixtures missing: %v", err)
	}
	return d
}

// Files lists every corpus snapshot: the testdata copy, plus files only in
// the shared corpus. It fails the test if the testdata copy is missing.
func Files(t testing.TB) []File {
	local := filepath.Join(Root(), "testdata", "corpus")
	files := scan(local)
	if len(files) < 60 {
		t.Fatalf("corpus fixtures missing or incomplete in %s (%d files found)", local, len(files))
	}
	seen := map[string]bool{}
	for _, f := range files {
		seen[f.Name] = true
	}
	if shared := SharedDir(); shared != "" {
		for _, f := range scan(shared) {
			if !seen[f.Name] {
				files = append(files, f)
			}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

func scan(dir string) []File {
	var out []File
	metas, _ := filepath.Glob(filepath.Join(dir, "*", "*.meta.json"))
	for _, m := range metas {
		base := strings.TrimSuffix(m, ".meta.json")
		f := File{
			Name: filepath.Base(filepath.Dir(m)) + "/" + filepath.Base(base),
			Meta: m,
		}
		for _, e := range []string{base + ".expected.jsonl", base + ".expected.jsonl.gz"} {
			if _, err := os.Stat(e); err == nil {
				f.Expected = e
			}
		}
		var meta struct {
			RDBFile         string `json:"rdb_file"`
			RDBPreambleFile string `json:"rdb_preamble_file"`
		}
		if b, err := os.ReadFile(m); err == nil {
			json.Unmarshal(b, &meta)
		}
		rdbName := meta.RDBFile
		if rdbName == "" {
			rdbName = meta.RDBPreambleFile
		}
		if rdbName != "" {
			f.RDB = filepath.Join(filepath.Dir(m), rdbName)
		}
		if f.RDB != "" && f.Expected != "" {
			out = append(out, f)
		}
	}
	return out
}

// Record is one line of expected.jsonl. Fields that vary in shape stay raw.
type Record struct {
	DB              int                        `json:"db"`
	KeyB64          []byte                     `json:"key_b64"`
	Type            string                     `json:"type"`
	Encoding        string                     `json:"encoding"`
	ExpireAtMs      *int64                     `json:"expire_at_ms"`
	MemoryUsage     *int64                     `json:"memory_usage"`
	DumpHex         *string                    `json:"dump_hex"`
	ValueB64        *[]byte                    `json:"value_b64"`
	ValueLen        *int                       `json:"value_len"`
	ValueSHA256     string                     `json:"value_sha256"`
	Value           json.RawMessage            `json:"value"`
	FieldExpireAtMs map[string]int64           `json:"field_expire_at_ms"`
	ExpiredFields   map[string]string          `json:"expired_fields"`
	Stream          map[string]json.RawMessage `json:"stream"`
	Expired         bool                       `json:"expired"`
	LFUFreq         *int                       `json:"lfu_freq"`
	IdleSeconds     *int64                     `json:"idle_seconds"`
	Slot            *int                       `json:"slot"`
	KeyMeta         map[string]json.RawMessage `json:"key_meta"`
}

// Find returns the corpus file of that name ("redis-7.0.15/main"),
// failing the test when there is none.
func Find(t testing.TB, name string) File {
	t.Helper()
	for _, f := range Files(t) {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("corpus file %s missing", name)
	return File{}
}

// Expected loads a file's expectations.
func Expected(t testing.TB, f File) []Record {
	fh, err := os.Open(f.Expected)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var rd io.Reader = fh
	if strings.HasSuffix(f.Expected, ".gz") {
		gz, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		rd = gz
	}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var out []Record
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", f.Expected, err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", f.Expected, err)
	}
	return out
}

// Meta loads a file's meta.json into a generic map.
func Meta(t testing.TB, f File) map[string]any {
	b, err := os.ReadFile(f.Meta)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", f.Meta, err)
	}
	return m
}

// BenchFile names the benchmarks' input: the file RDBTOOL_BENCH_FILE
// names (a real snapshot: see BENCHMARKS.md), else fixture, a corpus file
// of the tree such as "redis-7.4.1/main.rdb".
func BenchFile(fixture string) string {
	if name := os.Getenv("RDBTOOL_BENCH_FILE"); name != "" {
		return name
	}
	return filepath.Join(Root(), "testdata", "corpus", fixture)
}

// BenchInput returns BenchFile's name and contents.
func BenchInput(tb testing.TB, fixture string) (name string, data []byte) {
	tb.Helper()
	name = BenchFile(fixture)
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatalf("benchmark input: %v", err)
	}
	return name, data
}
