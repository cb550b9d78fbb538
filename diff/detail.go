package diff

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/rdbtool/rdbtool/rdb"
)

type candidate struct {
	idx     int64
	confirm bool // drop unless the details show a difference
	ttl     bool // the key's TTL differs
	// Where each side's value is in its values file (have: found).
	have [2]bool
	off  [2]int64
	len  [2]int64
	n    [2]int64 // a collection's elements
	// rec is the offset+1 of the key's record in each file (0: unknown).
	rec [2]int64
}

type detailResult struct {
	off  int64 // offset+1 in the details file, 0 none
	drop bool
	kind Kind // replacement kind, "" to keep
}

// resultLog holds the detail pass's results in a temporary file, in the
// order of the differences they belong to (idx), so that any number of
// them take no memory.
type resultLog struct {
	f *os.File
	w *bufio.Writer
	n int64
	b []byte
}

func newResultLog(dir string) (*resultLog, error) {
	f, err := os.CreateTemp(dir, "rdbdiff-results-*")
	if err != nil {
		return nil, err
	}
	return &resultLog{f: f, w: bufio.NewWriterSize(f, 32<<10)}, nil
}

// add records the result of difference idx; idx must grow from call to
// call.
func (l *resultLog) add(idx int64, dr detailResult) error {
	b := binary.AppendUvarint(l.b[:0], uint64(idx))
	b = binary.AppendUvarint(b, uint64(dr.off))
	fl := byte(0)
	if dr.drop {
		fl = 1
	}
	b = append(b, fl, kindCodes[dr.kind])
	l.b = b
	l.n++
	_, err := l.w.Write(b)
	return err
}

// readResult reads the next result; idx is -1 at the end.
func readResult(br *bufio.Reader) (idx int64, dr detailResult, err error) {
	i, err := binary.ReadUvarint(br)
	if err == io.EOF {
		return -1, dr, nil
	}
	if err != nil {
		return 0, dr, err
	}
	off, err := binary.ReadUvarint(br)
	if err != nil {
		return 0, dr, err
	}
	var b [2]byte
	if _, err := io.ReadFull(br, b[:]); err != nil {
		return 0, dr, err
	}
	dr.off, dr.drop, dr.kind = int64(off), b[0] == 1, codeKinds[b[1]]
	return int64(i), dr, nil
}

// details is the second pass: it re-reads the keys whose values differ and
// describes the differences element by element.
func (c *comparer) details(ctx context.Context, res *Result) error {
	need := func(r *diffRec) bool {
		return r.kind == ValueChanged && (!c.opts.SummaryOnly || r.confirm)
	}
	results, err := newResultLog(res.dir)
	if err != nil {
		return err
	}
	defer removeFile(results.f)
	chunk := map[string]*candidate{}
	var chunkMem int64
	var idx int64 = -1
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := c.detailChunk(ctx, res, chunk, results)
		chunk, chunkMem = map[string]*candidate{}, 0
		return err
	}
	err = readDiffs(res.diffs, func(r *diffRec) error {
		idx++
		if !need(r) {
			return nil
		}
		k := mapKey(r.db, r.key)
		chunk[k] = &candidate{idx: idx, confirm: r.confirm, ttl: r.ttl, rec: [2]int64{r.offA, r.offB}}
		chunkMem += int64(len(k)) + 120
		if chunkMem > c.opts.MemLimit/4 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if results.n == 0 {
		return nil
	}
	// Rewrite the differences with the details' offsets.
	if err := results.w.Flush(); err != nil {
		return err
	}
	if _, err := results.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	rr := bufio.NewReaderSize(results.f, 64<<10)
	nextIdx, dr, err := readResult(rr)
	if err != nil {
		return err
	}
	w, err := newDiffWriter(res.dir)
	if err != nil {
		return err
	}
	idx = -1
	err = readDiffs(res.diffs, func(r *diffRec) error {
		idx++
		if idx == nextIdx {
			cur := dr
			var err error
			if nextIdx, dr, err = readResult(rr); err != nil {
				return err
			}
			dr := cur
			if dr.drop {
				return nil
			}
			if dr.kind != "" {
				r.kind = dr.kind
			}
			r.detail = dr.off
		}
		return w.write(r)
	})
	if err != nil {
		return err
	}
	f, err := w.done()
	if err != nil {
		return err
	}
	removeFile(res.diffs)
	res.diffs = f
	return nil
}

// eachCandidate calls fn for every candidate key present in the input
// (side i: a file is read until all the candidates have been found).
func (c *comparer) eachCandidate(ctx context.Context, in Input, i int, chunk map[string]*candidate, fn func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error) error {
	if in.live != nil {
		for k, cd := range chunk {
			db, key := splitKey([]byte(k))
			rec, r, err := in.live.Get(ctx, db, key)
			if err != nil {
				return err
			}
			if rec == nil {
				continue
			}
			if err := fn(cd, rec, r); err != nil {
				return err
			}
		}
		return nil
	}
	db := -1
	if c.opts.FilterDB {
		db = c.opts.DB
	}
	st, err := in.stream(ctx, db, c.opts.Match)
	if err != nil {
		return err
	}
	defer st.close()
	var kb []byte
	found := 0
	for n := 0; found < len(chunk); n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, r, err := st.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		kb = binary.AppendUvarint(kb[:0], uint64(rec.DB))
		kb = append(kb, rec.Key...)
		cd := chunk[string(kb)]
		if cd == nil {
			continue
		}
		if !cd.have[i] {
			found++
		}
		if err := fn(cd, rec, r); err != nil {
			return err
		}
	}
	return nil
}

