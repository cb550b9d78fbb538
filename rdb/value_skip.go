package rdb

import "math"

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
	if r.val.part {
		// Its elements are stored without the value's count.
		return nil, r.errorf(ErrWrongType, "RawValue: the value was handed out in parts")
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
		if v.remaining, err = r.readCount("a collection length"); err != nil {
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
