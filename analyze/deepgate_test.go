package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
)

// TestDeepGateSameReport: analysing with the gate (Options.Deep off) gives
// the same report, largest elements of the listed keys included, as
// iterating every blob, on one goroutine and on several, for every corpus
// file and short top lists (so that the gate's cuts rise early).
func TestDeepGateSameReport(t *testing.T) {
	var paths []string
	for _, f := range corpustest.Files(t) {
		paths = append(paths, f.RDB)
	}
	tp, _ := filepath.Glob(filepath.Join(corpustest.ThirdPartyDir(t), "*", "*.rdb"))
	paths = append(paths, tp...)
	local := filepath.Join(corpustest.Root(), "testdata")
	now := time.Unix(1700000000, 0)
	report := func(path string, deep bool, jobs, top int) []byte {
		rep, err := New(Options{Deep: deep, Jobs: jobs, Top: top, Now: now}).Analyze(context.Background(), []Input{openInput(path)})
		if err != nil {
			return []byte("error: " + err.Error())
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	listed := 0
	for _, p := range paths {
		if testing.Short() && !strings.HasPrefix(p, local) {
			continue // the fixtures only
		}
		tops := []int{1, 3}
		if testing.Short() {
			tops = tops[:1]
		}
		for _, top := range tops {
			want := report(p, true, 1, top)
			jobs := []int{1, 4}
			if testing.Short() {
				jobs = jobs[1:]
			}
			for _, jobs := range jobs {
				if got := report(p, false, jobs, top); !bytes.Equal(got, want) {
					i := 0
					for i < len(got) && i < len(want) && got[i] == want[i] {
						i++
					}
					t.Errorf("%s, top %d, jobs %d: the gated report differs from the deep one at byte %d:\n got …%s…\nwant …%s…",
						p, top, jobs, i, got[max(0, i-150):min(len(got), i+80)], want[max(0, i-150):min(len(want), i+80)])
				}
			}
			var rep Report
			if json.Unmarshal(want, &rep) == nil {
				for _, b := range rep.BigKeys {
					for _, k := range b.ByMemory {
						if k.LargestElement >= 0 && k.Encoding != "quicklist" && b.Type != "string" {
							listed++
						}
					}
				}
			}
		}
	}
	if listed == 0 {
		t.Error("no listed compact key had its largest element: the test shows nothing")
	}
}
