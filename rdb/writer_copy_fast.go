package rdb

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

// Fast paths of CopyValue for values the source stored in a compact
// encoding (a listpack, ziplist or intset blob, or quicklist nodes). The
// general path hands every element through NextElement and
// CollectionWriter.Add, spools it framed, reads it back and builds the
// target's blob from that; here the source's entries are walked with the
// compact iterators and the target's blob is built from them in one pass.
//
// Each fast path takes the decisions of the general path (the closeX
// methods of CollectionWriter) in the same order on the same facts, so the
// bytes written are the same. Whenever a value needs anything the fast path
// does not do itself (a limit exceeded, so a plain encoding; members out of
// order; a duplicate; a score that does not parse; a blob that does not
// validate), it leaves the reader at the start of the value's elements and
// the general path takes over, with its own errors and encodings.

// compactScratch is what the fast paths reuse from one value to the next.
type compactScratch struct {
	ents  []compact.Entry
	text  []byte   // decimal text of integer entries, and members to compare
	offs  []int    // ends of the texts in text
	views [][]byte // slices of text, for sorting
	ints  []int64
	zs    []float64
}

// entLen is the length of an entry's string form.
func entLen(e *compact.Entry) int {
	if e.IsInt {
		return decLen(e.Int)
	}
	return len(e.Str)
}

// copyCompact copies the current value of r through a fast path if it
// can. handled reports that it did (err then being the outcome); when it
// is false, nothing was written and r is at the start of the value's
// elements.
func (w *Writer) copyCompact(r *Reader, c *CollectionWriter) (handled bool, err error) {
	v := &r.val
	switch v.typ {
	case typeListQuicklist, typeListQuicklist2, typeListZiplist:
		if c.ql == nil {
			return false, nil
		}
		return true, w.copyListNodes(r, c)
	case typeHashListpack, typeHashZiplist, typeZSetListpack, typeZSetZiplist, typeSetIntset, typeSetListpack:
	default:
		return false, nil
	}
	if err := r.startElements(); err != nil {
		w.inValue = false
		c.sp.release()
		return true, err
	}
	var blob []byte
	var typ byte
	switch v.typ {
	case typeSetIntset:
		blob, typ = w.intsetFast(r)
	case typeHashListpack, typeHashZiplist:
		blob, typ = w.hashFast(r)
	case typeZSetListpack, typeZSetZiplist:
		blob, typ = w.zsetFast(r)
	case typeSetListpack:
		blob, typ = w.setFast(r)
	}
	if typ == 0 {
		return false, nil
	}
	r.endValue()
	w.inValue = false
	c.sp.release()
	return true, c.blob(typ, blob)
}

// entries collects the entries of the current listpack or ziplist blob of
// r into w.cs.ents, without moving r's own iterator. ok is false when the
// blob does not validate.
func (w *Writer) entries(r *Reader) ([]compact.Entry, bool) {
	v := &r.val
	ents := w.cs.ents[:0]
	switch v.inner {
	case innerListpack:
		it := v.lp
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			ents = append(ents, e)
		}
		if it.Err() != nil {
			return nil, false
		}
	case innerZiplist:
		it := v.zl
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			ents = append(ents, e)
		}
		if it.Err() != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	w.cs.ents = ents
	return ents, true
}

// texts renders the string forms of the entries ents[start], ents[start+step], ...
// into w.cs.views (integer entries as decimal text).
func (w *Writer) texts(ents []compact.Entry, start, step int) [][]byte {
	cs := &w.cs
	cs.text, cs.offs = cs.text[:0], cs.offs[:0]
	for i := start; i < len(ents); i += step {
		if e := &ents[i]; e.IsInt {
			cs.text = appendInt(cs.text, e.Int)
		} else {
			cs.text = append(cs.text, e.Str...)
		}
		cs.offs = append(cs.offs, len(cs.text))
	}
	cs.views = cs.views[:0]
	from := 0
	for _, end := range cs.offs {
		cs.views = append(cs.views, cs.text[from:end:end])
		from = end
	}
	return cs.views
}

