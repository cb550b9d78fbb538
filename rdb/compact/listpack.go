package compact

import "encoding/binary"

const (
	lpHeaderSize   = 6
	lpEOF          = 0xFF
	lpCountUnknown = 65535
	encListpack    = "listpack"
)

// ListpackIter walks the entries of a listpack blob, validating each one. It
// is a plain value: it can live on the stack and Next never allocates.
type ListpackIter struct {
	blob     []byte
	pos      int // offset of the next entry
	n        int // entries returned so far
	hdrCount int // -1 when the header says "unknown"
	err      error
	done     bool
}

// NewListpackIter checks the listpack header (the total-bytes field must equal
// len(blob) and the last byte must be the 0xFF terminator) and returns an
// iterator positioned before the first entry.
func NewListpackIter(blob []byte) (ListpackIter, error) {
	if len(blob) < lpHeaderSize+1 {
		return ListpackIter{}, newErr(encListpack, 0, "blob of "+itoa(len(blob))+" bytes is shorter than the 7-byte minimum (header and terminator)")
	}
	total := binary.LittleEndian.Uint32(blob)
	if uint64(total) != uint64(len(blob)) {
		return ListpackIter{}, newErr(encListpack, 0, "header total bytes "+utoa(uint64(total))+" does not match blob length "+itoa(len(blob)))
	}
	if blob[len(blob)-1] != lpEOF {
		return ListpackIter{}, newErr(encListpack, len(blob)-1, "expected terminator 0xFF, found "+hexByte(blob[len(blob)-1]))
	}
	cnt := int(binary.LittleEndian.Uint16(blob[4:]))
	if cnt == lpCountUnknown {
		cnt = -1
	}
	return ListpackIter{blob: blob, pos: lpHeaderSize, hdrCount: cnt}, nil
}

// HeaderCount returns the element count stored in the header, or -1 when the
// header says the count is unknown (65535).
func (it *ListpackIter) HeaderCount() int { return it.hdrCount }

// Err returns the first validation error met by Next, or nil at a clean end.
func (it *ListpackIter) Err() error { return it.err }

// Offset returns the byte offset of the entry Next will read.
func (it *ListpackIter) Offset() int { return it.pos }

func (it *ListpackIter) fail(off int, msg string) (Entry, bool) {
	it.err = newErr(encListpack, off, msg)
	it.done = true
	return Entry{}, false
}

// lpBacklenSize returns how many bytes Redis uses to store backlen l.
func lpBacklenSize(l int) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	default:
		return 5
	}
}

