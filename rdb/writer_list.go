package rdb

import "github.com/rdbtool/rdbtool/rdb/compact"

func (c *CollectionWriter) closeList6() error {
	lim := &c.w.lim
	if c.n <= int64(lim.ListMaxZiplistEntries) && c.maxLen <= lim.ListMaxZiplistValue {
		var zb compact.ZiplistBuilder
		if err := c.elements(func(e Element) error { zb.Append(e.Member); return nil }); err != nil {
			return err
		}
		return c.blob(typeListZiplist, zb.Bytes())
	}
	return c.plainBody(typeList)
}

// qlBuilder cuts a list into quicklist nodes as the target server does when
// elements are pushed at the tail, and spools the encoded nodes.
type qlBuilder struct {
	w      *Writer
	v2     bool // RDB 10+: listpack nodes with a container byte
	lb     compact.ListpackBuilder
	zb     compact.ZiplistBuilder
	count  int
	nodes  uint64
	first  bool // still the first node of a 7.2+ list (a plain listpack)
	sp     spool
	enc    []byte
	lzf    []byte
	nodeSz int
}

func newQLBuilder(w *Writer) *qlBuilder {
	q := &qlBuilder{w: w, v2: w.t.at(10), first: w.t.at(11)}
	q.sp.limit, q.sp.dir = w.opt.SpoolMemory, w.opt.SpoolDir
	return q
}

func (q *qlBuilder) reset() {
	q.lb.Reset()
	q.zb.Reset()
	q.count, q.nodes, q.nodeSz = 0, 0, 0
	q.sp.release()
}

var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

func sizeLimit(fill int) int {
	off := -fill - 1
	if off >= len(optimizationLevel) {
		off = len(optimizationLevel) - 1
	}
	return optimizationLevel[off]
}

// allow reports whether an element of sz bytes joins the current node.
func (q *qlBuilder) allow(sz int) bool {
	if q.count == 0 {
		return false
	}
	fill := q.w.lim.ListMaxSize
	cur := q.nodeSz
	switch {
	case q.w.t.at(11):
		if q.first && q.nodes == 0 {
			// listTypeTryConvertListpack: the list is still one listpack.
			return !exceedsLimit(fill, cur+sz, q.count+1)
		}
		return !exceedsLimit(fill, cur+sz+8, q.count+1)
	case q.v2:
		newSz := cur + sz + 8
		if fill < 0 && newSz <= sizeLimit(fill) {
			return true
		}
		if newSz > 8192 {
			return false
		}
		return q.count < fill
	}
	ov := 1
	if sz >= 254 {
		ov = 5
	}
	switch {
	case sz < 64:
		ov++
	case sz < 16384:
		ov += 2
	default:
		ov += 5
	}
	newSz := cur + sz + ov
	if fill < 0 && newSz <= sizeLimit(fill) {
		return true
	}
	if newSz > 8192 {
		return false
	}
	return q.count < fill
}

func exceedsLimit(fill, newSz, newCount int) bool {
	if fill < 0 {
		return newSz > sizeLimit(fill)
	}
	if newSz > 8192 {
		return true
	}
	cl := fill
	if cl == 0 {
		cl = 1
	}
	return newCount > cl
}

// add adds the list element elem. When isInt, elem is the canonical decimal
// text of iv (see CollectionWriter.memInt), or nil for that text (the
// reader's valueState.lazyInt): Append would parse it back to iv and store
// it with AppendInt, which is called directly.
func (q *qlBuilder) add(elem []byte, isInt bool, iv int64) error {
	n := len(elem)
	if isInt && elem == nil {
		n = decLen(iv)
		if q.v2 && n >= q.w.lim.ListPackedThreshold {
			var tmp [20]byte
			elem = appendInt(tmp[:0], iv)
		}
	}
	if q.v2 && n >= q.w.lim.ListPackedThreshold {
		if err := q.flushNode(); err != nil {
			return err
		}
		q.enc = appendLen(q.enc[:0], 1) // PLAIN
		q.enc = encStr(q.enc, elem, q.w.o.compress, &q.lzf)
		q.nodes++
		return q.sp.write(q.enc)
	}
	if !q.allow(n) {
		if err := q.flushNode(); err != nil {
			return err
		}
	}
	switch {
	case q.v2 && isInt:
		q.lb.AppendInt(iv)
		q.nodeSz = len(q.lb.Bytes())
	case q.v2:
		q.lb.Append(elem)
		q.nodeSz = len(q.lb.Bytes())
	case isInt:
		q.zb.AppendInt(iv)
		q.nodeSz = len(q.zb.Bytes())
	default:
		q.zb.Append(elem)
		q.nodeSz = len(q.zb.Bytes())
	}
	q.count++
	return nil
}

// decLen returns the length of v's decimal text, len(appendInt(nil, v)).
func decLen(v int64) int {
	n, u := 0, uint64(v)
	if v < 0 {
		n, u = 1, -u
	}
	d := 1
	for d < len(pow10) && u >= pow10[d] {
		d++
	}
	return n + d
}

// pow10[i] is 10^i, up to the largest power of ten below 2^64.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func (q *qlBuilder) flushNode() error {
	if q.count == 0 {
		return nil
	}
	q.enc = q.enc[:0]
	var blob []byte
	if q.v2 {
		q.enc = appendLen(q.enc, 2) // PACKED
		blob = q.lb.Bytes()
	} else {
		blob = q.zb.Bytes()
	}
	if st := q.w.storedNode(blob); st != nil {
		q.enc = appendStored(q.enc, blob, st)
	} else {
		q.enc = encStr(q.enc, blob, q.w.o.compress, &q.lzf)
	}
	q.lb.Reset()
	q.zb.Reset()
	q.count, q.nodeSz = 0, 0
	q.nodes++
	return q.sp.write(q.enc)
}

func (q *qlBuilder) finish(h *KeyHeader) error {
	defer q.sp.release()
	if err := q.flushNode(); err != nil {
		return err
	}
	w := q.w
	typ := byte(typeListQuicklist)
	if q.v2 {
		typ = typeListQuicklist2
	}
	if err := w.keyHeader(h, typ); err != nil {
		return err
	}
	w.o.len(q.nodes)
	return q.sp.copyTo(&w.o)
}
