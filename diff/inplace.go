package diff

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"os"
	"slices"

	"github.com/rdbtool/rdbtool/rdb"
)

// Reading a side's candidates where the first pass saw them: positioned
// reads of a plain file instead of a pass over all of it.

// inPlaceCost is what reading one record in place is reckoned to cost, in
// bytes of file read through: a small reader (inPlaceBuf) and a few
// positioned reads, against parsing every record of the file.
var inPlaceCost int64 = 8 << 10

// inPlaceBuf is the buffer of a reader reading one record in place.
const inPlaceBuf = 4 << 10

// canReadInPlace tells whether side i's candidates can be read where the
// first pass saw them: the input is a plain (uncompressed) RDB file on
// disk and every candidate's record offset is known.
func (c *comparer) canReadInPlace(in Input, i int, chunk map[string]*candidate) bool {
	s := []*side{c.a, c.b}[i]
	if in.path == "" || in.live != nil || s.version == 0 {
		return false
	}
	for _, cd := range chunk {
		if cd.rec[i] == 0 {
			return false
		}
	}
	f, err := os.Open(in.path)
	if err != nil {
		return false
	}
	defer f.Close()
	// Each record read in place costs a reader and a buffer: past some
	// number of them, reading the file through is cheaper.
	if fi, err := f.Stat(); err != nil || int64(len(chunk))*inPlaceCost > fi.Size() {
		return false
	}
	var b [9]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return (s.dialect == rdb.DialectRedis && string(b[:5]) == "REDIS") || (s.dialect == rdb.DialectValkey && string(b[:6]) == "VALKEY")
}

// eachInPlace is eachCandidate for a plain file whose candidates' record
// offsets are known: it reads each record where it is, in file order.
// A record that is not the expected key makes it fall back to reading the
// whole file.
func (c *comparer) eachInPlace(ctx context.Context, in Input, i int, chunk map[string]*candidate, fn func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error) error {
	s := []*side{c.a, c.b}[i]
	f, err := os.Open(in.path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	type at struct {
		k  string
		cd *candidate
	}
	list := make([]at, 0, len(chunk))
	for k, cd := range chunk {
		list = append(list, at{k, cd})
	}
	slices.SortFunc(list, func(a, b at) int { return cmp.Compare(a.cd.rec[i], b.cd.rec[i]) })
	for n, x := range list {
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		off := x.cd.rec[i] - 1
		db, key := splitKey([]byte(x.k))
		opts := append(slices.Clip(in.ropts), rdb.WithName(in.Name), rdb.WithBufferSize(inPlaceBuf), rdb.Resume(s.dialect, s.version, db, off))
		r := rdb.NewReader(io.NewSectionReader(f, off, fi.Size()-off), opts...)
		rec, err := r.Next()
		if err != nil || rec.Kind != rdb.KindKey || rec.DB != db || !bytes.Equal(rec.Key, key) {
			// The file is not what the first pass read: read it whole.
			for _, y := range list {
				y.cd.have[i] = false
			}
			return c.eachCandidate(ctx, in, i, chunk, fn)
		}
		if err := fn(x.cd, rec, r); err != nil {
			return err
		}
	}
	return nil
}
