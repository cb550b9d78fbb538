package rdb

import (
	"encoding/binary"
	"io"
	"math"
)

// Reader-side support for Writer.CopyValue: reading a value while keeping
// the form in which the source stored its strings (LZF-compressed bytes or
// verbatim), so that the Writer can copy that form instead of compressing
// the same bytes again. See storedReuse in writer_value.go for when it may.

// storedStr is how the source stored one RDB string.
type storedStr struct {
	ok   bool
	lzf  bool   // stored LZF-compressed
	dec  []byte // the decoded bytes
	comp []byte // lzf: the compressed bytes as stored
}

// srcForms holds, for the value CopyValue is copying, the stored forms of
// its compact blob or of its last two quicklist nodes. The buffers belong
// to the Writer; the Reader's blob buffer is pointed at them while a
// quicklist is read, which is harmless as both only use them for one value
// at a time.
type srcForms struct {
	blob  storedStr    // a single-blob value's blob (ziplist, intset, listpack...)
	nodes [2]storedStr // quicklists: the current node and the one before
	cur   int          // index of the current node in nodes
	dec   [2][]byte
	comp  [3][]byte
	// plain collections: the element just read (member, hash value)
	elem     [2]storedStr
	elemDec  [2][]byte
	elemComp [2][]byte
	// lzfSeen: the source has stored a string other than a quicklist node
	// LZF-compressed, so it was saved with compression on (a server saves
	// its whole snapshot under one rdbcompression setting; quicklist nodes
	// can be LZF from list-compress-depth even with rdbcompression off).
	lzfSeen bool
}

func (s *srcForms) reset() {
	s.blob.ok = false
	s.nodes[0].ok, s.nodes[1].ok = false, false
	s.elem[0].ok, s.elem[1].ok = false, false
}

// readStringStoredBody reads the body of a string whose header is h into
// st: decoded bytes appended to dec, compressed ones (for LZF) to comp.
func (r *Reader) readStringStoredBody(h stringHeader, st *storedStr, dec, comp []byte, what string) error {
	st.ok, st.lzf = true, false
	var err error
	switch h.kind {
	case 1:
		st.dec = appendInt(dec[:0], h.intValue)
		st.comp = comp[:0]
		return nil
	case 0:
		st.comp = comp[:0]
		if st.dec, err = r.in.appendN(dec[:0], h.n); err != nil {
			st.ok = false
			return r.truncOrErr(err, what)
		}
		return nil
	}
	off := r.in.offset()
	if st.comp, err = r.in.appendN(comp[:0], h.clen); err != nil {
		st.ok = false
		return r.truncOrErr(err, what)
	}
	if st.dec, err = lzfDecompressAppend(dec[:0], st.comp, int(h.n)); err != nil {
		st.ok = false
		return r.errorAt(off, ErrCorrupt, "%s: LZF data (%d bytes to %d): %v", what, h.clen, h.n, err)
	}
	st.lzf = true
	return nil
}

// readStringStored is ReadString that also reports how the string was
// stored. The result and st.comp are valid until the next read from r.
func (r *Reader) readStringStored(st *storedStr) ([]byte, error) {
	st.ok = false
	if err := r.checkValue(TypeString); err != nil {
		return nil, err
	}
	if r.val.started {
		return nil, r.errorf(ErrWrongType, "the string value was already read")
	}
	r.val.started = true
	in := r.in
	if in.r < in.w && in.buf[in.r]>>6 != 3 {
		// Not an encoded string: the plain path (a view when it can).
		s, err := r.readStringView(&r.val.str, "a string value")
		if err != nil {
			return nil, err
		}
		*st = storedStr{ok: true, dec: s}
		r.endValue()
		return s, nil
	}
	h, err := r.readStringHeader("a string value")
	if err != nil {
		return nil, err
	}
	if h.kind != 2 {
		s, err := r.readStringBody(r.val.str[:0], h, "a string value")
		if err != nil {
			return nil, err
		}
		r.val.str = s
		r.endValue()
		return s, nil
	}
	// LZF: the compressed bytes as a view of the input buffer when they
	// fit in it, valid until the next read.
	off := in.offset()
	var src []byte
	if h.clen <= uint64(len(in.buf)) {
		src, err = in.next(int(h.clen))
	} else {
		r.val.lzfBuf, err = in.appendN(r.val.lzfBuf[:0], h.clen)
		src = r.val.lzfBuf
	}
	if err != nil {
		return nil, r.truncOrErr(err, "a string value")
	}
	if r.val.str, err = lzfDecompressAppend(r.val.str[:0], src, int(h.n)); err != nil {
		return nil, r.errorAt(off, ErrCorrupt, "a string value: LZF data (%d bytes to %d): %v", h.clen, h.n, err)
	}
	*st = storedStr{ok: true, lzf: true, dec: r.val.str, comp: src}
	r.endValue()
	return r.val.str, nil
}

