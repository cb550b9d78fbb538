package salvage

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// bigValueFile writes an RDB 10 file: db 0 with small strings, one large
// hash (hashtable encoding) or list (quicklist) of about 1 MB in the
// middle, more small strings, then db 5 with a few keys. It returns the
// file and where the large value's record starts and ends.
func bigValueFile(t *testing.T, typ rdb.Type) (data []byte, bigStart, bigEnd int64) {
	t.Helper()
	tg, err := rdb.TargetVersion(10)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	text := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.Intn(26))
		}
		return b
	}
	const before, after = 2000, 12000
	must := func(err error) {
		if err != nil {
			t.Helper()
			t.Fatal(err)
		}
	}
	must(w.SelectDB(0))
	must(w.ResizeDB(before+after+1, (before+after)/10))
	str := func(i int) {
		h := rdb.KeyHeader{Key: fmt.Appendf(nil, "str:%d", i)}
		if i%10 == 0 {
			h.ExpireAt = 1_900_000_000_123 + int64(i) // millisecond expiries prove record starts
		}
		must(w.WriteString(h, text(10+rng.Intn(40))))
	}
	for i := range before {
		str(i)
	}
	bigStart = w.Written()
	cw, err := w.BeginCollection(rdb.KeyHeader{Key: []byte("big")}, typ, rdb.CollectionInfo{Count: 30000})
	must(err)
	for i := range 30000 {
		e := rdb.Element{Member: fmt.Appendf(nil, "field:%d", i)}
		if typ == rdb.TypeHash {
			e.Value = text(8 + rng.Intn(24))
		} else {
			e.Member = append(e.Member, text(rng.Intn(24))...)
		}
		must(cw.Add(e))
	}
	must(cw.Close())
	bigEnd = w.Written()
	for i := range after {
		str(before + i)
	}
	must(w.SelectDB(5)) // not the next database: its selection proves nothing of db 0
	must(w.ResizeDB(3, 1))
	for i := range 3 {
		str(before + after + i)
	}
	must(w.Close())
	return buf.Bytes(), bigStart, bigEnd
}

// TestDamageInsideLargeValue: 4 KiB of zeros or random bytes inside a large
// hash or list. The range passed over is the rest of that value, far too
// long for the database's declared key count to show that no selection
// was lost in it; the value's elements show it, so every key after the
// value is recovered, in db 0. Damage that also takes the selection of
// db 5 must not put db 5's keys in db 0.
func TestDamageInsideLargeValue(t *testing.T) {
	for _, typ := range []rdb.Type{rdb.TypeHash, rdb.TypeList} {
		orig, bigStart, bigEnd := bigValueFile(t, typ)
		keys := readKeys(t, orig)
		if bigEnd-bigStart < 500<<10 {
			t.Fatalf("%v value is %d bytes, want a large one", typ, bigEnd-bigStart)
		}
		rng := rand.New(rand.NewSource(11))
		for trial := range 8 {
			bad := append([]byte(nil), orig...)
			ds := bigStart + 16<<10 + rng.Int63n(bigEnd-bigStart-40<<10)
			region := bad[ds : ds+4096]
			zero := trial%2 == 0
			if zero {
				clear(region)
			} else {
				rng.Read(region)
			}
			out, res := salvageBytes(t, bad, Options{})
			got := readKeys(t, out)
			var missing []string
			for i := 2000; i < 14000; i++ {
				k := dbKey(0, fmt.Appendf(nil, "str:%d", i))
				if got[k].raw != keys[k].raw {
					missing = append(missing, k)
				}
			}
			// Keys right after the value may be held back (nothing yet
			// proves where records resume); the rest must be there.
			if len(missing) > 16 {
				t.Errorf("%v zero=%v damage at %d: %d of 12000 keys after the value not recovered (first %s); problems: %v", typ, zero, ds, len(missing), missing[0], res.Problems[:min(4, len(res.Problems))])
			}
			if _, ok := got[dbKey(0, []byte("big"))]; ok {
				t.Errorf("%v zero=%v damage at %d: the damaged value was written", typ, zero, ds)
			}
			for k, g := range got {
				if keys[k].raw != g.raw {
					t.Errorf("%v zero=%v: key %q differs or was never there", typ, zero, k)
				}
			}
		}
		// Damage from the value's last bytes through the selection of db 5.
		sel := bytes.Index(orig[bigEnd:], []byte{0xFE, 0x05, 0xFB}) + int(bigEnd)
		if sel < int(bigEnd) {
			t.Fatal("no selection of db 5")
		}
		bad := append([]byte(nil), orig...)
		// The keys of db 0 after the value go with it.
		rng.Read(bad[bigEnd-1024 : sel+4])
		out, _ := salvageBytes(t, bad, Options{})
		for k, g := range readKeys(t, out) {
			if keys[k].raw != g.raw {
				t.Errorf("%v: selection lost: key %q differs or is in the wrong database", typ, k)
			}
		}
	}
}