// hasDup reports whether two of views are equal. It reorders views.
func hasDup(views [][]byte) bool {
	if len(views) <= 8 {
		for i := range views {
			for j := i + 1; j < len(views); j++ {
				if bytes.Equal(views[i], views[j]) {
					return true
				}
			}
		}
		return false
	}
	slices.SortFunc(views, bytes.Compare)
	for i := 1; i < len(views); i++ {
		if bytes.Equal(views[i], views[i-1]) {
			return true
		}
	}
	return false
}

// hashFast is closeHash for a hash without field TTLs that stays compact.
func (w *Writer) hashFast(r *Reader) ([]byte, byte) {
	ents, ok := w.entries(r)
	if !ok || len(ents)%2 != 0 || len(ents) == 0 { // empty: the general path leaves it out
		return nil, 0
	}
	n := len(ents) / 2
	maxLen := 0
	for i := range ents {
		maxLen = max(maxLen, entLen(&ents[i]))
	}
	if n > w.lim.HashMaxEntries || maxLen > w.lim.HashMaxValue || hasDup(w.texts(ents, 0, 2)) {
		return nil, 0
	}
	if w.t.at(10) {
		lb := &w.lb
		lb.Reset()
		for i := range ents {
			lb.AppendEntry(ents[i])
		}
		return lb.Bytes(), typeHashListpack
	}
	zb := &w.zb
	zb.Reset()
	for i := range ents {
		zb.AppendEntry(ents[i])
	}
	return zb.Bytes(), typeHashZiplist
}

// zsetFast is closeZSet for a sorted set that stays compact and whose
// members the source stored in the order closeZSet sorts them into.
func (w *Writer) zsetFast(r *Reader) ([]byte, byte) {
	ents, ok := w.entries(r)
	if !ok || len(ents)%2 != 0 || len(ents) == 0 { // empty: the general path leaves it out
		return nil, 0
	}
	n := len(ents) / 2
	if n > w.lim.ZSetMaxEntries {
		return nil, 0
	}
	zs := w.cs.zs[:0]
	for i := 1; i < len(ents); i += 2 {
		e := &ents[i]
		var s float64
		if e.IsInt {
			s = float64(e.Int)
		} else {
			var err error
			if s, err = parseScore(e.Str); err != nil {
				return nil, 0
			}
		}
		if math.IsNaN(s) || entLen(&ents[i-1]) > w.lim.ZSetMaxValue {
			return nil, 0
		}
		zs = append(zs, s)
	}
	w.cs.zs = zs
	members := w.texts(ents, 0, 2)
	for i := 1; i < n; i++ {
		// Strictly increasing by (score, member), so already in
		// closeZSet's order, and no neighbours with equal members.
		if zs[i] < zs[i-1] || zs[i] == zs[i-1] && bytes.Compare(members[i], members[i-1]) <= 0 {
			return nil, 0
		}
		if bytes.Equal(members[i], members[i-1]) {
			return nil, 0
		}
	}
	// A member repeated with another score is not a neighbour: the
	// general path refuses it.
	if hasDup(append([][]byte(nil), members...)) {
		return nil, 0
	}
	if w.t.at(10) {
		lb := &w.lb
		lb.Reset()
		for i := 0; i < n; i++ {
			lb.AppendEntry(ents[2*i])
			if v, ok := double2ll(zs[i]); ok {
				lb.AppendInt(v)
			} else {
				w.scoreBuf = w.appendScoreText(w.scoreBuf[:0], zs[i])
				lb.Append(w.scoreBuf)
			}
		}
		return lb.Bytes(), typeZSetListpack
	}
	zb := &w.zb
	zb.Reset()
	for i := 0; i < n; i++ {
		zb.Append(members[i])
		zb.Append(d2stringOld(zs[i]))
	}
	return zb.Bytes(), typeZSetZiplist
}

// intsetFast is closeSet for an intset source that stays an intset.
func (w *Writer) intsetFast(r *Reader) ([]byte, byte) {
	it := r.val.is
	ints := w.cs.ints[:0]
	for x, ok := it.Next(); ok; x, ok = it.Next() {
		ints = append(ints, x)
	}
	w.cs.ints = ints
	if it.Err() != nil || len(ints) > w.lim.SetMaxIntsetEntries || len(ints) == 0 {
		return nil, 0
	}
	// The iterator checked that the members strictly increase.
	return compact.BuildIntset(ints), typeSetIntset
}

