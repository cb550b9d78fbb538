package compact

import "encoding/binary"

const (
	zlHeaderSize   = 10
	zlEnd          = 0xFF
	zlBigPrevlen   = 254
	zlCountUnknown = 65535
	encZiplist     = "ziplist"
)

// ZiplistIter walks the entries of a ziplist blob, validating each one. It is
// a plain value: it can live on the stack and Next never allocates.
type ZiplistIter struct {
	blob     []byte
	pos      int // offset of the next entry
	prevSize int // size of the previous entry (0 before the first)
	lastPos  int // offset of the last entry read (zlHeaderSize if none)
	tail     int // zltail from the header
	n        int
	hdrCount int
	err      error
	done     bool
}

// NewZiplistIter checks the ziplist header (zlbytes must equal len(blob),
// zltail must point inside the blob, the last byte must be 0xFF) and returns
// an iterator positioned before the first entry.
func NewZiplistIter(blob []byte) (ZiplistIter, error) {
	if len(blob) < zlHeaderSize+1 {
		return ZiplistIter{}, newErr(encZiplist, 0, "blob of "+itoa(len(blob))+" bytes is shorter than the 11-byte minimum (header and end marker)")
	}
	zlbytes := binary.LittleEndian.Uint32(blob)
	if uint64(zlbytes) != uint64(len(blob)) {
		return ZiplistIter{}, newErr(encZiplist, 0, "zlbytes "+utoa(uint64(zlbytes))+" does not match blob length "+itoa(len(blob)))
	}
	tail := binary.LittleEndian.Uint32(blob[4:])
	if tail < zlHeaderSize || uint64(tail) >= uint64(len(blob)) {
		return ZiplistIter{}, newErr(encZiplist, 4, "zltail "+utoa(uint64(tail))+" is outside the entry area [10, "+itoa(len(blob)-1)+"]")
	}
	if blob[len(blob)-1] != zlEnd {
		return ZiplistIter{}, newErr(encZiplist, len(blob)-1, "expected end marker 0xFF, found "+hexByte(blob[len(blob)-1]))
	}
	cnt := int(binary.LittleEndian.Uint16(blob[8:]))
	if cnt == zlCountUnknown {
		cnt = -1
	}
	return ZiplistIter{blob: blob, pos: zlHeaderSize, lastPos: zlHeaderSize, tail: int(tail), hdrCount: cnt}, nil
}

// HeaderCount returns zllen from the header, or -1 when it is 65535 (the
// count is unknown and must be obtained by walking the list).
func (it *ZiplistIter) HeaderCount() int { return it.hdrCount }

// Err returns the first validation error met by Next, or nil at a clean end.
func (it *ZiplistIter) Err() error { return it.err }

// Offset returns the byte offset of the entry Next will read.
func (it *ZiplistIter) Offset() int { return it.pos }

func (it *ZiplistIter) fail(off int, msg string) (Entry, bool) {
	it.err = newErr(encZiplist, off, msg)
	it.done = true
	return Entry{}, false
}