// blobKind returns the compact encoding of a single-blob value type.
func blobKind(typ int) (innerKind, bool) {
	switch typ {
	case typeHashZipmap:
		return innerZipmap, true
	case typeListZiplist, typeZSetZiplist, typeHashZiplist:
		return innerZiplist, true
	case typeSetIntset:
		return innerIntset, true
	case typeHashListpack, typeZSetListpack, typeSetListpack, typeHashListpackExPreGA, typeHashListpackEx:
		return innerListpack, true
	}
	return innerNone, false
}

// startElementsStored is startElements that keeps the stored form of a
// single-blob value's blob in src.blob.
func (r *Reader) startElementsStored(src *srcForms) error {
	v := &r.val
	kind, ok := blobKind(v.typ)
	if !ok {
		return r.startElements()
	}
	v.started = true
	if v.typ == typeHashListpackEx {
		if err := r.readMinExpire(); err != nil {
			return err
		}
	}
	off := r.in.offset()
	const what = "a compact-encoded value"
	h, err := r.readStringHeader(what)
	if err != nil {
		return err
	}
	if err := r.readStringStoredBody(h, &src.blob, v.blob, src.comp[2], what); err != nil {
		return err
	}
	v.blob, src.comp[2] = src.blob.dec, src.blob.comp
	if src.blob.lzf {
		src.lzfSeen = true
	}
	v.remaining = 0
	return r.startInner(kind, off)
}

// loadNodeStored is loadNode that keeps the stored form of the node in
// src.nodes, alternating between two buffers so that the node before stays
// available.
func (r *Reader) loadNodeStored(src *srcForms) error {
	v := &r.val
	v.remaining--
	kind := innerZiplist
	if v.typ == typeListQuicklist2 {
		c, err := r.readLen("a quicklist node container")
		if err != nil {
			return err
		}
		switch c {
		case 1:
			kind = innerPlainNode
		case 2:
			kind = innerListpack
		default:
			return r.errorAt(r.in.offset()-1, ErrCorrupt, "quicklist node container %d, expected 1 (plain) or 2 (packed)", c)
		}
	}
	off := r.in.offset()
	const what = "a quicklist node"
	h, err := r.readStringHeader(what)
	if err != nil {
		return err
	}
	i := 1 - src.cur
	st := &src.nodes[i]
	if err := r.readStringStoredBody(h, st, src.dec[i], src.comp[i], what); err != nil {
		return err
	}
	src.dec[i], src.comp[i], src.cur = st.dec, st.comp, i
	if kind == innerPlainNode {
		st.ok = false // PLAIN nodes are written as they are anyway
	}
	v.blob = st.dec
	if kind == innerPlainNode {
		v.inner = innerPlainNode
		return nil
	}
	return r.startInner(kind, off)
}