// setFast is closeSet for a listpack set that becomes an intset or stays a
// listpack.
func (w *Writer) setFast(r *Reader) ([]byte, byte) {
	ents, ok := w.entries(r)
	if !ok || len(ents) == 0 { // empty: the general path leaves it out
		return nil, 0
	}
	lim := &w.lim
	n := len(ents)
	// As CollectionWriter.add: the leading run of integer members, and
	// whether all are integers (within the intset limit).
	ints := w.cs.ints[:0]
	allInts, nInts, intsDone, maxLen := true, 0, false, 0
	for i := range ents {
		e := &ents[i]
		x, isInt := e.Int, e.IsInt
		if !isInt {
			x, isInt = compact.ParseRedisInt(e.Str)
		}
		if allInts {
			if isInt && i+1 <= lim.SetMaxIntsetEntries {
				ints = append(ints, x)
			} else {
				allInts = false
			}
		}
		if !intsDone {
			if isInt {
				nInts++
			} else {
				intsDone = true
			}
		}
		maxLen = max(maxLen, entLen(e))
	}
	if hasDup(w.texts(ents, 0, 1)) {
		return nil, 0
	}
	if allInts && n <= lim.SetMaxIntsetEntries {
		slices.Sort(ints)
		w.cs.ints = ints
		return compact.BuildIntset(ints), typeSetIntset
	}
	if !w.t.at(11) || n > lim.SetMaxListpackEntries || maxLen > lim.SetMaxListpackValue {
		w.cs.ints = ints
		return nil, 0
	}
	// A server keeps an intset while members are integers, then converts
	// it (sorted) to a listpack: the leading integers come first, sorted.
	lead := 0
	if nInts <= lim.SetMaxIntsetEntries {
		lead = nInts
	}
	ints = ints[:0]
	for i := 0; i < lead; i++ {
		e := &ents[i]
		x := e.Int
		if !e.IsInt {
			x, _ = compact.ParseRedisInt(e.Str)
		}
		ints = append(ints, x)
	}
	slices.Sort(ints)
	w.cs.ints = ints
	lb := &w.lb
	lb.Reset()
	for _, x := range ints {
		lb.AppendInt(x)
	}
	for i := lead; i < n; i++ {
		lb.AppendEntry(ents[i])
	}
	return lb.Bytes(), typeSetListpack
}

// copyListNodes feeds a list's compact entries (quicklist nodes, or a
// ziplist) straight to the quicklist builder, as the general path does
// element by element.
func (w *Writer) copyListNodes(r *Reader, c *CollectionWriter) error {
	if err := w.addListNodes(r, c); err != nil {
		return err
	}
	return c.Close()
}

// addListNodes is copyListNodes but for closing c: for a part of a list
// (writer_parallel.go).
func (w *Writer) addListNodes(r *Reader, c *CollectionWriter) error {
	v := &r.val
	q := c.ql
	fail := func(err error) error {
		w.inValue = false
		c.sp.release()
		q.sp.release()
		return err
	}
	add := func(e compact.Entry) error {
		c.n++
		if e.IsInt {
			return q.add(nil, true, e.Int)
		}
		return q.add(e.Str, false, 0)
	}
	if !v.started {
		if err := r.startElements(); err != nil {
			return fail(err)
		}
	}
	for !v.done {
		switch v.inner {
		case innerListpack:
			for e, ok := v.lp.Next(); ok; e, ok = v.lp.Next() {
				if err := add(e); err != nil {
					return fail(err)
				}
			}
			if err := r.innerErr(v.lp.Err()); err != nil {
				return fail(err)
			}
		case innerZiplist:
			for e, ok := v.zl.Next(); ok; e, ok = v.zl.Next() {
				if err := add(e); err != nil {
					return fail(err)
				}
			}
			if err := r.innerErr(v.zl.Err()); err != nil {
				return fail(err)
			}
		case innerPlainNode:
			c.n++
			if err := q.add(v.blob, false, 0); err != nil {
				return fail(err)
			}
		}
		v.inner = innerNone
		if v.remaining == 0 {
			r.endValue()
			break
		}
		if err := r.loadNode(); err != nil {
			return fail(err)
		}
	}
	return nil
}

