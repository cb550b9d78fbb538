package diff

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"reflect"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// TestTableReset: a reset table reuses its chunks and holds the new keys.
func TestTableReset(t *testing.T) {
	var tab table
	for round, n := range []int{3*kvChunk + 5, 10, 2 * kvChunk, 70000} {
		tab.reset()
		mem := tab.mem
		for i := 0; i < n; i++ {
			k := []byte(fmt.Sprintf("r%d:%d", round, i))
			if i == 3 {
				k = bytes.Repeat([]byte{byte(round)}, bigKeyLen+round)
			}
			e := entry{exp: int64(i), dg: digest{hasAux: i%2 == 0, aux: sum128{uint64(i), 0}}}
			if err := tab.add(k, &e); err != nil {
				t.Fatal(err)
			}
		}
		if round == 1 && tab.mem != mem+int64(bigKeyLen+round)+24 { // only the big key is new
			t.Errorf("a smaller table after reset grew from %d to %d", mem, tab.mem)
		}
		for i := 0; i < n; i++ {
			k := []byte(fmt.Sprintf("r%d:%d", round, i))
			if i == 3 {
				k = bytes.Repeat([]byte{byte(round)}, bigKeyLen+round)
			}
			e := tab.entry(i)
			if !bytes.Equal(tab.key(i), k) || e.exp != int64(i) || e.dg.hasAux != (i%2 == 0) || (e.dg.hasAux && e.dg.aux[0] != uint64(i)) {
				t.Fatalf("round %d: entry %d wrong: %.30q %+v", round, i, tab.key(i), e)
			}
		}
	}
}

