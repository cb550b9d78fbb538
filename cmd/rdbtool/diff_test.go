package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDiffExitCodes(t *testing.T) {
	a := "../../testdata/corpus/redis-6.2.16/main.rdb"
	b := "../../testdata/corpus/redis-7.0.15/main.rdb"
	if out, code := run(t, "diff", a, a); code != 0 {
		t.Errorf("a file against itself: exit %d: %s", code, out)
	}
	out, code := run(t, "diff", "--format", "jsonl", a, b)
	if code != 1 {
		t.Fatalf("different files: exit %d: %s", code, out)
	}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d struct {
			DB     *int   `json:"db"`
			KeyB64 string `json:"key_b64"`
			Kind   string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("not JSONL: %q: %v", line, err)
		}
		if d.DB == nil || d.KeyB64 == "" || d.Kind == "" {
			t.Errorf("line lacks db, key_b64 or kind: %s", line)
		}
		kinds[d.Kind]++
	}
	// 7.0 has function-era keys and streams with more metadata than 6.2:
	// keys appear, and values differ in their random parts.
	if kinds["added"] == 0 || kinds["value_changed"] == 0 {
		t.Errorf("kinds %v", kinds)
	}
	if out, code := run(t, "diff", a, "../../testdata/corpus/missing.rdb"); code != 2 {
		t.Errorf("missing input: exit %d: %s", code, out)
	}
}