// copyFastPaths switches the fast paths on; tests turn them off to check
// that the output is the same.
var copyFastPaths = true

// copyPlainRun copies, straight from r's input buffer to the output, the
// run of next elements of a plain set, hash or binary-score sorted set
// (written directly: CollectionWriter.direct) that the general path would
// write exactly as the source stored them: short verbatim strings that
// out.str would not turn into integers or compress, and integer forms at
// their smallest width. It stops at the first other element, which the
// general path then reads.
func (w *Writer) copyPlainRun(r *Reader, c *CollectionWriter) {
	v := &r.val
	parts, trailer := 1, 0
	switch v.typ {
	case typeSet:
	case typeHash:
		parts = 2
	case typeZSet2:
		if !w.t.at(8) {
			return
		}
		trailer = 8
	default:
		return
	}
	// Verbatim strings over 20 bytes are copied in their stored form
	// (storedOK) when compression is on.
	long := !w.o.compress || w.copying && w.src.lzfSeen && w.srcTrusted
	in := r.in
	b := in.buf[in.r:in.w]
	checked := c.memberSet()
	var q memberRun // members are checked in batches (writer_dup.go)
	i, n, stored := 0, uint64(0), int64(0)
	for n < v.remaining {
		mark := runMark{i, n, stored}
		j := i
		memberLen := 0
		for p := 0; p < parts; p++ {
			l, ok := verbatimLen(b[j:], long)
			if !ok {
				goto done
			}
			if p == 0 {
				memberLen = l
			}
			if l > 21 {
				stored++
			}
			j += l
		}
		if trailer > 0 {
			if j+8 > len(b) || math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(b[j:]))) {
				break
			}
			j += 8
		}
		if checked {
			if back, err := q.queue(c, verbatimText(b[i:i+memberLen], &w.scratch), i, i+memberLen, mark, b); err != nil {
				c.err = err
				i, n, stored = back.i, back.n, back.stored
				break
			}
		}
		i = j
		n++
	}
done:
	if back, err := q.flush(c, b); err != nil {
		c.err = err
		i, n, stored = back.i, back.n, back.stored
	}
	if n == 0 {
		return
	}
	w.o.raw(b[:i])
	in.r += i
	v.remaining -= n
	c.n += int64(n)
	if w.o.compress {
		w.stats.StoredCopies += stored
	}
}

// verbatimText is the decoded bytes of an RDB string verbatimLen
// accepted (integers as their decimal text, in *scratch).
func verbatimText(b []byte, scratch *[]byte) []byte {
	var x int64
	switch b[0] {
	case 0xC0 | encInt8:
		x = int64(int8(b[1]))
	case 0xC0 | encInt16:
		x = int64(int16(binary.LittleEndian.Uint16(b[1:])))
	case 0xC0 | encInt32:
		x = int64(int32(binary.LittleEndian.Uint32(b[1:])))
	default:
		return b[1:]
	}
	*scratch = strconv.AppendInt((*scratch)[:0], x, 10)
	return *scratch
}

// verbatimLen returns the length of the RDB string at the start of b when
// out.str, given its decoded bytes, would write those same bytes.
func verbatimLen(b []byte, long bool) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	switch h := b[0]; {
	case h < 0x40:
		l := int(h)
		if 1+l > len(b) || l > 20 && !long {
			return 0, false
		}
		if l <= 11 {
			if x, ok := compact.ParseRedisInt(b[1 : 1+l]); ok && x >= -(1<<31) && x <= 1<<31-1 {
				return 0, false // out.str stores it as an integer
			}
		}
		return 1 + l, true
	case h == 0xC0|encInt8:
		return 2, len(b) >= 2
	case h == 0xC0|encInt16:
		if len(b) < 3 {
			return 0, false
		}
		x := int16(binary.LittleEndian.Uint16(b[1:]))
		return 3, x < -128 || x > 127
	case h == 0xC0|encInt32:
		if len(b) < 5 {
			return 0, false
		}
		x := int32(binary.LittleEndian.Uint32(b[1:]))
		return 5, x < -32768 || x > 32767
	}
	return 0, false
}
