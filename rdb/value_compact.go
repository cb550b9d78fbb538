package rdb

import "github.com/rdbtool/rdbtool/rdb/compact"

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
		v.remaining, err = r.readCount("a collection length")
		if err != nil {
			return err
		}
		if !v.part && !r.in.fits(v.remaining) { // a part: checked for the whole value
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
