package diff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"io"
	"math"
	"os"
	"slices"

	"github.com/rdbtool/rdbtool/rdb"
)

// Collections too large to compare in memory are compared from the values
// files, element by element: lists through cursors that read both sides
// in order, sets, sorted sets and hashes one hash partition at a time
// (one side's partition in a map, the other's streamed past it). Only
// the first Options.MaxDetails items of each detail list are kept, so the
// memory taken is that of a partition, whatever the collection's size.

// elemCost is what one element is reckoned to take in memory when a
// collection is compared whole (its slice headers, a map entry) or as
// one side's partition (a map entry), past its bytes.
const elemCost = 160

// inMemoryShare: a pair of values whose reckoned size is within
// MemLimit/inMemoryShare is compared in memory.
var inMemoryShare int64 = 8

// region is one side's value in its values file.
type region struct {
	f    *os.File
	off  int64 // the first element (past the type byte)
	size int64
	n    int64 // elements
}

func (r region) reader() *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(r.f, r.off, r.size), 16<<10)
}

// elemReader reads elements of a collection of type typ as appendElement
// wrote them. The element's slices are valid until the next call.
type elemReader struct {
	br       *bufio.Reader
	typ      rdb.Type
	mbuf     []byte
	vbuf     []byte
	consumed int64 // bytes read so far
}

var errElemCodec = errors.New("reading back a spilled collection: corrupt")

func (er *elemReader) readBytes(buf *[]byte) ([]byte, error) {
	n, err := binary.ReadUvarint(er.br)
	if err != nil {
		return nil, err
	}
	if n > 1<<40 {
		return nil, errElemCodec
	}
	er.consumed += int64(uvarintLen(n)) + int64(n)
	if uint64(cap(*buf)) < n {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := io.ReadFull(er.br, b); err != nil {
		return nil, errElemCodec
	}
	return b, nil
}

func uvarintLen(n uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], n)
}

// next returns the next element, io.EOF after the last.
func (er *elemReader) next() (rdb.Element, error) {
	var e rdb.Element
	var err error
	if e.Member, err = er.readBytes(&er.mbuf); err != nil {
		if err == io.EOF {
			return e, io.EOF
		}
		return e, errElemCodec
	}
	switch er.typ {
	case rdb.TypeZSet:
		var b [8]byte
		if _, err := io.ReadFull(er.br, b[:]); err != nil {
			return e, errElemCodec
		}
		er.consumed += 8
		e.Score = math.Float64frombits(binary.LittleEndian.Uint64(b[:]))
	case rdb.TypeHash:
		if e.Value, err = er.readBytes(&er.vbuf); err != nil {
			return e, errElemCodec
		}
		x, err := binary.ReadVarint(er.br)
		if err != nil {
			return e, errElemCodec
		}
		var b [binary.MaxVarintLen64]byte
		er.consumed += int64(binary.PutVarint(b[:], x))
		e.ExpireAt = x
	}
	return e, nil
}

// listSeq is one side's list: in memory, or a region of a values file.
type listSeq struct {
	mem  [][]byte
	reg  region
	file bool
}

func memList(items [][]byte) *listSeq { return &listSeq{mem: items} }

func (s *listSeq) len() int {
	if s.file {
		return int(s.reg.n)
	}
	return len(s.mem)
}

// listCur reads a listSeq in order from some position.
type listCur struct {
	s   *listSeq
	i   int
	er  elemReader
	err error
}

// at positions c at element i.
func (s *listSeq) at(c *listCur, i int) {
	c.s, c.i, c.err = s, 0, nil
	if !s.file {
		c.i = i
		return
	}
	c.reset(0)
	for c.i < i && c.err == nil {
		c.next()
	}
}

func (c *listCur) reset(pos int64) {
	r := c.s.reg
	sr := io.NewSectionReader(r.f, r.off+pos, r.size-pos)
	if c.er.br == nil {
		c.er.br = bufio.NewReaderSize(sr, 4<<10)
	} else {
		c.er.br.Reset(sr)
	}
	c.er.typ, c.er.consumed = rdb.TypeList, pos
}

// copyFrom positions c where d is.
func (c *listCur) copyFrom(d *listCur) {
	c.s, c.i, c.err = d.s, d.i, d.err
	if c.s.file {
		c.reset(d.er.consumed)
	}
}

// next returns the element at the cursor and moves past it; the slice is
// valid until the next call. Past the end, or after an error (kept in
// err), it returns nil.
func (c *listCur) next() []byte {
	if c.err != nil || c.i >= c.s.len() {
		return nil
	}
	c.i++
	if !c.s.file {
		return c.s.mem[c.i-1]
	}
	e, err := c.er.next()
	if err != nil {
		if err == io.EOF {
			err = errElemCodec
		}
		c.err = err
		return nil
	}
	return e.Member
}

// topItems keeps the count of a detail list and its first n items by
// member, copied.
type topItems struct {
	n     int
	count int64
	items []Item
}

func (t *topItems) add(it Item) {
	t.count++
	if len(t.items) == t.n && bytes.Compare(it.Member, t.items[t.n-1].Member) >= 0 {
		return
	}
	it.Member = bytes.Clone(it.Member)
	it.Old, it.New, it.Value = bytes.Clone(it.Old), bytes.Clone(it.New), bytes.Clone(it.Value)
	i, _ := slices.BinarySearchFunc(t.items, it.Member, func(x Item, m []byte) int { return bytes.Compare(x.Member, m) })
	t.items = slices.Insert(t.items, i, it)
	if len(t.items) > t.n {
		t.items = t.items[:t.n]
	}
}