func (c *comparer) readValue(rec *rdb.Record, r *rdb.Reader) (*rdb.Value, error) {
	v, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	if v.Type == rdb.TypeHash && c.cutoff != 0 {
		kept := v.Hash[:0]
		for _, f := range v.Hash {
			if f.ExpireAt != 0 && f.ExpireAt <= c.cutoff {
				continue
			}
			kept = append(kept, f)
		}
		v.Hash = kept
	}
	return v, nil
}

// spillValues reads one side's candidate values into a temporary file,
// recording where each is in its candidate (side i).
func (c *comparer) spillValues(ctx context.Context, res *Result, in Input, i int, chunk map[string]*candidate) (*os.File, error) {
	vals, err := os.CreateTemp(res.dir, "rdbdiff-values-*")
	if err != nil {
		return nil, err
	}
	vw := bufio.NewWriterSize(vals, 64<<10)
	var off int64
	var buf []byte
	each := c.eachCandidate
	if c.canReadInPlace(in, i, chunk) {
		each = c.eachInPlace
	}
	err = each(ctx, in, i, chunk, func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error {
		if isCollection(rec.Type) {
			// Element by element, so that no collection is held whole.
			buf = append(buf[:0], byte(rec.Type))
			start := off
			var n int64
			for {
				e, err := r.NextElement()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				if rec.Type == rdb.TypeHash && c.cutoff != 0 && e.ExpireAt != 0 && e.ExpireAt <= c.cutoff {
					continue // expired as of the comparison
				}
				buf = appendElement(buf, rec.Type, &e)
				n++
				if len(buf) >= 64<<10 {
					if _, err := vw.Write(buf); err != nil {
						return err
					}
					off += int64(len(buf))
					buf = buf[:0]
				}
			}
			_, err := vw.Write(buf)
			off += int64(len(buf))
			cd.have[i], cd.off[i], cd.len[i], cd.n[i] = true, start, off-start, n
			if cap(buf) > 1<<20 {
				buf = nil
			}
			return err
		}
		v, err := c.readValue(rec, r)
		if err != nil {
			return err
		}
		if buf, err = encodeValue(buf[:0], v); err != nil {
			return err
		}
		cd.have[i], cd.off[i], cd.len[i] = true, off, int64(len(buf))
		off += int64(len(buf))
		_, err = vw.Write(buf)
		if cap(buf) > 1<<20 {
			buf = nil
		}
		return err
	})
	if err == nil {
		err = vw.Flush()
	}
	if err != nil {
		removeFile(vals)
		return nil, err
	}
	return vals, nil
}

