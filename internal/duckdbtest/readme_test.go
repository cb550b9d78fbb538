package duckdbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/analyze"
)

// readmeDuckDB returns the statements of the README's DuckDB query block.
func readmeDuckDB(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "**DuckDB**")
	if i < 0 {
		t.Fatal("README has no **DuckDB** queries")
	}
	s = s[i:]
	start := strings.Index(s, "```sql\n")
	end := strings.Index(s[start+7:], "```")
	if start < 0 || end < 0 {
		t.Fatal("README: no sql block after **DuckDB**")
	}
	var stmts []string
	for _, st := range strings.Split(s[start+7:start+7+end], ";\n") {
		var lines []string
		for _, l := range strings.Split(st, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") && strings.TrimSpace(l) != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			stmts = append(stmts, strings.Join(lines, "\n"))
		}
	}
	return stmts
}

// TestReadmeDuckDBQueries runs the README's DuckDB queries, as printed,
// on a shard set exported on two days and a diff, and checks the answers
// of the fleet questions.
func TestReadmeDuckDBQueries(t *testing.T) {
	dir := t.TempDir()
	inputs := makeShardSet(t, dir)
	lake := filepath.Join(dir, "lake", "keys") + "/"
	run(t, append([]string{"memory", "--format", "parquet", "-o", lake}, inputs...)...)
	run(t, append([]string{"memory", "--format", "parquet", "-o", lake, "--now", fixedNow}, inputs...)...)
	diffs := filepath.Join(dir, "diffs")
	runDiff(t, inputs[0], inputs[1], "--format", "parquet", "-o", filepath.Join(diffs, "d.parquet"))
	db := openDuckDB(t)
	day := rows(t, db, `SELECT min(CAST(snapshot_date AS VARCHAR)) FROM read_parquet('`+lake+`**/*.parquet', hive_partitioning = true)`)[0][0]
	replacer := strings.NewReplacer(
		"'lake/keys/", "'"+lake, "'diffs/", "'"+diffs+"/",
		// The README's dates: the month's first and last snapshot, the day
		// before and the day asked about.
		"DATE '2026-12-01'", "DATE '"+day+"'", "DATE '2026-12-31'", "DATE '"+fixedDay+"'",
		"DATE '2026-12-04'", "DATE '"+day+"'", "DATE '2026-12-05'", "DATE '"+fixedDay+"'",
	)
	stmts := readmeDuckDB(t)
	if len(stmts) < 6 {
		t.Fatalf("README: %d DuckDB statements", len(stmts))
	}
	answers := map[string][][]string{}
	for _, st := range stmts {
		q := replacer.Replace(st)
		if strings.HasPrefix(q, "CREATE") {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			continue
		}
		answers[st] = rows(t, db, q)
	}
	rep := analyzeJSON(t, []string{"--now", fixedNow}, inputs...)
	checked := 0
	for st, rs := range answers {
		checked++
		switch {
		case strings.Contains(st, "growth_bytes"):
			// The same snapshots on both days: nothing grew.
			for _, r := range rs {
				if r[1] != "0" {
					t.Errorf("prefix growth %v, want 0", r)
				}
			}
		case strings.Contains(st, "expire_at IS NULL"):
			byShard := map[string]uint64{}
			for _, r := range rs {
				var n uint64
				fmt.Sscan(r[2], &n)
				byShard[r[1]] += n
			}
			for i, f := range rep.Files {
				if got := byShard[fmt.Sprintf("%04d", i+1)]; got != f.WithoutTTL {
					t.Errorf("shard %d: %d keys without TTL, analyze %d", i+1, got, f.WithoutTTL)
				}
			}
		case strings.Contains(st, "GROUP BY type"):
			var want [][]string
			for ty, mem := range typeTotals(rep) {
				want = append(want, []string{ty, fmt.Sprint(mem[0]), fmt.Sprint(mem[1])})
			}
			same(t, "README memory by type", rs, want)
		case strings.Contains(st, "diff_bytes"):
			// The differences' deltas add up to the change of the total.
			var sum int64
			for _, r := range rs {
				var n int64
				fmt.Sscan(r[1], &n)
				sum += n
			}
			a, b := memoryTotal(t, inputs[0]), memoryTotal(t, inputs[1])
			if sum != b-a || sum == 0 {
				t.Errorf("diff: deltas sum to %d; memory totals %d → %d (%+d)", sum, a, b, b-a)
			}
		case strings.Contains(st, "delta_bytes"):
			for _, r := range rs {
				if r[1] != "0" {
					t.Errorf("delta between identical days %v, want 0", r)
				}
			}
		default:
			checked-- // ran, answer not checked
		}
	}
	if checked != 5 {
		t.Errorf("checked the answers of %d README queries, want 5", checked)
	}
}

func typeTotals(rep *analyze.Report) map[string][2]uint64 {
	out := map[string][2]uint64{}
	for _, ty := range rep.Types {
		v := out[ty.Type]
		v[0] += ty.Keys
		v[1] += ty.Memory
		out[ty.Type] = v
	}
	return out
}

// memoryTotal is the sum of size_in_bytes of "rdbtool memory --format
// jsonl" on file.
func memoryTotal(t *testing.T, file string) int64 {
	var n int64
	for _, size := range memorySizes(t, file) {
		n += size
	}
	return n
}
