package rdb

import (
	"encoding/binary"
	"math"
	"strconv"
)

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
