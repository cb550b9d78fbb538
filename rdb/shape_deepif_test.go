package rdb_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// TestShapeDeepIf: ShapeOptions.DeepIf is asked for a compact blob with
// its size and header entry count; true gives the largest element as Deep does,
// false leaves it unknown, and both leave the reader at the next record.
func TestShapeDeepIf(t *testing.T) {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
	if err != nil {
		t.Fatal(err)
	}
	w.SelectDB(0)
	for _, k := range []string{"h1", "h2"} {
		c, err := w.BeginHash(rdb.KeyHeader{Key: []byte(k)}, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"a", "bbbbbbb", "cc"} {
			if err := c.Add(rdb.Element{Member: []byte(f), Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := rdb.NewReader(bytes.NewReader(buf.Bytes()))
	var asked [][2]uint64
	for i := 0; ; {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		want := i == 0 // iterate the first blob, not the second
		sh, err := r.ReadShape(rdb.ShapeOptions{DeepIf: func(size, count uint64) bool {
			asked = append(asked, [2]uint64{size, count})
			return want
		}})
		if err != nil {
			t.Fatal(err)
		}
		if rec.Encoding != "listpack" || sh.Elements != 3 || sh.LargestKnown != want || want && sh.Largest != 7 {
			t.Errorf("key %s (%s): elements %d, largest %d known %v; want largest 7 known %v", rec.Key, rec.Encoding, sh.Elements, sh.Largest, sh.LargestKnown, want)
		}
		i++
	}
	// The header counts entries: a field and a value each.
	if len(asked) != 2 || asked[0][1] != 6 || asked[0][0] == 0 {
		t.Errorf("DeepIf asked %v, want twice with the blob's size and 6 entries", asked)
	}
}
