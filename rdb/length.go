package rdb

import "encoding/binary"

// Lengths and string frames for code that reads RDB bytes itself, without
// a Reader (salvage's search for record boundaries in damaged bytes). The
// Reader and Writer use the same encodings.

// DecodeLength decodes the RDB length at the start of p. n is the length;
// for the special form (top bits 11) special is true and n is the string
// encoding number (StringEncInt8...). size is how many bytes it takes: 0
// when p ends before it does, -1 when p[0] starts no length (0x82-0xBF).
func DecodeLength(p []byte) (n uint64, special bool, size int) {
	if len(p) == 0 {
		return 0, false, 0
	}
	b := p[0]
	switch b >> 6 {
	case 0:
		return uint64(b), false, 1
	case 1:
		if len(p) < 2 {
			return 0, false, 0
		}
		return uint64(b&0x3f)<<8 | uint64(p[1]), false, 2
	case 3:
		return uint64(b & 0x3f), true, 1
	}
	switch b {
	case 0x80:
		if len(p) < 5 {
			return 0, false, 0
		}
		return uint64(binary.BigEndian.Uint32(p[1:])), false, 5
	case 0x81:
		if len(p) < 9 {
			return 0, false, 0
		}
		return binary.BigEndian.Uint64(p[1:]), false, 9
	}
	return 0, false, -1
}

// AppendLength appends n in the RDB length encoding, in its shortest form
// (what servers write).
func AppendLength(b []byte, n uint64) []byte { return appendLen(b, n) }

// String encodings of the special length form.
const (
	StringEncInt8  = encInt8  // an 8-bit integer follows
	StringEncInt16 = encInt16 // a 16-bit little-endian integer follows
	StringEncInt32 = encInt32 // a 32-bit little-endian integer follows
	StringEncLZF   = encLZF   // compressed length, uncompressed length, LZF bytes
)

// StringFrame is how one RDB string is stored.
type StringFrame struct {
	HeaderSize int    // the length prefix (and, for LZF, both lengths)
	Stored     uint64 // bytes after the header: the raw bytes, the integer or the LZF data
	// Len is the decoded length for raw and LZF strings (the uncompressed
	// length); 0 for integers, whose text length depends on their value.
	Len uint64
	Int bool // an integer encoding (StringEncInt8/16/32)
	LZF bool
}

// Size is the whole string's size in the file.
func (f StringFrame) Size() uint64 { return uint64(f.HeaderSize) + f.Stored }

// DecodeStringFrame decodes the header of the RDB string at the start of
// p, with the checks the Reader makes before reading the bytes: an LZF
// string's compressed length is not 0 and its uncompressed length is one
// LZF can reach. size is the header's size as in DecodeLength: 0 when p
// ends inside the header, -1 when it is invalid. The stored bytes are not
// checked against len(p).
func DecodeStringFrame(p []byte) (f StringFrame, size int) {
	n, special, size := DecodeLength(p)
	if size <= 0 {
		return StringFrame{}, size
	}
	if !special {
		return StringFrame{HeaderSize: size, Stored: n, Len: n}, size
	}
	switch n {
	case encInt8:
		return StringFrame{HeaderSize: 1, Stored: 1, Int: true}, 1
	case encInt16:
		return StringFrame{HeaderSize: 1, Stored: 2, Int: true}, 1
	case encInt32:
		return StringFrame{HeaderSize: 1, Stored: 4, Int: true}, 1
	case encLZF:
		clen, sp, m := lengthAfter(p, 1)
		if m <= 0 || sp {
			return StringFrame{}, invalidOr(m, sp)
		}
		ulen, sp, k := lengthAfter(p, 1+m)
		if k <= 0 || sp {
			return StringFrame{}, invalidOr(k, sp)
		}
		if clen == 0 || ulen > clen*lzfMaxRatio+8 {
			return StringFrame{}, -1
		}
		h := 1 + m + k
		return StringFrame{HeaderSize: h, Stored: clen, Len: ulen, LZF: true}, h
	}
	return StringFrame{}, -1
}

func lengthAfter(p []byte, i int) (uint64, bool, int) {
	if i >= len(p) {
		return 0, false, 0
	}
	return DecodeLength(p[i:])
}

// invalidOr is the size to report for a length inside a string header that
// is short (0), invalid (-1) or special where a plain length belongs (-1).
func invalidOr(size int, special bool) int {
	if special {
		return -1
	}
	return size
}