func (c *comparer) top() *topItems { return &topItems{n: c.opts.MaxDetails} }

func (c *comparer) topResult(t *topItems) *Items { return c.items(t.count, t.items) }

var elemSeed = maphash.MakeSeed()

// partitionElems splits a region's elements into p temporary files by
// their member's hash.
func partitionElems(dir string, typ rdb.Type, r region, p int) ([]region, error) {
	files := make([]*os.File, p)
	ws := make([]*bufio.Writer, p)
	out := make([]region, p)
	fail := func(err error) ([]region, error) {
		for _, f := range files {
			removeFile(f)
		}
		return nil, err
	}
	for i := range files {
		f, err := os.CreateTemp(dir, "rdbdiff-elems-*")
		if err != nil {
			return fail(err)
		}
		files[i], ws[i] = f, bufio.NewWriterSize(f, 16<<10)
		out[i].f = f
	}
	er := elemReader{br: r.reader(), typ: typ}
	var b []byte
	for {
		e, err := er.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fail(err)
		}
		i := maphash.Bytes(elemSeed, e.Member) % uint64(p)
		b = appendElement(b[:0], typ, &e)
		if _, err := ws[i].Write(b); err != nil {
			return fail(err)
		}
		out[i].size += int64(len(b))
		out[i].n++
	}
	for _, w := range ws {
		if err := w.Flush(); err != nil {
			return fail(err)
		}
	}
	return out, nil
}

// oldElem is what a partition of side A keeps per member.
type oldElem struct {
	value string
	score float64
	exp   int64
}

// collectionDetails describes how a large set, sorted set or hash changed,
// from the two sides' regions; parts is how many hash partitions to
// compare them in.
func (c *comparer) collectionDetails(d *Details, typ rdb.Type, dir string, a, b region, parts int) error {
	d.OldLen, d.NewLen = a.n, b.n
	pa, pb := []region{a}, []region{b}
	if parts > 1 {
		var err error
		if pa, err = partitionElems(dir, typ, a, parts); err != nil {
			return err
		}
		defer removeRegions(pa)
		if pb, err = partitionElems(dir, typ, b, parts); err != nil {
			return err
		}
		defer removeRegions(pb)
	}
	added, removed, changed, ttl := c.top(), c.top(), c.top(), c.top()
	for p := range pa {
		old := make(map[string]oldElem, pa[p].n)
		er := elemReader{br: pa[p].reader(), typ: typ}
		for {
			e, err := er.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			old[string(e.Member)] = oldElem{value: string(e.Value), score: e.Score, exp: e.ExpireAt}
		}
		er = elemReader{br: pb[p].reader(), typ: typ}
		for {
			e, err := er.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			o, ok := old[string(e.Member)]
			if !ok {
				switch typ {
				case rdb.TypeSet:
					added.add(Item{Member: e.Member})
				case rdb.TypeZSet:
					s := Score(e.Score)
					added.add(Item{Member: e.Member, NewScore: &s})
				case rdb.TypeHash:
					added.add(Item{Member: e.Member, Value: e.Value, NewExpireAt: expPtr(e.ExpireAt)})
				}
				continue
			}
			delete(old, string(e.Member))
			switch typ {
			case rdb.TypeZSet:
				if scoreBits(o.score) != scoreBits(e.Score) {
					so, sn := Score(o.score), Score(e.Score)
					changed.add(Item{Member: e.Member, OldScore: &so, NewScore: &sn})
				}
			case rdb.TypeHash:
				if o.value != string(e.Value) {
					changed.add(Item{Member: e.Member, Old: []byte(o.value), New: e.Value})
				}
				if c.fieldTTLDiffers(o.exp, e.ExpireAt) {
					ttl.add(Item{Member: e.Member, OldExpireAt: expPtr(o.exp), NewExpireAt: expPtr(e.ExpireAt)})
				}
			}
		}
		for m, o := range old {
			switch typ {
			case rdb.TypeSet:
				removed.add(Item{Member: []byte(m)})
			case rdb.TypeZSet:
				s := Score(o.score)
				removed.add(Item{Member: []byte(m), OldScore: &s})
			case rdb.TypeHash:
				removed.add(Item{Member: []byte(m), Value: []byte(o.value), OldExpireAt: expPtr(o.exp)})
			}
		}
	}
	d.Added, d.Removed = c.topResult(added), c.topResult(removed)
	if typ != rdb.TypeSet {
		d.Changed = c.topResult(changed)
	}
	if typ == rdb.TypeHash {
		d.FieldTTL = c.topResult(ttl)
	}
	return nil
}

func removeRegions(rs []region) {
	for _, r := range rs {
		removeFile(r.f)
	}
}

// partsFor is how many hash partitions a collection of n elements in size
// bytes (one side) is compared in, so that one side's partition fits
// budget: never more than there are elements, nor than maxElemParts
// (each is a temporary file, open while the two sides are compared).
func partsFor(size, n, budget int64) int {
	need := size + n*elemCost
	p := (need + budget - 1) / max(budget, 1)
	return int(min(max(p, 1), max(n, 1), maxElemParts))
}

const maxElemParts = 1024
