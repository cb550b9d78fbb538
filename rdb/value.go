package rdb

import (
	"encoding/binary"
	"io"
	"iter"
	"math"
	"strconv"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

// Element is one element of a list, set, sorted set or hash. Its byte
// slices are valid until the next call to NextElement or Next.
type Element struct {
	Member   []byte  // list element, set member, sorted-set member or hash field
	Value    []byte  // hash value
	Score    float64 // sorted-set score
	ExpireAt int64   // hash field expiry in Unix milliseconds; 0 when the field has none
}

type innerKind uint8

const (
	innerNone innerKind = iota
	innerListpack
	innerZiplist
	innerIntset
	innerZipmap
	innerPlainNode // a quicklist 2 PLAIN node: the blob is one element
	innerDone
)

// valueState is the decoding position inside the current key's value.
type valueState struct {
	typ       int    // the type byte, or typeValkeyHash2 for Valkey's code 22
	started   bool   // the value's own header (counts) has been read
	done      bool   // every byte of the value has been consumed
	remaining uint64 // outer items left: elements, or nodes for quicklists and streams
	inner     innerKind
	lp        compact.ListpackIter
	zl        compact.ZiplistIter
	is        compact.IntsetIter
	zm        compact.ZipmapIter
	blob      []byte // the current compact blob (owned)
	minExpire int64  // hash field TTL types: base for relative TTLs

	scratch [3][]byte // decoded integers and long strings, one per element part
	lzfBuf  []byte
	str     []byte // ReadString result

	// src, when set (by Writer.CopyValue), records how the source stored
	// the value's strings: see rawvalue.go.
	src *srcForms

	// memInt reports that the element NextElement last returned has a
	// Member that came from an integer entry of a compact encoding (intset,
	// listpack, ziplist): it is the canonical decimal text of memIntV, as
	// appendInt renders it. Writer.CopyValue uses it to skip parsing the
	// text back. Cleared by every NextElement call.
	memInt  bool
	memIntV int64
	// lazyInt, set by Writer.CopyValue while it copies a list into a
	// quicklist builder that takes integers as such, leaves the Member of a
	// memInt element nil instead of rendering its text.
	lazyInt bool

	stream streamState
}

func (v *valueState) reset(t int) {
	v.typ = t
	v.started = false
	v.done = false
	v.remaining = 0
	v.inner = innerNone
	v.minExpire = 0
	v.stream.reset()
}

// logicalType maps a type byte of this file's dialect to a Type.
func (r *Reader) logicalType(t byte) (Type, bool) {
	switch t {
	case typeString:
		return TypeString, true
	case typeList, typeListZiplist, typeListQuicklist, typeListQuicklist2:
		return TypeList, true
	case typeSet, typeSetIntset, typeSetListpack:
		return TypeSet, true
	case typeZSet, typeZSet2, typeZSetZiplist, typeZSetListpack:
		return TypeZSet, true
	case typeHash, typeHashZipmap, typeHashZiplist, typeHashListpack:
		return TypeHash, true
	case typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3:
		return TypeStream, true
	case typeModulePreGA, typeModule2:
		return TypeModule, true
	}
	if r.dialect == DialectValkey {
		if t == valkeyTypeHash2 {
			return TypeHash, true
		}
		return 0, false
	}
	switch t {
	case typeHashMetadataPreGA, typeHashListpackExPreGA, typeHashMetadata, typeHashListpackEx:
		return TypeHash, r.version >= 12 || r.payload
	case typeStreamListpacks4:
		return TypeStream, r.version >= 13 || r.payload
	}
	return 0, false
}

// encodingOf names the in-memory encoding a server reports for the value
// after loading it. Strings and single-node lists need a look at the value.
func (r *Reader) encodingOf(t byte) (string, error) {
	switch t {
	case typeString:
		return r.stringEncoding()
	case typeList:
		return "linkedlist", nil
	case typeListZiplist, typeZSetZiplist, typeHashZiplist:
		return "ziplist", nil
	case typeListQuicklist:
		return "quicklist", nil
	case typeListQuicklist2:
		return r.quicklist2Encoding(), nil
	case typeSet, typeHash, typeHashMetadata, typeHashMetadataPreGA:
		return "hashtable", nil
	case typeZSet, typeZSet2:
		return "skiplist", nil
	case typeHashZipmap:
		return "zipmap", nil
	case typeSetIntset:
		return "intset", nil
	case typeHashListpack, typeZSetListpack, typeSetListpack:
		return "listpack", nil
	case typeHashListpackEx, typeHashListpackExPreGA:
		return "listpackex", nil
	case typeModule2, typeModulePreGA:
		return "raw", nil
	}
	if r.dialect == DialectValkey && t == valkeyTypeHash2 {
		return "hashtable", nil
	}
	return "stream", nil
}

// stringEncoding applies the rules a server uses when it loads a string:
// a canonical integer that fits 64 bits is "int", short strings are
// "embstr" (from Redis 3.0 on), the rest "raw".
func (r *Reader) stringEncoding() (string, error) {
	p := r.in.peek(22)
	if len(p) < 2 {
		if err := r.in.ioErr(); err != nil {
			return "", r.errorf(err, "reading the string value")
		}
	}
	if len(p) == 0 {
		return "", r.errorf(ErrTruncated, "input ended before the string value")
	}
	b := p[0]
	var n int
	switch b >> 6 {
	case 3:
		if b&0x3f != encLZF {
			return "int", nil
		}
		// LZF strings are longer than 20 bytes, never integers.
		ulen, ok := peekLZFLen(p)
		if !ok {
			return "raw", nil
		}
		return r.sizeEncoding(ulen), nil
	case 0:
		n = int(b)
		p = p[1:]
	case 1:
		if len(p) < 2 {
			return "", r.errorf(ErrTruncated, "input ended in a string length")
		}
		n = int(b&0x3f)<<8 | int(p[1])
		p = p[2:]
	default:
		return "raw", nil
	}
	if n <= 20 && n <= len(p) && isCanonicalInt(p[:n]) {
		return "int", nil
	}
	return r.sizeEncoding(uint64(n)), nil
}

func (r *Reader) sizeEncoding(n uint64) string {
	switch {
	case r.dialect == DialectValkey:
		// Valkey 9 embeds key, expiry and value in one allocation of up to
		// 128 bytes (shouldEmbedStringObject).
		if n < 256 && embeddedSize(len(r.rec.Key), r.rec.ExpireAt != 0, n) <= 128 {
			return "embstr"
		}
		return "raw"
	case r.valkeyVer == "" && r.serverMajor() >= 8:
		// Redis 8 embeds the key with the value object; a string is embstr
		// when object, key and value fit one 64-byte cache line. The writer
		// decided without the expiry (EXPIRE comes after SET).
		if n < 256 && embeddedSize(len(r.rec.Key), false, n) <= 64 {
			return "embstr"
		}
		return "raw"
	case r.version >= 7 && n <= 44:
		return "embstr"
	}
	return "raw"
}

// embeddedSize is the allocation of an object header with an embedded key
// (an sds with its header and one size byte), optional expiry and an
// sdshdr8 value.
func embeddedSize(keyLen int, expire bool, valLen uint64) uint64 {
	size := uint64(16) + sdsAllocSize(keyLen) + 1 + valLen + 4
	if expire {
		size += 8
	}
	return size
}

// sdsAllocSize is an sds string's header, bytes and terminator.
func sdsAllocSize(n int) uint64 {
	switch {
	case n < 32:
		return uint64(n) + 2
	case n < 256:
		return uint64(n) + 4
	case n < 65536:
		return uint64(n) + 6
	}
	return uint64(n) + 10
}

// serverMajor returns the major version from the redis-ver aux field, or 0.
func (r *Reader) serverMajor() int {
	n := 0
	for _, c := range r.redisVer {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// peekLZFLen decodes the uncompressed length of an LZF string header at p.
func peekLZFLen(p []byte) (uint64, bool) {
	p = p[1:]
	skip := func() (uint64, bool) {
		if len(p) == 0 {
			return 0, false
		}
		switch p[0] >> 6 {
		case 0:
			v := uint64(p[0] & 0x3f)
			p = p[1:]
			return v, true
		case 1:
			if len(p) < 2 {
				return 0, false
			}
			v := uint64(p[0]&0x3f)<<8 | uint64(p[1])
			p = p[2:]
			return v, true
		}
		if p[0] == 0x80 && len(p) >= 5 {
			v := uint64(binary.BigEndian.Uint32(p[1:]))
			p = p[5:]
			return v, true
		}
		if p[0] == 0x81 && len(p) >= 9 {
			v := binary.BigEndian.Uint64(p[1:])
			p = p[9:]
			return v, true
		}
		return 0, false
	}
	if _, ok := skip(); !ok {
		return 0, false
	}
	return skip()
}

// isCanonicalInt reports whether s is how Redis prints a 64-bit integer:
// optional '-', no leading zeros, no '+', not "-0".
func isCanonicalInt(s []byte) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	_, ok := compact.ParseRedisInt(s)
	return ok
}

// quicklist2Encoding: Redis 7.2 and later keep a list that fits one small
// listpack in a plain listpack, and save it as a one-node quicklist.
func (r *Reader) quicklist2Encoding() string {
	if r.version < 11 {
		return "quicklist"
	}
	p := r.in.peek(24)
	// node count 1, container PACKED (2), then the node's string header.
	if len(p) < 3 || p[0] != 1 || p[1] != 2 {
		return "quicklist"
	}
	var size uint64
	switch p[2] >> 6 {
	case 0:
		size = uint64(p[2])
	case 1:
		if len(p) < 4 {
			return "quicklist"
		}
		size = uint64(p[2]&0x3f)<<8 | uint64(p[3])
	case 3:
		if p[2]&0x3f != encLZF {
			return "quicklist"
		}
		n, ok := peekLZFLen(p[2:])
		if !ok {
			return "quicklist"
		}
		size = n
	default:
		return "quicklist"
	}
	// list-max-listpack-size -2 (the default) allows 8 KiB. A server checks
	// the limit against the listpack's size plus the raw length of what is
	// being added, so a listpack built by one big RPUSH can be larger than
	// 8 KiB on disk: then count as the server did, on the elements' lengths.
	if size <= 8192 {
		return "listpack"
	}
	if size > 3*8192 || p[2]>>6 == 3 {
		return "quicklist"
	}
	hdr := 1
	if p[2]>>6 == 1 {
		hdr = 2
	}
	node := r.in.peek(2 + hdr + int(size))
	if len(node) < 2+hdr+int(size) {
		return "quicklist"
	}
	it, err := compact.NewListpackIter(node[2+hdr:])
	if err != nil {
		return "quicklist"
	}
	raw := 7 // an empty listpack
	var num [20]byte
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if e.IsInt {
			raw += len(appendInt(num[:0], e.Int))
		} else {
			raw += len(e.Str)
		}
	}
	if it.Err() == nil && raw <= 8192 {
		return "listpack"
	}
	return "quicklist"
}

// Len returns the number of elements of the current value when the file
// states it before the elements: the length of a plain collection, the
// header count of a compact encoding. ok is false when only reading the
// value would tell (quicklists, streams, LZF-compressed blobs).
func (r *Reader) Len() (n uint64, ok bool) {
	if !r.inKey || r.val.started {
		return 0, false
	}
	switch r.val.typ {
	case typeList, typeSet, typeZSet, typeZSet2, typeHash:
		p := r.in.peek(9)
		if len(p) == 0 {
			return 0, false
		}
		switch p[0] >> 6 {
		case 0:
			return uint64(p[0]), true
		case 1:
			if len(p) >= 2 {
				return uint64(p[0]&0x3f)<<8 | uint64(p[1]), true
			}
		case 2:
			if p[0] == 0x80 && len(p) >= 5 {
				return uint64(binary.BigEndian.Uint32(p[1:])), true
			}
			if p[0] == 0x81 && len(p) >= 9 {
				return binary.BigEndian.Uint64(p[1:]), true
			}
		}
	}
	return 0, false
}

// ReadString returns the value of a string key. The result is valid until
// the next call to Next.
func (r *Reader) ReadString() ([]byte, error) {
	if err := r.checkValue(TypeString); err != nil {
		return nil, err
	}
	if r.val.started {
		return nil, r.errorf(ErrWrongType, "the string value was already read")
	}
	r.val.started = true
	// A view into the input buffer stays valid until the next read, which
	// for a string value is the next call to Next.
	str, err := r.readStringView(&r.val.str, "a string value")
	if err != nil {
		return nil, err
	}
	r.endValue()
	return str, nil
}

func (r *Reader) checkValue(want Type) error {
	if !r.inKey {
		return &Error{Name: r.opts.name, Offset: r.in.offset(), What: "no key is current: call Next first", Err: ErrWrongType}
	}
	if r.rec.Type != want {
		return r.errorf(ErrWrongType, "value is a %s, not a %s", r.rec.Type, want)
	}
	return nil
}

func (r *Reader) endValue() {
	r.val.done = true
	r.val.inner = innerNone
	r.rec.Size = r.in.offset() - r.rec.Offset
}

// Elements iterates over the elements of a list, set, sorted set or hash.
// The iteration stops at the first error, which is yielded.
func (r *Reader) Elements() iter.Seq2[Element, error] {
	return func(yield func(Element, error) bool) {
		for {
			e, err := r.NextElement()
			if err == io.EOF {
				return
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// NextElement returns the next element of the current list, set, sorted set
// or hash value, and io.EOF after the last one.
func (r *Reader) NextElement() (Element, error) {
	v := &r.val
	v.memInt = false
	if !r.inKey {
		return Element{}, &Error{Name: r.opts.name, Offset: r.in.offset(), What: "no key is current: call Next first", Err: ErrWrongType}
	}
	if v.done {
		return Element{}, io.EOF
	}
	switch r.rec.Type {
	case TypeList, TypeSet, TypeZSet, TypeHash:
	default:
		return Element{}, r.errorf(ErrWrongType, "value is a %s, which has no elements; use the %s method", r.rec.Type, map[Type]string{TypeString: "ReadString", TypeStream: "NextStreamEntry", TypeModule: "Module"}[r.rec.Type])
	}
	if !v.started {
		if err := r.startElements(); err != nil {
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
			if err := r.loadNode(); err != nil {
				return Element{}, err
			}
			continue
		}
		return r.nextPlain()
	}
}

// startElements reads the value's header: its element or node count, or
// its single compact blob.
func (r *Reader) startElements() error {
	v := &r.val
	v.started = true
	var err error
	switch v.typ {
	case typeList, typeSet, typeZSet, typeZSet2, typeHash, typeListQuicklist, typeListQuicklist2, typeHashMetadata, typeHashMetadataPreGA:
		if v.typ == typeHashMetadata {
			// The smallest field expiry comes first; field TTLs are relative to it.
			if err := r.readMinExpire(); err != nil {
				return err
			}
		}
		v.remaining, err = r.readLen("a collection length")
		if err != nil {
			return err
		}
		if !r.in.fits(v.remaining) {
			return r.errorf(ErrCorrupt, "collection length %d exceeds the %d bytes left in the input", v.remaining, r.in.remaining())
		}
	case typeHashListpackEx:
		if err := r.readMinExpire(); err != nil {
			return err
		}
		return r.loadBlob(innerListpack)
	case typeHashZipmap:
		return r.loadBlob(innerZipmap)
	case typeListZiplist, typeZSetZiplist, typeHashZiplist:
		return r.loadBlob(innerZiplist)
	case typeSetIntset:
		return r.loadBlob(innerIntset)
	case typeHashListpack, typeZSetListpack, typeSetListpack, typeHashListpackExPreGA:
		return r.loadBlob(innerListpack)
	default:
		if v.typ == typeValkeyHash2 {
			v.remaining, err = r.readLen("a collection length")
			if err == nil && v.remaining == 0 {
				r.endValue()
			}
			return err
		}
		return r.errorf(ErrCorrupt, "type %d has no element reader", v.typ)
	}
	if v.remaining == 0 && v.typ != typeListQuicklist && v.typ != typeListQuicklist2 {
		r.endValue()
	}
	return nil
}

// loadBlob reads the value's single compact blob and starts iterating it.
func (r *Reader) loadBlob(kind innerKind) error {
	v := &r.val
	off := r.in.offset()
	var err error
	v.blob, err = r.readStringAppend(v.blob[:0], "a compact-encoded value")
	if err != nil {
		return err
	}
	if v.src != nil {
		v.src.keepBlob(v.blob)
	}
	v.remaining = 0
	return r.startInner(kind, off)
}

func (r *Reader) startInner(kind innerKind, off int64) error {
	v := &r.val
	var err error
	switch kind {
	case innerListpack:
		v.lp, err = compact.NewListpackIter(v.blob)
	case innerZiplist:
		v.zl, err = compact.NewZiplistIter(v.blob)
	case innerIntset:
		v.is, err = compact.NewIntsetIter(v.blob)
	case innerZipmap:
		v.zm, err = compact.NewZipmapIter(v.blob)
	}
	if err != nil {
		return r.errorAt(off, ErrCorrupt, "%v", err)
	}
	v.inner = kind
	return nil
}

// loadNode reads the next quicklist node.
func (r *Reader) loadNode() error {
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
	dst := v.blob
	if v.src != nil {
		dst = v.src.nodeBuf(dst) // keep the node before intact
	}
	var err error
	v.blob, err = r.readStringAppend(dst[:0], "a quicklist node")
	if err != nil {
		return err
	}
	if v.src != nil {
		v.src.keepNode(v.blob, kind == innerPlainNode)
	}
	if kind == innerPlainNode {
		v.inner = innerPlainNode
		return nil
	}
	return r.startInner(kind, off)
}

// nextInner returns the next element from the current compact blob; ok is
// false when the blob is exhausted.
func (r *Reader) nextInner() (e Element, ok bool, err error) {
	v := &r.val
	switch v.inner {
	case innerPlainNode:
		v.inner = innerDone
		return Element{Member: v.blob}, true, nil
	case innerDone:
		return Element{}, false, nil
	case innerIntset:
		x, ok := v.is.Next()
		if !ok {
			return Element{}, false, r.innerErr(v.is.Err())
		}
		v.scratch[0] = appendInt(v.scratch[0][:0], x)
		v.memInt, v.memIntV = true, x
		return Element{Member: v.scratch[0]}, true, nil
	case innerZipmap:
		f, val, ok := v.zm.Next()
		if !ok {
			return Element{}, false, r.innerErr(v.zm.Err())
		}
		return Element{Member: f, Value: val}, true, nil
	}
	// listpack or ziplist: one, two or three entries per element.
	first, ok, err := r.innerEntry(0)
	if !ok || err != nil {
		return Element{}, false, err
	}
	e.Member = first
	switch r.rec.Type {
	case TypeList, TypeSet:
		return e, true, nil
	case TypeZSet:
		s, ok, err := r.innerEntryRaw()
		if err != nil {
			return Element{}, false, err
		}
		if !ok {
			return Element{}, false, r.errorf(ErrCorrupt, "sorted set blob ends after a member, before its score")
		}
		if s.IsInt {
			e.Score = float64(s.Int)
		} else if e.Score, err = parseScore(s.Str); err != nil {
			return Element{}, false, r.errorf(ErrCorrupt, "sorted set score %q: %v", s.Str, err)
		}
		return e, true, nil
	}
	val, ok, err := r.innerEntry(1)
	if err != nil {
		return Element{}, false, err
	}
	if !ok {
		return Element{}, false, r.errorf(ErrCorrupt, "hash blob ends after a field, before its value")
	}
	e.Value = val
	if v.typ == typeHashListpackEx || v.typ == typeHashListpackExPreGA {
		t, ok, err := r.innerEntryRaw()
		if err != nil {
			return Element{}, false, err
		}
		if !ok || !t.IsInt {
			return Element{}, false, r.errorf(ErrCorrupt, "hash field %q: expected an integer expiry after its value", e.Member)
		}
		e.ExpireAt = t.Int
	}
	return e, true, nil
}

func (r *Reader) innerEntryRaw() (compact.Entry, bool, error) {
	v := &r.val
	var e compact.Entry
	var ok bool
	if v.inner == innerListpack {
		if e, ok = v.lp.Next(); !ok {
			return e, false, r.innerErr(v.lp.Err())
		}
	} else {
		if e, ok = v.zl.Next(); !ok {
			return e, false, r.innerErr(v.zl.Err())
		}
	}
	return e, true, nil
}

func (r *Reader) innerEntry(slot int) ([]byte, bool, error) {
	e, ok, err := r.innerEntryRaw()
	if !ok || err != nil {
		return nil, ok, err
	}
	if e.IsInt {
		r.val.scratch[slot] = appendInt(r.val.scratch[slot][:0], e.Int)
		if slot == 0 {
			r.val.memInt, r.val.memIntV = true, e.Int
			if r.val.lazyInt {
				return nil, true, nil
			}
		}
		return r.val.scratch[slot], true, nil
	}
	return e.Str, true, nil
}

func (r *Reader) innerErr(err error) error {
	if err == nil {
		return nil
	}
	return r.errorf(ErrCorrupt, "in the compact-encoded value ending here: %v", err)
}

// nextPlain reads one element of a plain (non-compact) collection.
func (r *Reader) nextPlain() (Element, error) {
	v := &r.val
	v.remaining--
	var e Element
	var err error
	switch v.typ {
	case typeList, typeSet:
		e.Member, err = r.readStringView(&v.scratch[0], "a collection element")
		if v.src != nil && err == nil {
			v.src.keepElem(v.typ, 0, e.Member, false)
		}
		return e, err
	case typeZSet, typeZSet2:
		// Copy the member: reading the score may move the input buffer.
		if v.scratch[0], err = r.readStringAppend(v.scratch[0][:0], "a sorted set member"); err != nil {
			return e, err
		}
		e.Member = v.scratch[0]
		if v.src != nil {
			v.src.keepElem(v.typ, 0, e.Member, true)
		}
		if v.typ == typeZSet2 {
			b, err := r.in.next(8)
			if err != nil {
				return e, r.truncOrErr(err, "a binary score")
			}
			e.Score = math.Float64frombits(binary.LittleEndian.Uint64(b))
		} else if e.Score, err = r.readTextScore(); err != nil {
			return e, err
		}
		if math.IsNaN(e.Score) {
			return e, r.errorf(ErrCorrupt, "sorted set member %q has a NaN score", e.Member)
		}
		return e, nil
	case typeHashMetadata, typeHashMetadataPreGA:
		if e.ExpireAt, err = r.readFieldTTL(); err != nil {
			return e, err
		}
	case typeValkeyHash2:
		e, err = r.nextValkeyHash2()
		if v.src != nil {
			v.src.dropElems()
		}
		return e, err
	}
	// hash: field then value. Fast path: both short and already buffered,
	// so both can be views.
	if in := r.in; in.r < in.w {
		b := in.buf[in.r:in.w]
		if fl := int(b[0]); fl < 0x40 && len(b) > fl+1 {
			if vl := int(b[fl+1]); vl < 0x40 && len(b) >= fl+vl+2 {
				e.Member = b[1 : 1+fl : 1+fl]
				e.Value = b[fl+2 : fl+2+vl : fl+2+vl]
				in.r += fl + vl + 2
				if v.src != nil {
					v.src.keepVerbatim(v.typ, e.Member, e.Value)
				}
				return e, nil
			}
		}
	}
	if v.scratch[0], err = r.readStringAppend(v.scratch[0][:0], "a hash field"); err != nil {
		return e, err
	}
	e.Member = v.scratch[0]
	if v.src != nil {
		v.src.keepElem(v.typ, 0, e.Member, true)
	}
	e.Value, err = r.readStringView(&v.scratch[1], "a hash value")
	if v.src != nil && err == nil {
		v.src.keepElem(v.typ, 1, e.Value, false)
	}
	return e, err
}

// skipStrings passes over n consecutive RDB strings, each followed by
// trailer raw bytes (8 for the binary scores of sorted sets): short ones
// straight from the buffer, the rest through skipString.
func (r *Reader) skipStrings(n uint64, trailer int, what string) error {
	in := r.in
	for n > 0 {
		b := in.buf[in.r:in.w]
		i := 0
		for n > 0 && i < len(b) {
			h := b[i]
			var l int
			switch {
			case h < 0x40:
				l = 1 + int(h) + trailer
			case h < 0x80 && i+1 < len(b):
				l = 2 + (int(h&0x3f)<<8 | int(b[i+1])) + trailer
			default:
				l = len(b) + 1 // not a short string: take the slow path
			}
			if i+l > len(b) {
				break
			}
			i += l
			n--
		}
		in.r += i
		if n == 0 {
			return nil
		}
		if _, err := r.skipString(what); err != nil {
			return err
		}
		if trailer > 0 {
			if err := in.discard(uint64(trailer)); err != nil {
				return r.truncOrErr(err, what)
			}
		}
		n--
	}
	return nil
}

func (r *Reader) readTextScore() (float64, error) {
	n, err := r.in.readByte()
	if err != nil {
		return 0, r.truncOrErr(err, "a score")
	}
	switch n {
	case 253:
		return math.NaN(), nil
	case 254:
		return math.Inf(1), nil
	case 255:
		return math.Inf(-1), nil
	}
	b, err := r.in.next(int(n))
	if err != nil {
		return 0, r.truncOrErr(err, "a score")
	}
	f, err := parseScore(b)
	if err != nil {
		return 0, r.errorf(ErrCorrupt, "score %q: %v", b, err)
	}
	return f, nil
}

func parseScore(b []byte) (float64, error) {
	switch string(b) {
	case "inf", "+inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, nil // strtod saturates the same way
		}
		return 0, err
	}
	return f, nil
}

// RawValue returns the current key's value as the input stores it: the
// type byte (Record.RDBType) followed by the value's bytes, neither
// decoded nor decompressed. With AppendDumpTrailer it makes the DUMP
// payload that a server loading this input's RDB version and dialect
// accepts with RESTORE; module key metadata (Record.KeyMeta), which a
// payload stores before the type byte, is not included.
//
// Call it before reading any of the value; the value then counts as read.
// The value is passed over as Skip does (lengths checked, nothing
// decoded), so RawValue does not vouch for the contents of compact
// blobs. The result is valid until the next call that reads from the
// Reader.
func (r *Reader) RawValue() ([]byte, error) {
	if !r.inKey {
		return nil, &Error{Name: r.opts.name, Offset: r.in.offset(), What: "no key is current: call Next first", Err: ErrWrongType}
	}
	if r.val.started || r.val.done {
		return nil, r.errorf(ErrWrongType, "RawValue: part of the value was already read")
	}
	r.in.startTee()
	err := r.finishValue()
	r.val.str = r.in.stopTee(append(r.val.str[:0], r.rec.RDBType))
	if err != nil {
		return nil, err
	}
	return r.val.str, nil
}

// Skip passes over the rest of the current value without decoding it.
// Next calls it implicitly.
func (r *Reader) Skip() error {
	if !r.inKey {
		return nil
	}
	return r.finishValue()
}

// finishValue consumes whatever is left of the current value.
func (r *Reader) finishValue() error {
	v := &r.val
	if v.done {
		return nil
	}
	if err := r.skipRest(); err != nil {
		return err
	}
	r.endValue()
	return nil
}

func (r *Reader) skipRest() error {
	v := &r.val
	var err error
	if !v.started {
		v.started = true
		switch v.typ {
		case typeString, typeHashZipmap, typeListZiplist, typeSetIntset, typeZSetZiplist, typeHashZiplist,
			typeHashListpack, typeZSetListpack, typeSetListpack, typeHashListpackExPreGA:
			_, err = r.skipString("a value")
			return err
		case typeHashListpackEx:
			if err := r.readMinExpire(); err != nil {
				return err
			}
			_, err = r.skipString("a value")
			return err
		case typeModule2, typeModulePreGA:
			return r.skipModule()
		}
		if r.rec.Type == TypeStream {
			return r.skipStream()
		}
		if v.typ == typeHashMetadata {
			if err := r.readMinExpire(); err != nil {
				return err
			}
		}
		if v.remaining, err = r.readLen("a collection length"); err != nil {
			return err
		}
	}
	if r.rec.Type == TypeStream {
		return r.skipStream()
	}
	v.inner = innerNone
	switch v.typ {
	case typeList, typeSet, typeListQuicklist:
		n := v.remaining
		v.remaining = 0
		return r.skipStrings(n, 0, "a collection element")
	case typeHash:
		n := v.remaining
		v.remaining = 0
		if n > math.MaxUint64/2 {
			return r.errorf(ErrCorrupt, "hash length %d is impossible", n)
		}
		return r.skipStrings(2*n, 0, "a hash field or value")
	case typeZSet2:
		n := v.remaining
		v.remaining = 0
		return r.skipStrings(n, 8, "a sorted set member and score")
	}
	for ; v.remaining > 0; v.remaining-- {
		switch v.typ {
		case typeList, typeSet, typeListQuicklist:
			_, err = r.skipString("a collection element")
		case typeListQuicklist2:
			if _, err = r.readLen("a quicklist node container"); err == nil {
				_, err = r.skipString("a quicklist node")
			}
		case typeZSet:
			if _, err = r.skipString("a sorted set member"); err == nil {
				_, err = r.readTextScore()
			}
		case typeZSet2:
			if _, err = r.skipString("a sorted set member"); err == nil {
				if err = r.in.discard(8); err != nil {
					err = r.truncOrErr(err, "a binary score")
				}
			}
		case typeHash:
			if _, err = r.skipString("a hash field"); err == nil {
				_, err = r.skipString("a hash value")
			}
		case typeHashMetadata, typeHashMetadataPreGA:
			if _, err = r.readFieldTTL(); err == nil {
				if _, err = r.skipString("a hash field"); err == nil {
					_, err = r.skipString("a hash value")
				}
			}
		default:
			if v.typ == typeValkeyHash2 {
				_, err = r.nextValkeyHash2()
			} else {
				err = r.errorf(ErrCorrupt, "cannot skip type %d", v.typ)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}