// nextElementStored is NextElement recording stored forms in src.
func (r *Reader) nextElementStored(src *srcForms) (Element, error) {
	v := &r.val
	if !r.inKey || v.done || v.typ == typeValkeyHash2 {
		return r.NextElement()
	}
	switch r.rec.Type {
	case TypeList, TypeSet, TypeZSet, TypeHash:
	default:
		return r.NextElement()
	}
	if !v.started {
		if err := r.startElementsStored(src); err != nil {
			return Element{}, err
		}
		if v.done {
			return Element{}, io.EOF
		}
	}
	for {
		if v.inner != innerNone {
			e, ok, err := r.nextInner()
			if err != nil {
				return Element{}, err
			}
			if ok {
				return e, nil
			}
			v.inner = innerNone
		}
		if v.remaining == 0 {
			r.endValue()
			return Element{}, io.EOF
		}
		switch v.typ {
		case typeListQuicklist, typeListQuicklist2:
			if err := r.loadNodeStored(src); err != nil {
				return Element{}, err
			}
			continue
		}
		return r.nextPlainStored(src)
	}
}

// nextPlainStored is nextPlain recording the stored form of the element's
// strings in src.elem, for the types whose elements are plain strings.
func (r *Reader) nextPlainStored(src *srcForms) (Element, error) {
	v := &r.val
	var e Element
	var err error
	switch v.typ {
	case typeList, typeSet:
		v.remaining--
		e.Member, err = r.readElemStored(src, 0, false, "a collection element")
		return e, err
	case typeHash:
		v.remaining--
		// Fast path: field and value both short and buffered: views.
		if in := r.in; in.r < in.w {
			b := in.buf[in.r:in.w]
			if fl := int(b[0]); fl < 0x40 && len(b) > fl+1 {
				if vl := int(b[fl+1]); vl < 0x40 && len(b) >= fl+vl+2 {
					e.Member = b[1 : 1+fl : 1+fl]
					e.Value = b[fl+2 : fl+2+vl : fl+2+vl]
					in.r += fl + vl + 2
					src.elem[0] = storedStr{ok: true, dec: e.Member}
					src.elem[1] = storedStr{ok: true, dec: e.Value}
					return e, nil
				}
			}
		}
		if e.Member, err = r.readElemStored(src, 0, true, "a hash field"); err != nil {
			return e, err
		}
		e.Value, err = r.readElemStored(src, 1, false, "a hash value")
		return e, err
	case typeZSet2:
		v.remaining--
		if e.Member, err = r.readElemStored(src, 0, true, "a sorted set member"); err != nil {
			return e, err
		}
		b, err := r.in.next(8)
		if err != nil {
			return e, r.truncOrErr(err, "a binary score")
		}
		e.Score = math.Float64frombits(binary.LittleEndian.Uint64(b))
		if math.IsNaN(e.Score) {
			return e, r.errorf(ErrCorrupt, "sorted set member %q has a NaN score", e.Member)
		}
		return e, nil
	}
	src.elem[0].ok, src.elem[1].ok = false, false
	return r.nextPlain()
}

// readElemStored reads one string into src.elem[i]. keep: the result must
// survive further reads (else it may be a view of the input buffer).
func (r *Reader) readElemStored(src *srcForms, i int, keep bool, what string) ([]byte, error) {
	st := &src.elem[i]
	st.ok, st.lzf = false, false
	in := r.in
	if !keep && in.r < in.w {
		if b := in.buf[in.r]; b < 0x40 && in.r+1+int(b) <= in.w {
			s := in.buf[in.r+1 : in.r+1+int(b) : in.r+1+int(b)]
			in.r += 1 + int(b)
			*st = storedStr{ok: true, dec: s}
			return s, nil
		}
	}
	h, err := r.readStringHeader(what)
	if err != nil {
		return nil, err
	}
	if h.kind == 0 && !keep && h.n <= uint64(len(in.buf)) {
		s, err := in.next(int(h.n))
		if err != nil {
			return nil, r.truncOrErr(err, what)
		}
		*st = storedStr{ok: true, dec: s}
		return s, nil
	}
	if err := r.readStringStoredBody(h, st, src.elemDec[i], src.elemComp[i], what); err != nil {
		return nil, err
	}
	src.elemDec[i], src.elemComp[i] = st.dec, st.comp
	if st.lzf {
		src.lzfSeen = true
	}
	return st.dec, nil
}