// Next returns the next entry. It returns false at the end of the ziplist or
// when the blob is inconsistent; check Err to tell the two apart.
func (it *ZiplistIter) Next() (Entry, bool) {
	if it.done {
		return Entry{}, false
	}
	b := it.blob
	p := it.pos
	end := len(b) - 1
	if p >= end {
		it.done = true
		switch {
		case it.lastPos != it.tail:
			it.err = newErr(encZiplist, 4, "zltail "+itoa(it.tail)+" does not point at the last entry (offset "+itoa(it.lastPos)+")")
		case it.hdrCount >= 0 && it.n != it.hdrCount:
			it.err = newErr(encZiplist, 8, "zllen "+itoa(it.hdrCount)+" does not match "+itoa(it.n)+" entries found")
		}
		return Entry{}, false
	}
	// prevlen
	var prevlen, q int
	switch c := b[p]; {
	case c < zlBigPrevlen:
		prevlen, q = int(c), p+1
	case c == zlBigPrevlen:
		if 5 > end-p {
			return it.fail(p, "5-byte prevlen overruns the blob")
		}
		prevlen, q = int(binary.LittleEndian.Uint32(b[p+1:])), p+5
	default:
		return it.fail(p, "end marker 0xFF found before the end of the blob (at "+itoa(end)+")")
	}
	if prevlen != it.prevSize {
		return it.fail(p, "prevlen "+itoa(prevlen)+" does not match previous entry size "+itoa(it.prevSize))
	}
	if q >= end {
		return it.fail(q, "entry encoding missing (overruns the blob)")
	}
	c := b[q]
	var e Entry
	var next int // offset just past the entry
	switch c >> 6 {
	case 0: // 00pppppp: string up to 63 bytes
		l := int(c & 0x3F)
		if l > end-q-1 {
			return it.fail(p, "6-bit string of "+itoa(l)+" bytes overruns the blob")
		}
		e.Str = b[q+1 : q+1+l : q+1+l]
		next = q + 1 + l
	case 1: // 01pppppp qqqqqqqq: string up to 16383 bytes, big endian
		if 2 > end-q {
			return it.fail(p, "14-bit string header overruns the blob")
		}
		l := int(c&0x3F)<<8 | int(b[q+1])
		if l > end-q-2 {
			return it.fail(p, "14-bit string of "+itoa(l)+" bytes overruns the blob")
		}
		e.Str = b[q+2 : q+2+l : q+2+l]
		next = q + 2 + l
	case 2: // 10______ + 4 bytes big endian length
		if 5 > end-q {
			return it.fail(p, "32-bit string header overruns the blob")
		}
		l := uint64(binary.BigEndian.Uint32(b[q+1:]))
		if l > uint64(end-q-5) {
			return it.fail(p, "32-bit string of "+utoa(l)+" bytes overruns the blob")
		}
		e.Str = b[q+5 : q+5+int(l) : q+5+int(l)]
		next = q + 5 + int(l)
	default:
		e.IsInt = true
		var w int
		switch c {
		case 0xC0:
			w = 2
		case 0xD0:
			w = 4
		case 0xE0:
			w = 8
		case 0xF0:
			w = 3
		case 0xFE:
			w = 1
		default:
			if c >= 0xF1 && c <= 0xFD {
				e.Int = int64(c&0x0F) - 1
				next = q + 1
				break
			}
			return it.fail(q, "invalid entry encoding byte "+hexByte(c))
		}
		if w > 0 {
			if w > end-q-1 {
				return it.fail(p, "integer of "+itoa(w)+" bytes overruns the blob")
			}
			d := b[q+1:]
			switch w {
			case 1:
				e.Int = int64(int8(d[0]))
			case 2:
				e.Int = int64(int16(binary.LittleEndian.Uint16(d)))
			case 3:
				u := uint32(d[0]) | uint32(d[1])<<8 | uint32(d[2])<<16
				e.Int = int64(int32(u<<8) >> 8)
			case 4:
				e.Int = int64(int32(binary.LittleEndian.Uint32(d)))
			case 8:
				e.Int = int64(binary.LittleEndian.Uint64(d))
			}
			next = q + 1 + w
		}
	}
	it.prevSize = next - p
	it.lastPos = p
	it.pos = next
	it.n++
	return e, true
}

// ZiplistLen returns the number of entries in a ziplist: zllen when the
// header knows it, else the counted (and validated) entries.
func ZiplistLen(blob []byte) (int, error) {
	it, err := NewZiplistIter(blob)
	if err != nil {
		return 0, err
	}
	if it.hdrCount >= 0 {
		return it.hdrCount, nil
	}
	return countEntries(&it)
}

// ValidateZiplist walks the whole ziplist and returns the first problem.
func ValidateZiplist(blob []byte) error {
	it, err := NewZiplistIter(blob)
	if err != nil {
		return err
	}
	_, err = countEntries(&it)
	return err
}

// ZiplistBuilder builds a ziplist byte-identical to what Redis produces when
// pushing the same sequence of elements at the tail. The zero value is ready
// to use.
type ZiplistBuilder struct {
	buf      []byte // header placeholder + entries (no end marker)
	n        int
	prevSize int
	lastPos  int
}

