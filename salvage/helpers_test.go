package salvage

import (
	"bytes"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// keyRec is a key's exact record bytes and position in a file.
type keyRec struct {
	off, size int64
	raw       string
}

func dbKey(db int, key []byte) string { return strconv.Itoa(db) + "/" + string(key) }

// readKeys reads every key of an intact file with the plain reader.
func readKeys(t testing.TB, data []byte) map[string]keyRec {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data))
	out := map[string]keyRec{}
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
		k := dbKey(rec.DB, rec.Key)
		if err := rdb.DecodeValue(r); err != nil {
			t.Fatalf("decoding %q: %v", k, err)
		}
		if err := r.Skip(); err != nil {
			t.Fatal(err)
		}
		out[k] = keyRec{rec.Offset, rec.Size, string(data[rec.Offset : rec.Offset+rec.Size])}
	}
}

// salvageBytes salvages data and returns the output and the result.
func salvageBytes(t testing.TB, data []byte, opts Options) ([]byte, *Result) {
	t.Helper()
	var out bytes.Buffer
	res, _, err := Salvage(bytes.NewReader(data), int64(len(data)), &out, opts)
	if err != nil {
		return nil, res
	}
	return out.Bytes(), res
}

// corpusFiles returns the small corpus files that hold keys (no AOF preambles).
func corpusFiles(t testing.TB) []corpustest.File {
	var out []corpustest.File
	local := filepath.Join(corpustest.Root(), "testdata") + string(filepath.Separator)
	for _, f := range corpustest.Files(t) {
		if !strings.HasPrefix(f.RDB, local) && os.Getenv("RDBTOOL_SALVAGE_LONG") == "" {
			continue // the shared corpus only in the long run
		}
		if f.Scenario() == "aof-preamble" {
			continue
		}
		st, err := os.Stat(f.RDB)
		if err != nil || st.Size() > 4<<20 {
			continue
		}
		out = append(out, f)
	}
	return out
}

type damage struct {
	name  string
	apply func(rng *rand.Rand, data []byte) (out []byte, start, end int64)
}

var damages = []damage{
	{"truncate", func(rng *rand.Rand, d []byte) ([]byte, int64, int64) {
		n := int64(rng.Intn(len(d)-1) + 1)
		return append([]byte(nil), d[:n]...), n, int64(len(d))
	}},
	{"bitflip", func(rng *rand.Rand, d []byte) ([]byte, int64, int64) {
		o := append([]byte(nil), d...)
		i := rng.Intn(len(o)-9) + 9
		o[i] ^= 1 << rng.Intn(8)
		return o, int64(i), int64(i + 1)
	}},
	{"zero4k", func(rng *rand.Rand, d []byte) ([]byte, int64, int64) {
		o := append([]byte(nil), d...)
		i, j := block(rng, len(o))
		clear(o[i:j])
		return o, int64(i), int64(j)
	}},
	{"random4k", func(rng *rand.Rand, d []byte) ([]byte, int64, int64) {
		o := append([]byte(nil), d...)
		i, j := block(rng, len(o))
		rng.Read(o[i:j])
		return o, int64(i), int64(j)
	}},
}

func block(rng *rand.Rand, n int) (int, int) {
	if n <= 4096+18 {
		i := 9 + rng.Intn(n/2)
		return i, min(n, i+n/4)
	}
	i := 9 + rng.Intn(n-4096-18)
	return i, i + 4096
}

// trialStats accumulates recovery over damage trials.
type trialStats struct {
	trials, outside, recovered, wrong, extra, unloadable int
	missed, undetectable                                 int // damaged files reported clean; damage inside a value of a file without checksum
}

// measure damages data and checks the salvage of the result against orig.
func measure(t testing.TB, name string, orig []byte, keys map[string]keyRec, dmg damage, rng *rand.Rand, st *trialStats) []byte {
	bad, ds, de := dmg.apply(rng, orig)
	st.trials++
	res, err := Scan(bytes.NewReader(bad), int64(len(bad)), Options{})
	changed := !bytes.Equal(bad, orig)
	ores, _ := Scan(bytes.NewReader(orig), int64(len(orig)), Options{})
	checksummed := ores.Checksum == rdb.ChecksumVerified
	if err == nil && res.Clean() && changed && !checksummed {
		st.undetectable++
	} else if err == nil && res.Clean() && changed {
		st.missed++
		t.Errorf("%s %s [%d,%d): damaged file reported clean", name, dmg.name, ds, de)
	}
	out, _ := salvageBytes(t, bad, Options{})
	got := map[string]keyRec{}
	if out != nil {
		r := rdb.NewReader(bytes.NewReader(out))
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				st.unloadable++
				t.Errorf("%s %s [%d,%d): salvaged file does not read: %v", name, dmg.name, ds, de, err)
				break
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			k := dbKey(rec.DB, rec.Key)
			if err := rdb.DecodeValue(r); err != nil {
				t.Errorf("salvaged key %q does not decode: %v", k, err)
				st.unloadable++
				break
			}
			r.Skip()
			got[k] = keyRec{rec.Offset, rec.Size, string(out[rec.Offset : rec.Offset+rec.Size])}
		}
	}
	for k, g := range got {
		o, ok := keys[k]
		switch {
		case !ok:
			st.extra++
			t.Logf("%s %s [%d,%d): salvaged a key that was never there: %q", name, dmg.name, ds, de, k)
		case o.raw != g.raw && !checksummed && o.off < de && o.off+o.size > ds:
			st.undetectable++
		case o.raw != g.raw:
			st.wrong++
			t.Logf("%s %s [%d,%d): salvaged key %q differs from the original (record at %d+%d)", name, dmg.name, ds, de, k, o.off, o.size)
		}
	}
	for k, o := range keys {
		if o.off+o.size <= ds || o.off >= de {
			st.outside++
			if _, ok := got[k]; ok {
				st.recovered++
			}
		}
	}
	return out
}

func (st trialStats) share() float64 {
	if st.outside == 0 {
		return 1
	}
	return float64(st.recovered) / float64(st.outside)
}
