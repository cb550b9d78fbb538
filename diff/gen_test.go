package diff_test

import (
	"bufio"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
)

// genKey is one key of a generated snapshot: a string (str), or a
// collection of typ whose elements come from elems (called once, when
// the key is written, so that huge values are never held); count, when
// not 0, is how many elements there are; ttls says hash fields may have
// TTLs.
type genKey struct {
	db    int
	key   string
	str   string
	typ   rdb.Type
	elems func(add func(rdb.Element) error) error
	count int64
	ttls  bool
}

// writeRDB writes keys, in order, to a new RDB 12 (Redis 7.4) file in dir.
func writeRDB(t testing.TB, dir, name string, keys []genKey) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	tg, err := rdb.TargetVersion(12)
	if err != nil {
		t.Fatal(err)
	}
	w, err := rdb.NewWriter(bw, rdb.WriterOptions{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	db := -1
	for _, k := range keys {
		if k.db != db {
			if err := w.SelectDB(k.db); err != nil {
				t.Fatal(err)
			}
			db = k.db
		}
		h := rdb.KeyHeader{Key: []byte(k.key)}
		if k.elems == nil {
			if err := w.WriteString(h, []byte(k.str)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		info := rdb.CollectionInfo{Count: -1, FieldTTLs: k.ttls}
		if k.count != 0 {
			info.Count = k.count
		}
		cw, err := w.BeginCollection(h, k.typ, info)
		if err != nil {
			t.Fatal(err)
		}
		if err := k.elems(cw.Add); err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKeyOrder compares snapshots whose keys come in the same order, in
// a shifted order and in unrelated orders, with budgets that keep every
// waiting key in memory and budgets that send them to the partitions:
// the differences must be the same.
func TestKeyOrder(t *testing.T) {
	dir := t.TempDir()
	const n = 5000
	var a []genKey
	for i := 0; i < n; i++ {
		a = append(a, genKey{db: i % 3, key: fmt.Sprintf("k:%05d", i), str: fmt.Sprintf("v%d", i)})
	}
	want := map[string]diff.Kind{}
	var b []genKey
	for i, k := range a {
		switch {
		case i%97 == 5:
			want[fmt.Sprintf("%d/%s", k.db, k.key)] = diff.Removed
			continue
		case i%89 == 7:
			k.str += "!"
			want[fmt.Sprintf("%d/%s", k.db, k.key)] = diff.ValueChanged
		}
		b = append(b, k)
		if i%101 == 3 {
			nk := genKey{db: k.db, key: fmt.Sprintf("new:%05d", i), str: "x"}
			b = append(b, nk)
			want[fmt.Sprintf("%d/%s", nk.db, nk.key)] = diff.Added
		}
	}
	// Sorted by db, as a file holds them.
	byDB := func(ks []genKey) []genKey {
		var out []genKey
		for db := 0; db < 3; db++ {
			for _, k := range ks {
				if k.db == db {
					out = append(out, k)
				}
			}
		}
		return out
	}
	a, b = byDB(a), byDB(b)
	pa := writeRDB(t, dir, "a.rdb", a)
	orders := map[string][]genKey{"same": b}
	// Shifted: every run of 50 keys reversed.
	var shifted []genKey
	for i := 0; i < len(b); i += 50 {
		j := min(i+50, len(b))
		for k := j - 1; k >= i; k-- {
			shifted = append(shifted, b[k])
		}
	}
	orders["shifted"] = byDB(shifted)
	shuffled := append([]genKey(nil), b...)
	rand.New(rand.NewSource(1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	orders["shuffled"] = byDB(shuffled)
	for name, keys := range orders {
		pb := writeRDB(t, dir, "b-"+name+".rdb", keys)
		for _, lim := range []int64{0, 1 << 20, 32 << 10} {
			t.Run(fmt.Sprintf("%s/mem%d", name, lim), func(t *testing.T) {
				res, got := run(t, diff.FileInput(pa), diff.FileInput(pb), diff.Options{MemLimit: lim})
				for k, w := range want {
					if g, ok := got[k]; !ok || g.kind != w {
						t.Errorf("%s: got %v, want %s", k, g.kind, w)
					}
				}
				for k, g := range got {
					if _, ok := want[k]; !ok {
						t.Errorf("extra %s %s", k, g.kind)
					}
				}
				if res.Summary.A.Keys != int64(len(a)) || res.Summary.B.Keys != int64(len(keys)) {
					t.Errorf("keys %d, %d; want %d, %d", res.Summary.A.Keys, res.Summary.B.Keys, len(a), len(keys))
				}
				// Keys in the same or a nearly same order pair at once
				// or soon; 1 MiB cannot hold 5,000 keys in unrelated
				// orders, and 32 KiB not even the keys on one side only.
				wantSpill := lim == 32<<10 || (lim != 0 && name == "shuffled")
				if res.Summary.Spilled != wantSpill {
					t.Errorf("spilled %v, want %v", res.Summary.Spilled, wantSpill)
				}
			})
		}
	}
}
