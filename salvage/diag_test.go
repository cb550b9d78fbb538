package salvage

import (
	"bytes"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestDiagLosses counts why keys outside the damage were not recovered
// (RDBTOOL_SALVAGE_DIAG=1; V=<reason prefix> D=<damage> to list cases).
func TestDiagLosses(t *testing.T) {
	if os.Getenv("RDBTOOL_SALVAGE_DIAG") == "" {
		t.Skip()
	}
	files := corpusFiles(t)
	rng := rand.New(rand.NewSource(1))
	for _, dmg := range damages {
		why := map[string]int{}
		for _, f := range files {
			data, _ := os.ReadFile(f.RDB)
			idx := indexByOffset(t, data)
			for i := 0; i < 3; i++ {
				bad, ds, de := dmg.apply(rng, data)
				res, _ := Scan(bytes.NewReader(bad), int64(len(bad)), Options{})
				outsideLosses(res, idx, ds, de, func(l LostKey, o origKey, w string) {
					why[w]++
					if strings.HasPrefix(w, os.Getenv("V")) && os.Getenv("V") != "" && dmg.name == os.Getenv("D") {
						for _, p := range res.Problems {
							t.Logf("   %s", trunc([]byte(p.String())))
						}
						t.Logf("%s %s held-dropped %q at %d size %d", f.Name, dmg.name, trunc(l.Key), o.off, o.size)
					}
				})
			}
		}
		t.Logf("%s: %v", dmg.name, why)
	}
}

// TestDiagOne damages DIAG_FILE at DIAG_RANGE=start,end (zeros with
// DIAG_ZERO=1, else random bytes; an empty range reads the file as it is)
// and prints what the scan finds.
func TestDiagOne(t *testing.T) {
	path := os.Getenv("DIAG_FILE")
	if path == "" {
		t.Skip()
	}
	data, _ := os.ReadFile(path)
	var ds, de int
	parseRange(os.Getenv("DIAG_RANGE"), &ds, &de)
	bad := append([]byte(nil), data...)
	rng := rand.New(rand.NewSource(5))
	if os.Getenv("DIAG_ZERO") != "" {
		clear(bad[ds:de])
	} else if de > ds {
		rng.Read(bad[ds:de])
	}
	res, _ := Scan(bytes.NewReader(bad), int64(len(bad)), Options{})
	n := 0
	for _, p := range res.Problems {
		if p.Kind == KeySuspect || p.Kind == DBUncertain {
			n++
			if n > 3 {
				continue
			}
		}
		t.Logf("%.300s", p.String())
	}
	why := map[string]int{}
	for _, l := range res.Lost {
		why[lossReason(l.Why)]++
	}
	t.Logf("lost: %v", why)
	t.Logf("keys %d dbs %+v", res.Keys, res.DBs)
}

func parseRange(s string, a, b *int) {
	parts := strings.Split(s, ",")
	if len(parts) == 2 {
		*a, _ = strconv.Atoi(parts[0])
		*b, _ = strconv.Atoi(parts[1])
	}
}

// TestDiagSmall replays TestLongSmallRDB's damage of the benchmark file
// (DIAG_SMALL=<damage name>) and says why keys outside it were lost.
func TestDiagSmall(t *testing.T) {
	if os.Getenv("DIAG_SMALL") == "" {
		t.Skip()
	}
	orig, _ := os.ReadFile(smallRDBPath())
	idx := indexByOffset(t, orig)
	rng := rand.New(rand.NewSource(3))
	for _, dmg := range damages {
		for i := 0; i < 6; i++ {
			bad, ds, de := dmg.apply(rng, orig)
			if dmg.name != os.Getenv("DIAG_SMALL") {
				continue
			}
			res, _ := Scan(bytes.NewReader(bad), int64(len(bad)), Options{})
			why := map[string]int{}
			outsideLosses(res, idx, ds, de, func(_ LostKey, _ origKey, w string) { why[w]++ })
			t.Logf("trial %d [%d,%d): keys %d lost-outside %v problems %d", i, ds, de, res.Keys, why, res.ProblemCount)
			n := 0
			for _, p := range res.Problems {
				if p.Kind == KeySuspect || p.Kind == DBUncertain || p.Kind == KeyLost {
					n++
					if n > 3 {
						continue
					}
				}
				t.Logf("   %.300s", p.String())
			}
		}
	}
}

// lossReason is why's reason without the offsets and names that follow it.
func lossReason(why string) string {
	if i := strings.IndexAny(why, ":0123456789"); i > 0 {
		return why[:i]
	}
	return why
}

// outsideLosses calls fn for each lost key of res that lay wholly outside
// the damage [ds, de) in the original (idx), with its reason.
func outsideLosses(res *Result, idx map[int64]origKey, ds, de int64, fn func(l LostKey, o origKey, reason string)) {
	for _, l := range res.Lost {
		if o, ok := idx[l.Offset]; ok && (o.off+o.size <= ds || o.off >= de) {
			fn(l, o, lossReason(l.Why))
		}
	}
}
