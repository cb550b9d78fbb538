package rdb

import (
	"encoding/binary"
	"io"
	"iter"

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
	// the value's strings: see srcForms.
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

	// part: the value is one part of a larger one, handed out by
	// ReadParallel (see ParallelHandler.Split): partCount elements or
	// quicklist nodes, whose count is not in the input.
	part      bool
	partCount uint64
}

func (v *valueState) reset(t int) {
	v.typ = t
	v.started = false
	v.done = false
	v.remaining = 0
	v.inner = innerNone
	v.minExpire = 0
	v.part = false
	v.stream.reset()
}

// Len returns the number of elements of the current value when the file
// states it before the elements: the length of a plain collection, the
// header count of a compact encoding. ok is false when only reading the
// value would tell (quicklists, streams, LZF-compressed blobs).
func (r *Reader) Len() (n uint64, ok bool) {
	if !r.inKey || r.val.started {
		return 0, false
	}
	if r.val.part {
		return r.val.partCount, true
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
