package compact

import "encoding/binary"

const (
	zmBigLen = 254
	zmEnd    = 0xFF
	encZM    = "zipmap"
)

// ZipmapIter walks the field/value pairs of a zipmap blob (the hash encoding
// of Redis before 2.6, RDB type 9). It is a plain value; Next never
// allocates.
type ZipmapIter struct {
	blob     []byte
	pos      int
	n        int
	hdrCount int
	err      error
	done     bool
}

// NewZipmapIter checks that the blob has a count byte and ends with the 0xFF
// end marker.
func NewZipmapIter(blob []byte) (ZipmapIter, error) {
	if len(blob) < 2 {
		return ZipmapIter{}, newErr(encZM, 0, "blob of "+itoa(len(blob))+" bytes is shorter than the 2-byte minimum (count and end marker)")
	}
	if blob[len(blob)-1] != zmEnd {
		return ZipmapIter{}, newErr(encZM, len(blob)-1, "expected end marker 0xFF, found "+hexByte(blob[len(blob)-1]))
	}
	cnt := int(blob[0])
	if cnt >= zmBigLen {
		cnt = -1
	}
	return ZipmapIter{blob: blob, pos: 1, hdrCount: cnt}, nil
}

// HeaderCount returns the pair count stored in the first byte, or -1 when it
// is 254 or more (unknown: the map must be walked).
func (it *ZipmapIter) HeaderCount() int { return it.hdrCount }

// Err returns the first validation error met by Next, or nil at a clean end.
func (it *ZipmapIter) Err() error { return it.err }

func (it *ZipmapIter) fail(off int, msg string) ([]byte, []byte, bool) {
	it.err = newErr(encZM, off, msg)
	it.done = true
	return nil, nil, false
}

// zmLen decodes a zipmap length at p (p < end). It returns the length, the
// offset after it, and ok=false if it overruns end.
func zmLen(b []byte, p, end int) (uint64, int, bool) {
	c := b[p]
	if c < zmBigLen {
		return uint64(c), p + 1, true
	}
	if 5 > end-p {
		return 0, 0, false
	}
	return uint64(binary.LittleEndian.Uint32(b[p+1:])), p + 5, true
}

// Next returns the next field and value (views into the blob, without the
// value's free padding). It returns ok=false at the end or on a malformed
// blob (see Err).
func (it *ZipmapIter) Next() (field, value []byte, ok bool) {
	if it.done {
		return nil, nil, false
	}
	b := it.blob
	end := len(b) - 1
	p := it.pos
	if p >= end || b[p] == zmEnd {
		it.done = true
		if p < end {
			return it.fail(p, "end marker 0xFF found before the end of the blob (at "+itoa(end)+")")
		}
		if it.hdrCount >= 0 && it.n != it.hdrCount {
			return it.fail(0, "header count "+itoa(it.hdrCount)+" does not match "+itoa(it.n)+" pairs found")
		}
		return nil, nil, false
	}
	start := p
	kl, p, good := zmLen(b, p, end)
	if !good {
		return it.fail(start, "field length overruns the blob")
	}
	if kl > uint64(end-p) {
		return it.fail(start, "field of "+utoa(kl)+" bytes overruns the blob")
	}
	field = b[p : p+int(kl) : p+int(kl)]
	p += int(kl)
	if p >= end {
		return it.fail(p, "value length missing (overruns the blob)")
	}
	if b[p] == zmEnd {
		return it.fail(p, "expected a value length, found the end marker 0xFF")
	}
	vstart := p
	vl, p, good := zmLen(b, p, end)
	if !good {
		return it.fail(vstart, "value length overruns the blob")
	}
	if p >= end {
		return it.fail(p, "free byte missing (overruns the blob)")
	}
	free := uint64(b[p])
	p++
	if vl+free > uint64(end-p) {
		return it.fail(vstart, "value of "+utoa(vl)+" bytes plus "+utoa(free)+" free bytes overruns the blob")
	}
	value = b[p : p+int(vl) : p+int(vl)]
	it.pos = p + int(vl) + int(free)
	it.n++
	return field, value, true
}

// ValidateZipmap walks the whole zipmap and returns the first problem.
func ValidateZipmap(blob []byte) error {
	it, err := NewZipmapIter(blob)
	if err != nil {
		return err
	}
	for {
		if _, _, ok := it.Next(); !ok {
			return it.err
		}
	}
}

// ZipmapBuilder builds a compact zipmap (no free bytes), as zipmapSet does
// when fields are added in order to an empty map. The zero value is ready.
type ZipmapBuilder struct {
	buf []byte
	n   int
}

// Reset empties the builder.
func (b *ZipmapBuilder) Reset() { b.buf = b.buf[:0]; b.n = 0 }

// Len returns the number of pairs appended.
func (b *ZipmapBuilder) Len() int { return b.n }

func (b *ZipmapBuilder) appendLen(l int) {
	if l < zmBigLen {
		b.buf = append(b.buf, byte(l))
		return
	}
	b.buf = append(b.buf, zmBigLen)
	b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(l))
}

// Append adds a field/value pair (the caller ensures fields are unique).
func (b *ZipmapBuilder) Append(field, value []byte) {
	if len(b.buf) == 0 {
		b.buf = append(b.buf, 0)
	}
	b.appendLen(len(field))
	b.buf = append(b.buf, field...)
	b.appendLen(len(value))
	b.buf = append(b.buf, 0)
	b.buf = append(b.buf, value...)
	b.n++
}

// Bytes returns the finished zipmap; it aliases the builder's buffer.
func (b *ZipmapBuilder) Bytes() []byte {
	if len(b.buf) == 0 {
		b.buf = append(b.buf, 0)
	}
	out := append(b.buf, zmEnd)
	b.buf = out[:len(out)-1]
	cnt := b.n
	if cnt > zmBigLen {
		cnt = zmBigLen
	}
	out[0] = byte(cnt)
	return out
}
