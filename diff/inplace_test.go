package diff

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestReadInPlace reads candidates at their record offsets, and falls
// back to reading the file through when an offset does not hold the key.
func TestReadInPlace(t *testing.T) {
	var path string
	for _, f := range corpustest.Files(t) {
		if f.Name == "redis-7.4.1/main" {
			path = f.RDB
		}
	}
	if path == "" {
		t.Fatal("corpus file missing")
	}
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := rdb.NewReader(fh)
	offs := map[string]int64{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey && len(offs) < 20 {
			offs[mapKey(rec.DB, rec.Key)] = rec.Offset
		}
	}
	in := FileInput(path)
	defer func(v int64) { inPlaceCost = v }(inPlaceCost)
	inPlaceCost = 1 // the corpus files are small
	s := &side{dialect: r.Dialect(), version: r.Version()}
	c := &comparer{a: s, b: s}
	for _, corrupt := range []bool{false, true} {
		chunk := map[string]*candidate{}
		n := 0
		for k, off := range offs {
			cd := &candidate{rec: [2]int64{off + 1, off + 1}}
			if corrupt && n == 7 {
				cd.rec[0] += 3 // not where the key is
			}
			chunk[k] = cd
			n++
		}
		if !c.canReadInPlace(in, 0, chunk) {
			t.Fatal("cannot read a plain file in place")
		}
		seen := map[*candidate]int{}
		err := c.eachInPlace(context.Background(), in, 0, chunk, func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error {
			if chunk[mapKey(rec.DB, rec.Key)] != cd {
				t.Errorf("candidate called with key %q", rec.Key)
			}
			if _, err := c.readValue(rec, r); err != nil {
				return err
			}
			cd.have[0] = true
			seen[cd]++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for k, cd := range chunk {
			if !cd.have[0] || (!corrupt && seen[cd] != 1) {
				t.Errorf("corrupt=%v: %q seen %d times", corrupt, k, seen[cd])
			}
		}
	}
}