func TestTableKeysAndEntries(t *testing.T) {
	if kvSize != 56 {
		t.Errorf("kv is %d bytes; the package doc says 56", kvSize)
	}
	var tab table
	var keys [][]byte
	for i := 0; i < 3*kvChunk+7; i++ {
		k := []byte(fmt.Sprintf("key:%d", i))
		switch i {
		case 5:
			k = bytes.Repeat([]byte("b"), bigKeyLen) // a big key
		case 9:
			k = bytes.Repeat([]byte("m"), arenaChunk/2) // opens a new arena chunk
		case 11:
			k = []byte{}
		}
		keys = append(keys, k)
		e := entry{exp: int64(i), off: int64(i) + 1, dg: digest{typ: rdb.TypeHash, sum: sum128{uint64(i), 7}}}
		if i%3 == 0 {
			e.dg.hasAux, e.dg.aux = true, sum128{9, uint64(i)}
		}
		if err := tab.add(k, &e); err != nil {
			t.Fatal(err)
		}
	}
	if tab.n != len(keys) {
		t.Fatalf("n = %d", tab.n)
	}
	for i, k := range keys {
		if !bytes.Equal(tab.key(i), k) {
			t.Fatalf("key %d: got %.20q", i, tab.key(i))
		}
		e := tab.entry(i)
		if e.exp != int64(i) || e.off != int64(i)+1 || e.dg.sum != (sum128{uint64(i), 7}) || e.dg.hasAux != (i%3 == 0) || (e.dg.hasAux && e.dg.aux != sum128{9, uint64(i)}) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	ix := newIndex(tab.n)
	for i := range keys {
		if _, ok := ix.insert(&tab, i); !ok {
			t.Fatalf("key %d reported as a duplicate", i)
		}
	}
	if j, ok := ix.insert(&tab, 3); ok || j != 3 {
		t.Fatalf("re-insert: %d %v", j, ok)
	}
	if ix.find(&tab, tab.at(5).h, keys[5]) != 5 {
		t.Fatal("big key not found")
	}
	if ix.find(&tab, 1, []byte("absent")) != -1 {
		t.Fatal("absent key found")
	}
	if tab.mem <= 0 || tab.cost() <= tab.mem {
		t.Fatalf("mem %d cost %d", tab.mem, tab.cost())
	}
}

// TestJoinDuplicates: keys a side holds twice (as a server's SCAN may
// return them) are counted and reported once.
func TestJoinDuplicates(t *testing.T) {
	mk := func(v uint64, keys ...string) *table {
		var tab table
		for _, k := range keys {
			e := entry{dg: digest{typ: rdb.TypeString, sum: sum128{1, 1}}}
			if k == "changed" {
				e.dg.sum[0] = v
			}
			tab.add(append([]byte{0}, k...), &e) // db 0
		}
		return &tab
	}
	ta := mk(1, "same", "gone", "same", "changed", "gone")
	tb := mk(2, "new", "same", "new", "changed", "same", "changed")
	dir := t.TempDir()
	dw, err := newDiffWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &comparer{dw: dw}
	nA, nB, err := c.join(ta, tb)
	if err != nil {
		t.Fatal(err)
	}
	if nA != 3 || nB != 3 {
		t.Fatalf("keys %d, %d; want 3, 3", nA, nB)
	}
	f, err := dw.done()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	got := map[string]Kind{}
	readDiffs(f, func(r *diffRec) error {
		if _, dup := got[string(r.key)]; dup {
			t.Errorf("%s reported twice", r.key)
		}
		got[string(r.key)] = r.kind
		return nil
	})
	want := map[string]Kind{"gone": Removed, "new": Added, "changed": ValueChanged}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestValueCodec(t *testing.T) {
	vals := []*rdb.Value{
		{Type: rdb.TypeString, String: []byte("hello")},
		{Type: rdb.TypeString, String: []byte{}},
		{Type: rdb.TypeList, Items: [][]byte{[]byte("a"), {}, []byte("ccc")}},
		{Type: rdb.TypeSet, Items: [][]byte{}},
		{Type: rdb.TypeZSet, ZSet: []rdb.ScoredMember{{Member: []byte("m"), Score: 1.5}, {Member: []byte("n"), Score: math.Inf(-1)}}},
		{Type: rdb.TypeHash, Hash: []rdb.HashField{{Field: []byte("f"), Value: []byte("v"), ExpireAt: 1700000000000}, {Field: []byte("g"), Value: []byte{}}}},
		{Type: rdb.TypeStream, Stream: &rdb.StreamValue{Entries: []rdb.StreamEntry{{ID: rdb.StreamID{Ms: 1, Seq: 2}, Fields: [][]byte{[]byte("f"), []byte("v")}}},
			StreamInfo: rdb.StreamInfo{Version: 2, Length: 1, LastID: rdb.StreamID{Ms: 1, Seq: 2}}}},
	}
	for _, v := range vals {
		b, err := encodeValue(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeValue(b)
		if err != nil {
			t.Fatalf("%v: %v", v.Type, err)
		}
		if !reflect.DeepEqual(got, v) {
			t.Errorf("%v: got %+v, want %+v", v.Type, got, v)
		}
		if len(b) > 1 {
			if _, err := decodeValue(b[:len(b)-1]); err == nil && v.Type != rdb.TypeString {
				t.Errorf("%v: a truncated value decoded", v.Type)
			}
		}
	}
}

// TestDigestCanonical: the digest does not depend on element order for
// sets, hashes and sorted sets, and does for lists.
func TestDigestCanonical(t *testing.T) {
	var a, b sum128
	a.add(hash128([]byte("x")))
	a.add(hash128([]byte("y")))
	b.add(hash128([]byte("y")))
	b.add(hash128([]byte("x")))
	if finishSet('s', 2, a) != finishSet('s', 2, b) {
		t.Fatal("set digest depends on order")
	}
	if finishSet('s', 2, a) == finishSet('s', 3, a) || finishSet('s', 2, a) == finishSet('h', 2, a) {
		t.Fatal("count or tag not in the set digest")
	}
	var s1, s2 stream128
	s1.reset('l')
	s1.writeLen([]byte("x"))
	s1.writeLen([]byte("y"))
	s2.reset('l')
	s2.writeLen([]byte("y"))
	s2.writeLen([]byte("x"))
	if s1.sum() == s2.sum() {
		t.Fatal("list digest does not depend on order")
	}
	// Writes split differently hash alike, past the buffer too.
	big := bytes.Repeat([]byte("z"), 3*streamBuf)
	s1.reset('m')
	s1.write(big[:10])
	s1.write(big[10:])
	s2.reset('m')
	for i := 0; i < len(big); i += 1000 {
		s2.write(big[i:min(i+1000, len(big))])
	}
	if s1.sum() != s2.sum() {
		t.Fatal("stream hash depends on how writes are split")
	}
}
