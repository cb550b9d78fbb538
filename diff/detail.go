package diff

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
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

func (c *comparer) items(count int64, list []Item) *Items {
	if count == 0 {
		return nil
	}
	if list == nil {
		list = []Item{}
	}
	return &Items{Count: count, Items: list}
}

func (c *comparer) fieldTTLDiffers(a, b int64) bool {
	if c.opts.IgnoreTTL {
		return false
	}
	return c.ttlDiffers(a, b)
}

func i64(v int64) *int64 { return &v }
func expPtr(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func preview(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// compareValues describes how b differs from a (same type).
func (c *comparer) compareValues(a, b *rdb.Value) (*Details, error) {
	max := c.opts.MaxDetails
	d := &Details{}
	switch a.Type {
	case rdb.TypeString:
		d.OldLen, d.NewLen = int64(len(a.String)), int64(len(b.String))
		ha, hb := sha256.Sum256(a.String), sha256.Sum256(b.String)
		d.OldSHA256, d.NewSHA256 = hex.EncodeToString(ha[:]), hex.EncodeToString(hb[:])
		if d.OldSHA256 != d.NewSHA256 {
			d.OldPreview, d.NewPreview = preview(a.String), preview(b.String)
		}
	case rdb.TypeList:
		if err := c.listDetails(d, memList(a.Items), memList(b.Items)); err != nil {
			return nil, err
		}
	case rdb.TypeSet:
		d.OldLen, d.NewLen = int64(len(a.Items)), int64(len(b.Items))
		inA := make(map[string]bool, len(a.Items))
		for _, m := range a.Items {
			inA[string(m)] = true
		}
		var added, removed [][]byte
		for _, m := range b.Items {
			if !inA[string(m)] {
				added = append(added, m)
			} else {
				delete(inA, string(m))
			}
		}
		for m := range inA {
			removed = append(removed, []byte(m))
		}
		d.Added = c.memberItems(added)
		d.Removed = c.memberItems(removed)
	case rdb.TypeZSet:
		d.OldLen, d.NewLen = int64(len(a.ZSet)), int64(len(b.ZSet))
		inA := make(map[string]float64, len(a.ZSet))
		for _, m := range a.ZSet {
			inA[string(m.Member)] = m.Score
		}
		var added, removed, changed []Item
		var nAdd, nRem, nChg int64
		for _, m := range b.ZSet {
			old, ok := inA[string(m.Member)]
			if !ok {
				nAdd++
				s := Score(m.Score)
				added = append(added, Item{Member: m.Member, NewScore: &s})
				continue
			}
			delete(inA, string(m.Member))
			if scoreBits(old) != scoreBits(m.Score) {
				nChg++
				so, sn := Score(old), Score(m.Score)
				changed = append(changed, Item{Member: m.Member, OldScore: &so, NewScore: &sn})
			}
		}
		for m, sc := range inA {
			nRem++
			s := Score(sc)
			removed = append(removed, Item{Member: []byte(m), OldScore: &s})
		}
		d.Added = c.items(nAdd, firstByMember(added, max))
		d.Removed = c.items(nRem, firstByMember(removed, max))
		d.Changed = c.items(nChg, firstByMember(changed, max))
	case rdb.TypeHash:
		d.OldLen, d.NewLen = int64(len(a.Hash)), int64(len(b.Hash))
		inA := make(map[string]rdb.HashField, len(a.Hash))
		for _, f := range a.Hash {
			inA[string(f.Field)] = f
		}
		var added, removed, changed, ttl []Item
		var nAdd, nRem, nChg, nTTL int64
		for _, f := range b.Hash {
			old, ok := inA[string(f.Field)]
			if !ok {
				nAdd++
				added = append(added, Item{Member: f.Field, Value: f.Value, NewExpireAt: expPtr(f.ExpireAt)})
				continue
			}
			delete(inA, string(f.Field))
			if !bytes.Equal(old.Value, f.Value) {
				nChg++
				changed = append(changed, Item{Member: f.Field, Old: old.Value, New: f.Value})
			}
			if c.fieldTTLDiffers(old.ExpireAt, f.ExpireAt) {
				nTTL++
				ttl = append(ttl, Item{Member: f.Field, OldExpireAt: expPtr(old.ExpireAt), NewExpireAt: expPtr(f.ExpireAt)})
			}
		}
		for _, f := range inA {
			nRem++
			removed = append(removed, Item{Member: f.Field, Value: f.Value, OldExpireAt: expPtr(f.ExpireAt)})
		}
		d.Added = c.items(nAdd, firstByMember(added, max))
		d.Removed = c.items(nRem, firstByMember(removed, max))
		d.Changed = c.items(nChg, firstByMember(changed, max))
		d.FieldTTL = c.items(nTTL, firstByMember(ttl, max))
	case rdb.TypeStream:
		c.streamDetails(d, a.Stream, b.Stream)
	case rdb.TypeModule:
		if a.Module.Name != b.Module.Name || !bytes.Equal(a.Module.Raw, b.Module.Raw) {
			d.Module = &MetaChange{Name: "module", Old: fmt.Sprintf("%s, %d bytes", a.Module.Name, len(a.Module.Raw)), New: fmt.Sprintf("%s, %d bytes", b.Module.Name, len(b.Module.Raw))}
		}
	}
	return d, nil
}

func (c *comparer) memberItems(ms [][]byte) *Items {
	if len(ms) == 0 {
		return nil
	}
	sort.Slice(ms, func(i, j int) bool { return bytes.Compare(ms[i], ms[j]) < 0 })
	n := min(len(ms), c.opts.MaxDetails)
	out := make([]Item, n)
	for i := range out {
		out[i] = Item{Member: ms[i]}
	}
	return &Items{Count: int64(len(ms)), Items: out}
}

func firstByMember(it []Item, n int) []Item {
	sort.Slice(it, func(i, j int) bool { return bytes.Compare(it[i].Member, it[j].Member) < 0 })
	if len(it) > n {
		it = it[:n]
	}
	return it
}

// overlap returns the smallest shift h for which x[h:] and y start alike
// over m = min(len(x)-h, len(y)) > 0 elements, or -1. It reads both in
// order (x once, and from each candidate h on), so lists in files need
// no memory.
func overlap(x, y *listSeq, budget *int) (h, m int, err error) {
	if y.len() == 0 {
		return -1, 0, nil
	}
	var xc, yc, x2, y2 listCur
	y.at(&yc, 0)
	y0 := bytes.Clone(yc.next())
	x.at(&xc, 0)
	for h = 0; h < x.len(); h++ {
		if !bytes.Equal(xc.next(), y0) {
			continue
		}
		m = min(x.len()-h, y.len())
		ok := true
		if m > 1 {
			x2.copyFrom(&xc)
			y2.copyFrom(&yc)
			for i := 1; i < m; i++ {
				*budget--
				if !bytes.Equal(x2.next(), y2.next()) {
					ok = false
					break
				}
			}
			if err := errors.Join(x2.err, y2.err); err != nil {
				return -1, 0, err
			}
		}
		if *budget < 0 {
			return -1, 0, nil
		}
		if ok {
			return h, m, nil
		}
	}
	return -1, 0, errors.Join(xc.err, yc.err)
}

// listItems appends to items, up to max of them, the elements of s from
// index from to index to, as added or removed items.
func listItems(items []Item, s *listSeq, from, to int64, max int) ([]Item, error) {
	if from >= to || len(items) >= max {
		return items, nil
	}
	var c listCur
	s.at(&c, int(from))
	for i := from; i < to && len(items) < max; i++ {
		v := c.next()
		if c.err != nil {
			return nil, c.err
		}
		items = append(items, Item{Index: i64(i), Value: bytes.Clone(v)})
	}
	return items, c.err
}

func (c *comparer) listDetails(d *Details, a, b *listSeq) error {
	max := c.opts.MaxDetails
	la, lb := a.len(), b.len()
	d.OldLen, d.NewLen = int64(la), int64(lb)
	budget := 20_000_000
	var ends *ListEnds
	h, m, err := overlap(a, b, &budget)
	if err != nil {
		return err
	}
	// Require the kept part to be a real share of the list, so that two
	// unrelated lists that happen to share one element are not "moved".
	if h >= 0 && 2*m >= min(la, lb) {
		ends = &ListEnds{HeadRemoved: int64(h)}
		if m == lb {
			ends.TailRemoved = int64(la - h - lb)
		} else {
			ends.TailAdded = int64(lb - m)
		}
	} else {
		g, m, err := overlap(b, a, &budget)
		if err != nil {
			return err
		}
		if g >= 0 && 2*m >= min(la, lb) {
			ends = &ListEnds{HeadAdded: int64(g)}
			if m == la {
				ends.TailAdded = int64(lb - g - la)
			} else {
				ends.TailRemoved = int64(la - m)
			}
		}
	}
	if ends != nil && *ends != (ListEnds{}) {
		d.List = ends
		var removed, added []Item
		var err error
		if removed, err = listItems(removed, a, 0, ends.HeadRemoved, max); err != nil {
			return err
		}
		if removed, err = listItems(removed, a, int64(la)-ends.TailRemoved, int64(la), max); err != nil {
			return err
		}
		if added, err = listItems(added, b, 0, ends.HeadAdded, max); err != nil {
			return err
		}
		if added, err = listItems(added, b, int64(lb)-ends.TailAdded, int64(lb), max); err != nil {
			return err
		}
		d.Removed = c.items(ends.HeadRemoved+ends.TailRemoved, removed)
		d.Added = c.items(ends.HeadAdded+ends.TailAdded, added)
		return nil
	}
	// Position by position.
	var changed []Item
	var nChg int64
	n := min(la, lb)
	var ca, cb listCur
	a.at(&ca, 0)
	b.at(&cb, 0)
	for i := 0; i < n; i++ {
		x, y := ca.next(), cb.next()
		if !bytes.Equal(x, y) {
			nChg++
			if len(changed) < max {
				changed = append(changed, Item{Index: i64(int64(i)), Old: bytes.Clone(x), New: bytes.Clone(y)})
			}
		}
	}
	if err := errors.Join(ca.err, cb.err); err != nil {
		return err
	}
	removed, err := listItems(nil, a, int64(n), int64(la), max)
	if err != nil {
		return err
	}
	added, err := listItems(nil, b, int64(n), int64(lb), max)
	if err != nil {
		return err
	}
	d.Changed = c.items(nChg, changed)
	d.Removed = c.items(int64(la-n), removed)
	d.Added = c.items(int64(lb-n), added)
	return nil
}

func joinFields(f [][]byte) []byte {
	var b []byte
	for i, x := range f {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, x...)
	}
	return b
}

func idLess(a, b rdb.StreamID) bool { return a.Ms < b.Ms || (a.Ms == b.Ms && a.Seq < b.Seq) }

func (c *comparer) streamDetails(d *Details, a, b *rdb.StreamValue) {
	max := c.opts.MaxDetails
	d.OldLen, d.NewLen = int64(len(a.Entries)), int64(len(b.Entries))
	ea, eb := a.Entries, b.Entries
	sort.SliceStable(ea, func(i, j int) bool { return idLess(ea[i].ID, ea[j].ID) })
	sort.SliceStable(eb, func(i, j int) bool { return idLess(eb[i].ID, eb[j].ID) })
	var added, removed, changed []Item
	var nAdd, nRem, nChg int64
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j >= len(eb) || (i < len(ea) && idLess(ea[i].ID, eb[j].ID)):
			nRem++
			if len(removed) < max {
				removed = append(removed, Item{ID: ea[i].ID.String(), Value: joinFields(ea[i].Fields)})
			}
			i++
		case i >= len(ea) || idLess(eb[j].ID, ea[i].ID):
			nAdd++
			if len(added) < max {
				added = append(added, Item{ID: eb[j].ID.String(), Value: joinFields(eb[j].Fields)})
			}
			j++
		default:
			fa, fb := joinFields(ea[i].Fields), joinFields(eb[j].Fields)
			if len(ea[i].Fields) != len(eb[j].Fields) || !bytes.Equal(fa, fb) {
				nChg++
				if len(changed) < max {
					changed = append(changed, Item{ID: ea[i].ID.String(), Old: fa, New: fb})
				}
			}
			i++
			j++
		}
	}
	d.Added = c.items(nAdd, added)
	d.Removed = c.items(nRem, removed)
	d.Changed = c.items(nChg, changed)
	meta := func(name string, old, new any) {
		if fmt.Sprint(old) != fmt.Sprint(new) {
			d.Meta = append(d.Meta, MetaChange{Name: name, Old: old, New: new})
		}
	}
	meta("length", a.Length, b.Length)
	meta("last-generated-id", a.LastID.String(), b.LastID.String())
	both2 := a.Version >= 2 && b.Version >= 2
	if both2 {
		meta("recorded-first-entry-id", a.FirstID.String(), b.FirstID.String())
		meta("max-deleted-entry-id", a.MaxDeletedID.String(), b.MaxDeletedID.String())
		meta("entries-added", a.EntriesAdded, b.EntriesAdded)
	}
	ga := map[string]*rdb.StreamGroup{}
	for k := range a.Groups {
		ga[string(a.Groups[k].Name)] = &a.Groups[k]
	}
	gd := &GroupDiff{}
	for k := range b.Groups {
		g := &b.Groups[k]
		old := ga[string(g.Name)]
		if old == nil {
			gd.Added = append(gd.Added, string(g.Name))
			continue
		}
		delete(ga, string(g.Name))
		name := "group " + string(g.Name) + " "
		ch := func(what string, o, n any) {
			if fmt.Sprint(o) != fmt.Sprint(n) {
				gd.Changed = append(gd.Changed, MetaChange{Name: name + what, Old: o, New: n})
			}
		}
		ch("last-delivered-id", old.LastID.String(), g.LastID.String())
		if both2 {
			ch("entries-read", old.EntriesRead, g.EntriesRead)
		}
		ch("pel-count", len(old.Pending), len(g.Pending))
		ch("consumers", consumerNames(old), consumerNames(g))
		ch("pending", pendingSig(old), pendingSig(g))
		ch("consumer-state", consumerSig(old), consumerSig(g))
	}
	for name := range ga {
		gd.Removed = append(gd.Removed, name)
	}
	sort.Strings(gd.Added)
	sort.Strings(gd.Removed)
	if len(gd.Added)+len(gd.Removed)+len(gd.Changed) > 0 {
		d.Groups = gd
	}
}

func consumerNames(g *rdb.StreamGroup) []string {
	var out []string
	for _, c := range g.Consumers {
		out = append(out, string(c.Name))
	}
	sort.Strings(out)
	return out
}

func pendingSig(g *rdb.StreamGroup) string {
	h := sha256.New()
	for _, p := range g.Pending {
		fmt.Fprintf(h, "%s %q %d %d\n", p.ID, p.Consumer, p.DeliveryTime, p.DeliveryCount)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func consumerSig(g *rdb.StreamGroup) string {
	h := sha256.New()
	for _, c := range g.Consumers {
		fmt.Fprintf(h, "%q %d %v\n", c.Name, c.SeenTime, c.Pending)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