// detailChunk describes the differences of a chunk of candidates: both
// inputs are read at once, each side's values going to a temporary file,
// then the values are compared pair by pair.
func (c *comparer) detailChunk(ctx context.Context, res *Result, chunk map[string]*candidate, results *resultLog) error {
	var vals [2]*os.File
	var errs [2]error
	var wg sync.WaitGroup
	for i, in := range []Input{c.a.in, c.b.in} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			vals[i], errs[i] = c.spillValues(ctx, res, in, i, chunk)
		}()
	}
	wg.Wait()
	defer removeFile(vals[0])
	defer removeFile(vals[1])
	if err := errors.Join(errs[:]...); err != nil {
		return err
	}
	if res.details == nil {
		var err error
		if res.details, err = os.CreateTemp(res.dir, "rdbdiff-details-*"); err != nil {
			return err
		}
	}
	end, err := res.details.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	dw := bufio.NewWriterSize(res.details, 64<<10)
	cds := make([]*candidate, 0, len(chunk))
	for _, cd := range chunk {
		if cd.have[0] && cd.have[1] {
			cds = append(cds, cd)
		}
	}
	slices.SortFunc(cds, func(a, b *candidate) int { return cmp.Compare(a.idx, b.idx) })
	var lb []byte
	for _, cd := range cds {
		d, err := c.detailsOf(cd, vals, res.dir)
		if err != nil {
			return err
		}
		if d == nil {
			continue
		}
		// A key flagged for confirmation differs only if a field TTL
		// differs beyond the tolerance.
		var dr detailResult
		if cd.confirm && d.Added == nil && d.Removed == nil && d.Changed == nil && d.FieldTTL == nil && d.List == nil && len(d.Meta) == 0 && d.Groups == nil && d.Module == nil && d.OldSHA256 == d.NewSHA256 {
			if cd.ttl {
				dr.kind = TTLChanged // the key's own TTL still differs
			} else {
				dr.drop = true
			}
			if err := results.add(cd.idx, dr); err != nil {
				return err
			}
			continue
		}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		lb = binary.AppendUvarint(lb[:0], uint64(len(b)))
		if _, err := dw.Write(lb); err != nil {
			return err
		}
		if _, err := dw.Write(b); err != nil {
			return err
		}
		dr.off = end + 1
		end += int64(len(lb) + len(b))
		if err := results.add(cd.idx, dr); err != nil {
			return err
		}
	}
	return dw.Flush()
}

// detailsOf compares a candidate's two values: in memory when they are
// small enough, else (collections) element by element from the values
// files.
func (c *comparer) detailsOf(cd *candidate, vals [2]*os.File, dir string) (*Details, error) {
	typ := rdb.Type(0)
	var b [1]byte
	for i := range vals {
		if cd.len[i] == 0 {
			return nil, errValueCodec
		}
		if _, err := vals[i].ReadAt(b[:], cd.off[i]); err != nil {
			return nil, fmt.Errorf("reading back a spilled value: %w", err)
		}
		if i == 0 {
			typ = rdb.Type(b[0])
		} else if rdb.Type(b[0]) != typ {
			return nil, nil // the types differ: not a value change
		}
	}
	budget := c.opts.MemLimit / inMemoryShare
	if isCollection(typ) && cd.len[0]+cd.len[1]+(cd.n[0]+cd.n[1])*elemCost > budget {
		var r [2]region
		for i := range r {
			r[i] = region{f: vals[i], off: cd.off[i] + 1, size: cd.len[i] - 1, n: cd.n[i]}
		}
		d := &Details{}
		if typ == rdb.TypeList {
			return d, c.listDetails(d, &listSeq{reg: r[0], file: true}, &listSeq{reg: r[1], file: true})
		}
		return d, c.collectionDetails(d, typ, dir, r[0], r[1], partsFor(r[0].size, r[0].n, budget))
	}
	var v [2]*rdb.Value
	for i := range v {
		buf := make([]byte, cd.len[i])
		if _, err := vals[i].ReadAt(buf, cd.off[i]); err != nil {
			return nil, fmt.Errorf("reading back a spilled value: %w", err)
		}
		var err error
		if v[i], err = decodeValue(buf); err != nil {
			return nil, err
		}
	}
	return c.compareValues(v[0], v[1])
}

// readDetails reads details stored at off (offset+1).
func (res *Result) readDetails(off int64) (*Details, error) {
	br := bufio.NewReader(io.NewSectionReader(res.details, off-1, 1<<62))
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	d := &Details{}
	return d, json.Unmarshal(b, d)
}