// Reset empties the builder, keeping its buffer.
func (b *ZiplistBuilder) Reset() {
	b.buf = b.buf[:0]
	b.n = 0
	b.prevSize = 0
	b.lastPos = 0
}

// Len returns the number of entries appended so far.
func (b *ZiplistBuilder) Len() int { return b.n }

func (b *ZiplistBuilder) start() int {
	if len(b.buf) == 0 {
		b.buf = append(b.buf, make([]byte, zlHeaderSize)...)
	}
	p := len(b.buf)
	if b.prevSize < zlBigPrevlen {
		b.buf = append(b.buf, byte(b.prevSize))
	} else {
		b.buf = append(b.buf, zlBigPrevlen)
		b.buf = binary.LittleEndian.AppendUint32(b.buf, uint32(b.prevSize))
	}
	return p
}

func (b *ZiplistBuilder) finish(p int) {
	b.prevSize = len(b.buf) - p
	b.lastPos = p
	b.n++
}

// AppendString appends s as a string entry, never converting it to an integer.
func (b *ZiplistBuilder) AppendString(s []byte) {
	p := b.start()
	l := len(s)
	switch {
	case l <= 0x3F:
		b.buf = append(b.buf, byte(l))
	case l <= 0x3FFF:
		b.buf = append(b.buf, 0x40|byte(l>>8), byte(l))
	default:
		b.buf = append(b.buf, 0x80)
		b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(l))
	}
	b.buf = append(b.buf, s...)
	b.finish(p)
}

// AppendInt appends v as an integer entry using the smallest encoding, as
// ziplist.c's zipTryEncoding chooses it (immediate 0..12, then 8, 16, 24, 32
// and 64 bits).
func (b *ZiplistBuilder) AppendInt(v int64) {
	p := b.start()
	switch {
	case v >= 0 && v <= 12:
		b.buf = append(b.buf, 0xF1+byte(v))
	case v >= -128 && v <= 127:
		b.buf = append(b.buf, 0xFE, byte(v))
	case v >= -32768 && v <= 32767:
		b.buf = append(b.buf, 0xC0, byte(v), byte(v>>8))
	case v >= -8388608 && v <= 8388607:
		b.buf = append(b.buf, 0xF0, byte(v), byte(v>>8), byte(v>>16))
	case v >= -2147483648 && v <= 2147483647:
		b.buf = append(b.buf, 0xD0, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		b.buf = append(b.buf, 0xE0)
		b.buf = binary.LittleEndian.AppendUint64(b.buf, uint64(v))
	}
	b.finish(p)
}

// Append appends s the way ziplistPush does: as an integer when s is shorter
// than 32 bytes and a canonical decimal int64 (see ParseRedisInt), else as a
// string.
func (b *ZiplistBuilder) Append(s []byte) {
	if len(s) < 32 {
		if v, ok := ParseRedisInt(s); ok {
			b.AppendInt(v)
			return
		}
	}
	b.AppendString(s)
}

// AppendEntry appends e, as an integer if e.IsInt, else via Append.
func (b *ZiplistBuilder) AppendEntry(e Entry) {
	if e.IsInt {
		b.AppendInt(e.Int)
	} else {
		b.Append(e.Str)
	}
}

// Bytes returns the finished ziplist (header, entries, end marker). The result
// aliases the builder's buffer and stays valid until the next call to a
// method of b. A count of 65535 or more is stored as 65535 ("unknown").
func (b *ZiplistBuilder) Bytes() []byte {
	if len(b.buf) == 0 {
		b.buf = append(b.buf, make([]byte, zlHeaderSize)...)
	}
	out := append(b.buf, zlEnd)
	b.buf = out[:len(out)-1]
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	tail := b.lastPos
	if b.n == 0 {
		tail = zlHeaderSize
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(tail))
	cnt := b.n
	if cnt > zlCountUnknown {
		cnt = zlCountUnknown
	}
	binary.LittleEndian.PutUint16(out[8:], uint16(cnt))
	return out
}