// Next returns the next entry. It returns false at the end of the listpack or
// when the blob is inconsistent; check Err to tell the two apart.
func (it *ListpackIter) Next() (Entry, bool) {
	if it.done {
		return Entry{}, false
	}
	b := it.blob
	p := it.pos
	end := len(b) - 1 // offset of the terminator
	if p >= end {
		it.done = true
		if it.hdrCount >= 0 && it.n != it.hdrCount {
			it.err = newErr(encListpack, 4, "header count "+itoa(it.hdrCount)+" does not match "+itoa(it.n)+" entries found")
		}
		return Entry{}, false
	}
	c := b[p]
	var e Entry
	var size int // encoding + data, without backlen
	switch {
	case c < 0x80: // 0xxxxxxx: 7-bit unsigned int
		e.Int, e.IsInt, size = int64(c), true, 1
	case c < 0xC0: // 10xxxxxx: string up to 63 bytes
		size = 1 + int(c&0x3F)
		if size > end-p {
			return it.fail(p, "6-bit string of "+itoa(size-1)+" bytes overruns the blob")
		}
		e.Str = b[p+1 : p+size : p+size]
	case c < 0xE0: // 110xxxxx yyyyyyyy: 13-bit signed int
		if 2 > end-p {
			return it.fail(p, "13-bit integer overruns the blob")
		}
		v := int64(c&0x1F)<<8 | int64(b[p+1])
		if v >= 1<<12 {
			v -= 1 << 13
		}
		e.Int, e.IsInt, size = v, true, 2
	case c < 0xF0: // 1110xxxx yyyyyyyy: string up to 4095 bytes
		if 2 > end-p {
			return it.fail(p, "12-bit string header overruns the blob")
		}
		l := int(c&0x0F)<<8 | int(b[p+1])
		size = 2 + l
		if size > end-p {
			return it.fail(p, "12-bit string of "+itoa(l)+" bytes overruns the blob")
		}
		e.Str = b[p+2 : p+size : p+size]
	default:
		switch c {
		case 0xF0: // 32-bit length string
			if 5 > end-p {
				return it.fail(p, "32-bit string header overruns the blob")
			}
			l := uint64(binary.LittleEndian.Uint32(b[p+1:]))
			if l+5 > uint64(end-p) {
				return it.fail(p, "32-bit string of "+utoa(l)+" bytes overruns the blob")
			}
			size = 5 + int(l)
			e.Str = b[p+5 : p+size : p+size]
		case 0xF1:
			if 3 > end-p {
				return it.fail(p, "16-bit integer overruns the blob")
			}
			e.Int, e.IsInt, size = int64(int16(binary.LittleEndian.Uint16(b[p+1:]))), true, 3
		case 0xF2:
			if 4 > end-p {
				return it.fail(p, "24-bit integer overruns the blob")
			}
			u := uint32(b[p+1]) | uint32(b[p+2])<<8 | uint32(b[p+3])<<16
			e.Int, e.IsInt, size = int64(int32(u<<8)>>8), true, 4
		case 0xF3:
			if 5 > end-p {
				return it.fail(p, "32-bit integer overruns the blob")
			}
			e.Int, e.IsInt, size = int64(int32(binary.LittleEndian.Uint32(b[p+1:]))), true, 5
		case 0xF4:
			if 9 > end-p {
				return it.fail(p, "64-bit integer overruns the blob")
			}
			e.Int, e.IsInt, size = int64(binary.LittleEndian.Uint64(b[p+1:])), true, 9
		case lpEOF:
			return it.fail(p, "terminator 0xFF found before the end of the blob (at "+itoa(end)+")")
		default:
			return it.fail(p, "invalid entry encoding byte "+hexByte(c))
		}
	}
	bl := lpBacklenSize(size)
	if bl > end-p-size {
		return it.fail(p, "backlen of entry (size "+itoa(size)+") overruns the blob")
	}
	if !lpBacklenOK(b[p+size:p+size+bl], size) {
		return it.fail(p, "backlen "+lpBacklenString(b[p+size:p+size+bl])+" does not match entry size "+itoa(size))
	}
	it.pos = p + size + bl
	it.n++
	return e, true
}

// lpBacklenOK reports whether enc is exactly Redis's encoding of l.
func lpBacklenOK(enc []byte, l int) bool {
	n := len(enc)
	if n == 1 {
		return int(enc[0]) == l
	}
	// enc[0] holds the most significant 7 bits without the continuation
	// flag; every later byte has the flag set.
	if enc[0]&0x80 != 0 {
		return false
	}
	v := uint64(enc[0])
	for _, c := range enc[1:] {
		if c&0x80 == 0 {
			return false
		}
		v = v<<7 | uint64(c&0x7F)
	}
	return v == uint64(l)
}

// lpBacklenString decodes a backlen the way Redis does (right to left) for
// error messages.
func lpBacklenString(enc []byte) string {
	var v uint64
	shift := uint(0)
	for i := len(enc) - 1; i >= 0; i-- {
		v |= uint64(enc[i]&0x7F) << shift
		if enc[i]&0x80 == 0 {
			break
		}
		shift += 7
	}
	return utoa(v)
}

// ListpackLen returns the number of entries in a listpack. When the header
// holds the count it is returned after checking the header; when the header
// says "unknown" the entries are counted (and validated).
func ListpackLen(blob []byte) (int, error) {
	it, err := NewListpackIter(blob)
	if err != nil {
		return 0, err
	}
	if it.hdrCount >= 0 {
		return it.hdrCount, nil
	}
	return countEntries(&it)
}

// ValidateListpack walks the whole listpack and returns the first problem.
func ValidateListpack(blob []byte) error {
	it, err := NewListpackIter(blob)
	if err != nil {
		return err
	}
	_, err = countEntries(&it)
	return err
}

