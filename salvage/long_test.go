package salvage

import (
	"bytes"
	"hash/maphash"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

type keyHashRec struct {
	off, size int64
	h         uint64
}

var longSeed = maphash.MakeSeed()

func indexKeys(t testing.TB, data []byte) map[string]keyHashRec {
	r := rdb.NewReader(bytes.NewReader(data))
	out := map[string]keyHashRec{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		if err := r.VerifyValue(); err != nil {
			t.Fatal(err)
		}
		r.Skip()
		out[dbKey(rec.DB, rec.Key)] = keyHashRec{rec.Offset, rec.Size, maphash.Bytes(longSeed, data[rec.Offset:rec.Offset+rec.Size])}
	}
}

// TestLongSmallRDB damages the 106 MB benchmark file in controlled ways and
// measures the share of undamaged keys recovered. Set RDBTOOL_SALVAGE_LONG=1
// (and RDBTOOL_SMALL_RDB to another path if needed, RDBTOOL_SALVAGE_SEED
// for other damage positions).
func TestLongSmallRDB(t *testing.T) {
	if os.Getenv("RDBTOOL_SALVAGE_LONG") == "" {
		t.Skip("set RDBTOOL_SALVAGE_LONG=1 to run")
	}
	path := smallRDBPath()
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := indexKeys(t, orig)
	t.Logf("%s: %d keys", path, len(keys))
	seed := int64(3)
	if v, err := strconv.ParseInt(os.Getenv("RDBTOOL_SALVAGE_SEED"), 10, 64); err == nil {
		seed = v // other damage positions
	}
	rng := rand.New(rand.NewSource(seed))
	trials := 6
	loaded := false
	for _, dmg := range damages {
		var outside, recovered, wrong, extra int
		var dur time.Duration
		for i := 0; i < trials; i++ {
			bad, ds, de := dmg.apply(rng, orig)
			var out bytes.Buffer
			start := time.Now()
			res, _, err := Salvage(bytes.NewReader(bad), int64(len(bad)), &out, Options{})
			dur += time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v", dmg.name, err)
			}
			if res.Clean() {
				t.Errorf("%s [%d,%d): reported clean", dmg.name, ds, de)
			}
			got := indexKeys(t, out.Bytes())
			for k, g := range got {
				o, ok := keys[k]
				switch {
				case !ok:
					extra++
					t.Errorf("%s [%d,%d): key %q was never there", dmg.name, ds, de, k)
				case o.h != g.h:
					wrong++
					t.Errorf("%s [%d,%d): key %q differs", dmg.name, ds, de, k)
				}
			}
			for k, o := range keys {
				if o.off+o.size <= ds || o.off >= de {
					outside++
					if _, ok := got[k]; ok {
						recovered++
					}
				}
			}
			if !loaded && dmg.name == "random4k" {
				loaded = true
				p := filepath.Join(t.TempDir(), "salvaged.rdb")
				os.WriteFile(p, out.Bytes(), 0o644)
				loadInRedis(t, p, out.Bytes())
			}
		}
		share := float64(recovered) / float64(max(outside, 1))
		t.Logf("%-9s %d trials: recovered %d of %d keys outside the damage (%.4f%%), wrong %d, extra %d; salvage %.2f s per run",
			dmg.name, trials, recovered, outside, 100*share, wrong, extra, dur.Seconds()/float64(trials))
		if dmg.name != "truncate" && share < 0.99 {
			t.Errorf("%s: recovered %.4f%% < 99%%", dmg.name, 100*share)
		}
	}
}

// smallRDBPath is the benchmark file the long tests damage.
func smallRDBPath() string {
	if p := os.Getenv("RDBTOOL_SMALL_RDB"); p != "" {
		return p
	}
	return "/root/.cache/rdbtool-bench/small.rdb"
}
