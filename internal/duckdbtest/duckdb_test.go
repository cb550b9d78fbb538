// Package duckdbtest queries what "rdbtool memory/diff --format parquet"
// writes with a real engine, DuckDB (through cgo), and checks the answers
// against "rdbtool analyze --format json" on the same input. It is its own
// module so that the rdbtool library does not depend on cgo;
// scripts/test.sh runs it.
package duckdbtest

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/analyze/render"
)

var rdbtool string // the CLI, built once by TestMain

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "duckdbtest-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	rdbtool = filepath.Join(dir, "rdbtool")
	build := exec.Command("go", "build", "-o", rdbtool, "./cmd/rdbtool")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building rdbtool: %v\n%s", err, out)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func repoRoot() string {
	wd, _ := os.Getwd()
	return filepath.Join(wd, "..", "..")
}

// run runs the CLI and returns its standard output; exit statuses other
// than those in ok fail the test.
func run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(rdbtool, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("rdbtool %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func analyzeJSON(t *testing.T, extra []string, files ...string) *analyze.Report {
	t.Helper()
	args := append([]string{"analyze", "--format", "json", "--prefix-limit", "1000000", "--top", "10"}, extra...)
	out := run(t, append(args, files...)...)
	var rep analyze.Report
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("analyze JSON: %v", err)
	}
	if rep.Prefixes.Collapsed.Keys != 0 {
		t.Fatalf("analyze folded %d keys' prefixes: the comparison needs every prefix", rep.Prefixes.Collapsed.Keys)
	}
	return &rep
}

func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rows runs q and returns every row as strings (NULL as "NULL").
func rows(t *testing.T, db *sql.DB, q string, args ...any) [][]string {
	t.Helper()
	rs, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rs.Close()
	cols, _ := rs.Columns()
	var out [][]string
	for rs.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				row[i] = "NULL"
			case []byte:
				row[i] = string(v)
			default: // numbers (sums are HUGEINT: *big.Int), strings
				row[i] = fmt.Sprint(v)
			}
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func sorted(rs [][]string) [][]string {
	sort.Slice(rs, func(i, j int) bool { return strings.Join(rs[i], "\x00") < strings.Join(rs[j], "\x00") })
	return rs
}

func same(t *testing.T, what string, got, want [][]string) {
	t.Helper()
	got, want = sorted(got), sorted(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\nduckdb:  %v\nanalyze: %v", what, got, want)
	}
}

func u(n uint64) string { return fmt.Sprint(n) }

