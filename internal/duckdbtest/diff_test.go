package duckdbtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// diffJSONL is one line of "diff --format jsonl", as far as the Parquet
// rows carry it.
type diffJSONL struct {
	DB   int    `json:"db"`
	Key  []byte `json:"key_b64"`
	Kind string `json:"kind"`
	Old  string `json:"old_type"`
	New  string `json:"new_type"`
	TTL  *struct {
		Old *int64 `json:"old_expire_at_ms"`
		New *int64 `json:"new_expire_at_ms"`
	} `json:"ttl"`
	Details *struct {
		OldLen int64 `json:"old_len"`
		NewLen int64 `json:"new_len"`
	} `json:"details"`
}

// runDiff runs "rdbtool diff", which exits 1 when the inputs differ.
func runDiff(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(rdbtool, append([]string{"diff"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("rdbtool diff %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

func nullOr(p *int64) string {
	if p == nil {
		return "NULL"
	}
	return fmt.Sprint(*p)
}

// memorySizes returns the size_in_bytes of every key of "rdbtool memory
// --format jsonl" on file, by db and base64 key.
func memorySizes(t *testing.T, file string) map[string]int64 {
	t.Helper()
	sizes := map[string]int64{}
	for _, line := range bytes.Split(bytes.TrimSpace(run(t, "memory", file, "--format", "jsonl")), []byte("\n")) {
		var k struct {
			DB   int    `json:"db"`
			Key  string `json:"key_b64"`
			Size int64  `json:"size_in_bytes"`
		}
		if err := json.Unmarshal(line, &k); err != nil {
			t.Fatal(err)
		}
		sizes[fmt.Sprint(k.DB, " ", k.Key)] = k.Size
	}
	return sizes
}

// TestDiffRowsEqualDiffJSONL: every row of "diff --format parquet" is the
// line of "diff --format jsonl" for the same key, and its estimated bytes
// are what "memory --format jsonl" gives for the key in each file.
func TestDiffRowsEqualDiffJSONL(t *testing.T) {
	db := openDuckDB(t)
	dir := t.TempDir()
	corpus := filepath.Join(repoRoot(), "testdata", "corpus")
	pairs := [][2]string{
		{"redis-7.4.1/main.rdb", "redis-7.2.6/main.rdb"},       // removed, TTLs, a value
		{"redis-7.4.1/nochecksum.rdb", "redis-7.4.1/main.rdb"}, // added and removed
		{"redis-6.2.16/main.rdb", "redis-7.0.15/main.rdb"},
		{"redis-7.4.1/main.rdb", "redis-8.6.3/main.rdb"}, // a value and its TTL
	}
	for i, pair := range pairs {
		a, b := filepath.Join(corpus, pair[0]), filepath.Join(corpus, pair[1])
		out := filepath.Join(dir, fmt.Sprintf("d%d.parquet", i))
		runDiff(t, a, b, "--format", "parquet", "-o", out)
		sizesA, sizesB := memorySizes(t, a), memorySizes(t, b)
		var want [][]string
		kinds := map[string]int{}
		var deltaSum int64
		for _, line := range bytes.Split(bytes.TrimSpace(runDiff(t, a, b, "--format", "jsonl")), []byte("\n")) {
			var d diffJSONL
			if err := json.Unmarshal(line, &d); err != nil {
				t.Fatal(err)
			}
			kinds[d.Kind]++
			oldT, newT := "NULL", "NULL"
			if d.Old != "" {
				oldT = d.Old
			}
			if d.New != "" {
				newT = d.New
			}
			ttl, oldExp, newExp := "false", "", ""
			if d.TTL != nil {
				ttl, oldExp, newExp = "true", nullOr(d.TTL.Old), nullOr(d.TTL.New)
			}
			oldLen, newLen, delta := "NULL", "NULL", "NULL"
			if d.Details != nil && d.Kind == "value_changed" {
				oldLen, newLen, delta = fmt.Sprint(d.Details.OldLen), fmt.Sprint(d.Details.NewLen), fmt.Sprint(d.Details.NewLen-d.Details.OldLen)
			}
			key64 := base64.StdEncoding.EncodeToString(d.Key)
			// Estimated bytes on the sides that hold the key; the delta
			// counts an absent side as 0.
			oldB, newB := "NULL", "NULL"
			var oldN, newN int64
			for _, s := range []struct {
				typ   string
				sizes map[string]int64
				n     *int64
				out   *string
			}{{d.Old, sizesA, &oldN, &oldB}, {d.New, sizesB, &newN, &newB}} {
				if s.typ == "" {
					continue
				}
				n, ok := s.sizes[fmt.Sprint(d.DB, " ", key64)]
				if !ok {
					t.Fatalf("%s vs %s: key %s of db %d is not in memory's output", pair[0], pair[1], d.Key, d.DB)
				}
				*s.n, *s.out = n, fmt.Sprint(n)
			}
			deltaSum += newN - oldN
			want = append(want, []string{d.Kind, fmt.Sprint(d.DB), key64, oldT, newT, ttl, oldExp, newExp, oldLen, newLen, delta,
				oldB, newB, fmt.Sprint(newN - oldN)})
		}
		// The TTL columns are compared where the JSON carries them (it
		// leaves out unchanged expiries).
		got := rows(t, db, fmt.Sprintf(`SELECT kind, db, to_base64(key), old_type, new_type, ttl_changed,
			CASE WHEN ttl_changed THEN coalesce(CAST(epoch_ms(old_expire_at) AS VARCHAR), 'NULL') ELSE '' END,
			CASE WHEN ttl_changed THEN coalesce(CAST(epoch_ms(new_expire_at) AS VARCHAR), 'NULL') ELSE '' END,
			old_len, new_len, len_delta, old_estimated_bytes, new_estimated_bytes, estimated_bytes_delta
			FROM read_parquet('%s')`, out))
		same(t, pair[0]+" vs "+pair[1], got, want)
		// The net growth, as an engine would total it.
		got = rows(t, db, fmt.Sprintf(`SELECT sum(estimated_bytes_delta) FROM read_parquet('%s')`, out))
		same(t, pair[0]+" vs "+pair[1]+": net growth", got, [][]string{{fmt.Sprint(deltaSum)}})
		// Per kind, as an engine would total a fleet.
		got = rows(t, db, fmt.Sprintf(`SELECT kind, count(*) FROM read_parquet('%s') GROUP BY kind`, out))
		want = nil
		for k, n := range kinds {
			want = append(want, []string{k, fmt.Sprint(n)})
		}
		same(t, pair[0]+" vs "+pair[1]+": per kind", got, want)
		srcs := rows(t, db, fmt.Sprintf(`SELECT DISTINCT old_source, new_source FROM read_parquet('%s')`, out))
		same(t, "sources", srcs, [][]string{{a, b}})
	}
}