// ListpackBuilder builds a listpack byte-identical to what Redis produces for
// the same sequence of appends. The zero value is ready to use.
type ListpackBuilder struct {
	buf []byte // header placeholder + entries (no terminator)
	n   int
}

// Reset empties the builder, keeping its buffer.
func (b *ListpackBuilder) Reset() {
	b.buf = b.buf[:0]
	b.n = 0
}

func (b *ListpackBuilder) init() {
	if len(b.buf) == 0 {
		b.buf = append(b.buf, 0, 0, 0, 0, 0, 0)
	}
}

// Len returns the number of entries appended so far.
func (b *ListpackBuilder) Len() int { return b.n }

// AppendString appends s as a string entry, never converting it to an integer.
func (b *ListpackBuilder) AppendString(s []byte) {
	b.init()
	l := len(s)
	switch {
	case l < 64:
		b.buf = append(b.buf, 0x80|byte(l))
	case l < 4096:
		b.buf = append(b.buf, 0xE0|byte(l>>8), byte(l))
	default:
		b.buf = append(b.buf, 0xF0, byte(l), byte(l>>8), byte(l>>16), byte(l>>24))
	}
	b.buf = append(b.buf, s...)
	size := l + 1
	if l >= 64 {
		size++
	}
	if l >= 4096 {
		size += 3
	}
	b.appendBacklen(size)
	b.n++
}

// AppendInt appends v as an integer entry using the smallest encoding, as
// Redis's lpAppendInteger does.
func (b *ListpackBuilder) AppendInt(v int64) {
	b.init()
	var size int
	switch {
	case v >= 0 && v <= 127:
		b.buf = append(b.buf, byte(v))
		size = 1
	case v >= -4096 && v <= 4095:
		u := uint64(v) & 0x1FFF
		b.buf = append(b.buf, 0xC0|byte(u>>8), byte(u))
		size = 2
	case v >= -32768 && v <= 32767:
		b.buf = append(b.buf, 0xF1, byte(v), byte(v>>8))
		size = 3
	case v >= -8388608 && v <= 8388607:
		b.buf = append(b.buf, 0xF2, byte(v), byte(v>>8), byte(v>>16))
		size = 4
	case v >= -2147483648 && v <= 2147483647:
		b.buf = append(b.buf, 0xF3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
		size = 5
	default:
		b.buf = append(b.buf, 0xF4)
		b.buf = binary.LittleEndian.AppendUint64(b.buf, uint64(v))
		size = 9
	}
	b.appendBacklen(size)
	b.n++
}

// Append appends s the way Redis's lpAppend does: as an integer entry when s
// is a canonical decimal int64 (see ParseRedisInt), else as a string.
func (b *ListpackBuilder) Append(s []byte) {
	if v, ok := ParseRedisInt(s); ok {
		b.AppendInt(v)
		return
	}
	b.AppendString(s)
}

// AppendEntry appends e, as an integer if e.IsInt, else via Append.
func (b *ListpackBuilder) AppendEntry(e Entry) {
	if e.IsInt {
		b.AppendInt(e.Int)
	} else {
		b.Append(e.Str)
	}
}

func (b *ListpackBuilder) appendBacklen(l int) {
	switch lpBacklenSize(l) {
	case 1:
		b.buf = append(b.buf, byte(l))
	case 2:
		b.buf = append(b.buf, byte(l>>7), byte(l&127)|128)
	case 3:
		b.buf = append(b.buf, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case 4:
		b.buf = append(b.buf, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	default:
		b.buf = append(b.buf, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	}
}

// Bytes returns the finished listpack (header, entries, terminator). The
// result aliases the builder's buffer and stays valid until the next call to
// a method of b. A count of 65535 or more is stored as "unknown", as Redis
// does.
func (b *ListpackBuilder) Bytes() []byte {
	b.init()
	out := append(b.buf, lpEOF)
	b.buf = out[:len(out)-1]
	binary.LittleEndian.PutUint32(out, uint32(len(out)))
	cnt := b.n
	if cnt >= lpCountUnknown {
		cnt = lpCountUnknown
	}
	binary.LittleEndian.PutUint16(out[4:], uint16(cnt))
	return out
}