// checkAgainstAnalyze asks DuckDB the questions of the issue about the
// keys in table (a FROM clause) and compares each answer with rep.
func checkAgainstAnalyze(t *testing.T, db *sql.DB, table string, rep *analyze.Report) {
	t.Helper()
	// Totals, and keys without TTL.
	got := rows(t, db, `SELECT count(*), coalesce(sum(estimated_bytes), 0), coalesce(sum(elements), 0),
		count(expire_at), count(*) FILTER (WHERE expire_at IS NULL), count(*) FILTER (WHERE ttl_seconds <= 0) FROM `+table)
	tot := rep.Totals
	same(t, "totals (keys, bytes, elements, with TTL, without TTL, expired)", got,
		[][]string{{u(tot.Keys), u(tot.Memory), u(tot.Elements), u(tot.WithTTL), u(tot.WithoutTTL), u(tot.Expired)}})

	// Per database.
	got = rows(t, db, `SELECT db, count(*), sum(estimated_bytes), count(expire_at), count(*) FILTER (WHERE expire_at IS NULL)
		FROM `+table+` GROUP BY db`)
	var want [][]string
	for _, d := range rep.DBs {
		want = append(want, []string{fmt.Sprint(d.DB), u(d.Keys), u(d.Memory), u(d.WithTTL), u(d.WithoutTTL)})
	}
	same(t, "per db (keys, bytes, with TTL, without TTL)", got, want)

	// Per type and encoding.
	got = rows(t, db, `SELECT type, encoding, count(*), sum(estimated_bytes), sum(elements) FROM `+table+` GROUP BY ALL`)
	want = nil
	for _, ty := range rep.Types {
		want = append(want, []string{ty.Type, ty.Encoding, u(ty.Keys), u(ty.Memory), u(ty.Elements)})
	}
	same(t, "per type and encoding (keys, bytes, elements)", got, want)

	// TTL histogram, from ttl_seconds.
	got = rows(t, db, `SELECT CASE WHEN ttl_seconds IS NULL THEN 6 WHEN ttl_seconds <= 0 THEN 0 WHEN ttl_seconds < 60 THEN 1
		WHEN ttl_seconds < 3600 THEN 2 WHEN ttl_seconds < 86400 THEN 3 WHEN ttl_seconds < 604800 THEN 4 ELSE 5 END AS b,
		count(*), sum(estimated_bytes) FROM `+table+` GROUP BY b`)
	want = nil
	for b := range rep.TTL.Keys {
		if rep.TTL.Keys[b] > 0 {
			want = append(want, []string{fmt.Sprint(b), u(rep.TTL.Keys[b]), u(rep.TTL.Memory[b])})
		}
	}
	same(t, "TTL buckets (keys, bytes)", got, want)

	// Top 10 keys by bytes, overall: analyze's biggest_keys. Among equal
	// sizes at the cut either may be kept, so keys are compared above the
	// cut and sizes everywhere.
	all := rep.BiggestKeys
	top := rows(t, db, `SELECT hex(key), estimated_bytes FROM `+table+` ORDER BY estimated_bytes DESC, key LIMIT 10`)
	if len(top) != len(all) {
		t.Errorf("top keys: duckdb %d rows, analyze %d", len(top), len(all))
	} else {
		cut := ""
		if len(all) > 0 {
			cut = u(all[len(all)-1].Memory)
		}
		for i := range top {
			if top[i][1] != u(all[i].Memory) {
				t.Errorf("top key %d: duckdb %s bytes, analyze %d", i, top[i][1], all[i].Memory)
			}
			if top[i][1] != cut && top[i][0] != fmt.Sprintf("%X", all[i].Key) {
				t.Errorf("top key %d: duckdb %s, analyze %q", i, top[i][0], all[i].Key)
			}
		}
	}

	// Prefix totals: every row of analyze's prefix table.
	want, got = nil, nil
	stmt, err := db.Prepare(`SELECT count(*), coalesce(sum(estimated_bytes), 0), count(expire_at) FROM ` + table +
		` WHERE CASE WHEN ? = '' THEN prefix = '' ELSE starts_with(prefix, ?) END`)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	var level1 uint64
	for _, p := range rep.Prefixes.Rows {
		var n, mem, ttl uint64
		if err := stmt.QueryRow(p.Prefix, p.Prefix).Scan(&n, &mem, &ttl); err != nil {
			t.Fatal(err)
		}
		got = append(got, []string{p.Prefix, u(n), u(mem), u(ttl)})
		want = append(want, []string{p.Prefix, u(p.Keys), u(p.Memory), u(p.WithTTL)})
		if p.Level == 1 {
			level1 += p.Keys
		}
	}
	same(t, "prefix totals (prefix, keys, bytes, with TTL)", got, want)
	if level1 != rep.Totals.Keys {
		t.Errorf("level-1 prefixes count %d keys of %d", level1, rep.Totals.Keys)
	}
	// And no prefix DuckDB sees is missing from analyze's table.
	known := map[string]bool{}
	for _, p := range rep.Prefixes.Rows {
		known[p.Prefix] = true
	}
	for _, r := range rows(t, db, `SELECT DISTINCT prefix FROM `+table) {
		if !known[r[0]] {
			t.Errorf("prefix %q is in the Parquet file but not in analyze's report", r[0])
		}
	}
}

// corpusFiles lists testdata/corpus/*/*.rdb.
func corpusFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join(repoRoot(), "testdata", "corpus", "*", "*.rdb"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus files (%v)", err)
	}
	return files
}

// fixedNow is the snapshot time given to both commands for files without
// a ctime aux field (TTLs are otherwise measured from the wall clock).
const fixedNow = "1764892800" // 2025-12-05

