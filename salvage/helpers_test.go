package salvage

import (
	"bytes"
	"fmt"
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
		if err := r.VerifyValue(); err != nil {
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

// origIndex maps the offset of every key record of an intact file to the
// record: the ground truth recovered records are labelled against.
type origKey struct {
	db        int
	key       string
	off, size int64
}

func indexByOffset(t testing.TB, data []byte) map[int64]origKey {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data))
	out := map[int64]origKey{}
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
		db, key, off := rec.DB, string(rec.Key), rec.Offset
		if err := r.Skip(); err != nil {
			t.Fatal(err)
		}
		out[off] = origKey{db, key, off, rec.Size}
	}
}

// label classifies a key record recovered from a damaged copy of orig:
// "ok" when the original has the very same record (database, key and
// bytes) at the same offset; "undetectable" when the original has a record
// of that size there whose bytes the damage changed, in a file without a
// checksum (nothing can tell); "wrong" when the key existed but the record
// differs; "invented" otherwise.
func label(orig, bad []byte, idx map[int64]origKey, names map[string]keyRec, rec *Record, checksummed bool, ds, de int64) string {
	o, ok := idx[rec.Offset]
	end := rec.Offset + rec.Size
	if ok && o.size == rec.Size && o.db == rec.DB && o.key == string(rec.Key) && end <= int64(len(orig)) && bytes.Equal(orig[rec.Offset:end], bad[rec.Offset:end]) {
		return "ok"
	}
	if !checksummed && rec.Offset < de && end > ds {
		// Without a checksum nothing can tell damaged bytes that still
		// read as valid records from the original ones.
		return "undetectable"
	}
	if _, ok := names[dbKey(rec.DB, rec.Key)]; ok {
		return "wrong"
	}
	return "invented"
}

// measure damages data and checks the salvage of the result against orig:
// every recovered key record is labelled by its offset in the input.
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
	idx := indexByOffset(t, orig)
	recovered := map[int64]bool{}
	var bads []string
	out, sres := salvageBytes(t, bad, Options{Record: func(rec *Record) {
		if rec.Kind != rdb.KindKey {
			return
		}
		switch l := label(orig, bad, idx, keys, rec, checksummed, ds, de); l {
		case "ok":
			recovered[rec.Offset] = true
		case "undetectable":
			st.undetectable++
		default:
			if l == "wrong" {
				st.wrong++
			} else {
				st.extra++
			}
			o := idx[rec.Offset]
			bads = append(bads, fmt.Sprintf("%s %s [%d,%d): %s key db %d %q record [%d,%d) type %d uncertain-db %v (original there: %v)",
				name, dmg.name, ds, de, l, rec.DB, trunc(rec.Key), rec.Offset, rec.Offset+rec.Size, rec.RDBType, rec.DBUncertain, o))
		}
	}})
	if len(bads) > 0 && os.Getenv("RDBTOOL_SALVAGE_DUMP") != "" {
		os.WriteFile(fmt.Sprintf("%s/%s-%s-%d.rdb", os.Getenv("RDBTOOL_SALVAGE_DUMP"), strings.ReplaceAll(strings.TrimPrefix(name, "/work/"), "/", "_"), dmg.name, ds), bad, 0o644)
	}
	if len(bads) > 0 {
		for _, b := range bads {
			t.Log(b)
		}
		if os.Getenv("RDBTOOL_SALVAGE_DIAG") != "" && sres != nil {
			for _, p := range sres.Problems {
				t.Logf("    %s", p)
			}
		}
	}
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
			if err := r.VerifyValue(); err != nil {
				t.Errorf("salvaged key %q does not decode: %v", dbKey(rec.DB, rec.Key), err)
				st.unloadable++
				break
			}
		}
	}
	for off, o := range idx {
		if o.off+o.size <= ds || o.off >= de {
			st.outside++
			if recovered[off] {
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