func TestEveryCorpusFileMatchesAnalyze(t *testing.T) {
	db := openDuckDB(t)
	dir := t.TempDir()
	for i, file := range corpusFiles(t) {
		name, _ := filepath.Rel(filepath.Join(repoRoot(), "testdata", "corpus"), file)
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("f%d.parquet", i))
			table := fmt.Sprintf("read_parquet('%s')", out)
			run(t, "memory", file, "--format", "parquet", "-o", out)
			var extra []string
			if r := rows(t, db, `SELECT count(*) - count(snapshot_time) FROM `+table); r[0][0] != "0" {
				// No ctime: both measure TTLs from the same instant.
				extra = []string{"--now", fixedNow}
				run(t, "memory", file, "--format", "parquet", "-o", out, "--overwrite", "--now", fixedNow)
			}
			rep := analyzeJSON(t, extra, file)
			checkAgainstAnalyze(t, db, table, rep)
			checkFileColumns(t, db, table, file, &rep.Files[0])
		})
	}
}

// checkFileColumns checks the columns every row of a file shares, and the
// columns analyze's report does not total.
func checkFileColumns(t *testing.T, db *sql.DB, table, file string, f *analyze.FileReport) {
	t.Helper()
	got := rows(t, db, `SELECT DISTINCT source, rdb_version FROM `+table)
	if f.Keys > 0 {
		same(t, "source, rdb_version", got, [][]string{{file, fmt.Sprint(f.RDBVersion)}})
	}
	if f.ServerSource == "aux" && f.Keys > 0 {
		got = rows(t, db, `SELECT DISTINCT server_version FROM `+table)
		same(t, "server_version", got, [][]string{{f.Server}})
	}
	// key_utf8 is the key where it is text, and null only where it is not.
	got = rows(t, db, `SELECT count(*) FROM `+table+` WHERE key_utf8 IS NOT NULL AND encode(key_utf8) <> key`)
	same(t, "key_utf8 differing from key", got, [][]string{{"0"}})
	// ttl_seconds is expire_at minus the snapshot reference time.
	got = rows(t, db, `SELECT count(*) FROM `+table+` WHERE (expire_at IS NULL) <> (ttl_seconds IS NULL)`)
	same(t, "rows with only one of expire_at and ttl_seconds", got, [][]string{{"0"}})
}

// TestKeysThatAreNotTextAndNullColumns checks key_utf8, largest_element,
// idle and LFU columns on files that have them, against the JSONL rows
// "memory" writes for the same file.
func TestOptionalColumnsMatchMemoryJSONL(t *testing.T) {
	db := openDuckDB(t)
	dir := t.TempDir()
	for _, name := range []string{"redis-7.4.1/lfu.rdb", "redis-7.4.1/lru.rdb", "redis-7.4.1/main.rdb"} {
		file := filepath.Join(repoRoot(), "testdata", "corpus", name)
		out := filepath.Join(dir, strings.ReplaceAll(name, "/", "_")+".parquet")
		run(t, "memory", file, "--format", "parquet", "-o", out)
		var want [][]string
		for _, line := range bytes.Split(bytes.TrimSpace(run(t, "memory", file, "--format", "jsonl")), []byte("\n")) {
			var r render.KeyRow
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			largest, exp := "NULL", "NULL"
			if r.LenLargestElement != nil {
				largest = u(*r.LenLargestElement)
			}
			if r.ExpireAtMs != nil {
				exp = fmt.Sprint(*r.ExpireAtMs)
			}
			want = append(want, []string{r.KeyB64, fmt.Sprint(r.DB), r.Type, r.Encoding, u(r.SizeInBytes), u(r.NumElements), largest, exp})
		}
		got := rows(t, db, fmt.Sprintf(`SELECT to_base64(key), db, type, encoding, estimated_bytes, elements, largest_element,
			epoch_ms(expire_at) FROM read_parquet('%s')`, out))
		same(t, name+": rows", got, want)
		counts := rows(t, db, fmt.Sprintf(`SELECT count(idle_seconds), count(lfu_freq), count(*) FROM read_parquet('%s')`, out))[0]
		switch {
		case strings.Contains(name, "lfu") && (counts[1] != counts[2] || counts[0] != "0"):
			t.Errorf("%s: idle/lfu/rows = %v, want LFU on every key and no idle", name, counts)
		case strings.Contains(name, "lru") && (counts[0] != counts[2] || counts[1] != "0"):
			t.Errorf("%s: idle/lfu/rows = %v, want idle on every key and no LFU", name, counts)
		case strings.Contains(name, "main") && (counts[0] != "0" || counts[1] != "0"):
			t.Errorf("%s: idle/lfu/rows = %v, want neither", name, counts)
		}
	}
}
