package rdb

import "encoding/binary"

// Redis protects RDB files and DUMP payloads with CRC-64/Jones: reflected
// polynomial 0x95AC9329AC4BC9B5, initial value 0, no final XOR. The standard
// library's hash/crc64 inverts the register before and after each update, so
// it cannot compute this variant directly, and it rebuilds its fast tables
// per call for custom polynomials.
//
// The core is slicing by 16 bytes with tables built once. A single slicing
// loop is bound by the dependency chain through the CRC register, so long
// inputs are cut into blocks of two equal halves whose CRCs are computed in
// the same loop (two independent chains the CPU overlaps) and then joined
// with a CRC combine, as Redis's own crc64 does since 7.x with three streams:
//
//	crc(A||B) = shift(crc(A), len(B)) ^ crc(B, starting from 0)
//
// where shift multiplies by x^(8·len(B)) modulo the polynomial. The block
// sizes are constants, so each shift is a precomputed linear map applied
// with 16 nibble lookups. On the development machine this runs about
// 6.4 GB/s against 2.9 GB/s for the plain slicing-by-16 loop it replaced.
//
// On amd64 CPUs with PCLMULQDQ, inputs of 256 bytes and more are folded by
// carry-less multiplication first (crc64_clmul.go): about 15 GB/s on the
// development machine, against 6 GB/s for the tables.

const crcJonesPoly = 0x95AC9329AC4BC9B5

// crcTable is held through a pointer on purpose: indexing through a pointer
// in a register folds each table's offset into the load, whereas the
// compiler addresses a package-level array with an extra LEAQ per lookup
// (about 10% slower in the loops below).
var crcTable = func() *[16][256]uint64 {
	t := new([16][256]uint64)
	for i := 0; i < 256; i++ {
		c := uint64(i)
		for j := 0; j < 8; j++ {
			if c&1 == 1 {
				c = c>>1 ^ crcJonesPoly
			} else {
				c >>= 1
			}
		}
		t[0][i] = c
	}
	for i := 0; i < 256; i++ {
		c := t[0][i]
		for k := 1; k < 16; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// Interleaved block geometry: a block is two halves of crcBigHalf bytes
// (or crcSmallHalf for what is left under a big block). Larger halves
// amortise the combine and loop setup; the small size keeps 1-4 KiB inputs
// on the fast path.
const (
	crcCLMULMin  = 256 // below, the fold's set-up and final 16 bytes do not pay
	crcBigHalf   = 2048
	crcSmallHalf = 512
)

var (
	crcShiftBig   = newCRCShift(crcBigHalf)
	crcShiftSmall = newCRCShift(crcSmallHalf)
)

// CRC64 continues the Redis CRC-64 (Jones) checksum crc over p.
// Start with 0; the checksum of a whole RDB file covers every byte before
// its 8-byte little-endian trailer.
func CRC64(crc uint64, p []byte) uint64 {
	if crcHasCLMUL && len(p) >= crcCLMULMin {
		crc, p = crc64CLMUL(crc, p)
	}
	if len(p) >= 2*crcBigHalf {
		crc, p = crc64Big(crc, p)
	}
	if len(p) >= 2*crcSmallHalf {
		crc, p = crc64Small(crc, p)
	}
	return crc64Slice16(crc, p)
}

// The two interleaved loops below are the same code with a different
// constant half size; a constant lets the compiler address the second
// stream at a fixed displacement from the first and drop bounds checks.
// In each 16-byte step the eight lookups that depend only on data come
// first, so the chain through the register is just its eight lookups.

// crc64Big consumes whole blocks of 2*crcBigHalf bytes and returns the rest.
func crc64Big(crc uint64, p []byte) (uint64, []byte) {
	const K = crcBigHalf
	t := crcTable
	for len(p) >= 2*K {
		b := p[:2*K]
		var c1 uint64
		for i := 0; i < K; i += 16 {
			q0 := (*[16]byte)(b[i:])
			q1 := (*[16]byte)(b[K+i:])
			a0 := crc ^ binary.LittleEndian.Uint64(q0[:8])
			a1 := c1 ^ binary.LittleEndian.Uint64(q1[:8])
			crc = t[7][q0[8]] ^ t[6][q0[9]] ^ t[5][q0[10]] ^ t[4][q0[11]] ^
				t[3][q0[12]] ^ t[2][q0[13]] ^ t[1][q0[14]] ^ t[0][q0[15]] ^
				t[15][a0&0xff] ^ t[14][a0>>8&0xff] ^ t[13][a0>>16&0xff] ^ t[12][a0>>24&0xff] ^
				t[11][a0>>32&0xff] ^ t[10][a0>>40&0xff] ^ t[9][a0>>48&0xff] ^ t[8][a0>>56]
			c1 = t[7][q1[8]] ^ t[6][q1[9]] ^ t[5][q1[10]] ^ t[4][q1[11]] ^
				t[3][q1[12]] ^ t[2][q1[13]] ^ t[1][q1[14]] ^ t[0][q1[15]] ^
				t[15][a1&0xff] ^ t[14][a1>>8&0xff] ^ t[13][a1>>16&0xff] ^ t[12][a1>>24&0xff] ^
				t[11][a1>>32&0xff] ^ t[10][a1>>40&0xff] ^ t[9][a1>>48&0xff] ^ t[8][a1>>56]
		}
		crc = crcShiftBig.apply(crc) ^ c1
		p = p[2*K:]
	}
	return crc, p
}

// crc64Small consumes whole blocks of 2*crcSmallHalf bytes and returns the
// rest.
func crc64Small(crc uint64, p []byte) (uint64, []byte) {
	const K = crcSmallHalf
	t := crcTable
	for len(p) >= 2*K {
		b := p[:2*K]
		var c1 uint64
		for i := 0; i < K; i += 16 {
			q0 := (*[16]byte)(b[i:])
			q1 := (*[16]byte)(b[K+i:])
			a0 := crc ^ binary.LittleEndian.Uint64(q0[:8])
			a1 := c1 ^ binary.LittleEndian.Uint64(q1[:8])
			crc = t[7][q0[8]] ^ t[6][q0[9]] ^ t[5][q0[10]] ^ t[4][q0[11]] ^
				t[3][q0[12]] ^ t[2][q0[13]] ^ t[1][q0[14]] ^ t[0][q0[15]] ^
				t[15][a0&0xff] ^ t[14][a0>>8&0xff] ^ t[13][a0>>16&0xff] ^ t[12][a0>>24&0xff] ^
				t[11][a0>>32&0xff] ^ t[10][a0>>40&0xff] ^ t[9][a0>>48&0xff] ^ t[8][a0>>56]
			c1 = t[7][q1[8]] ^ t[6][q1[9]] ^ t[5][q1[10]] ^ t[4][q1[11]] ^
				t[3][q1[12]] ^ t[2][q1[13]] ^ t[1][q1[14]] ^ t[0][q1[15]] ^
				t[15][a1&0xff] ^ t[14][a1>>8&0xff] ^ t[13][a1>>16&0xff] ^ t[12][a1>>24&0xff] ^
				t[11][a1>>32&0xff] ^ t[10][a1>>40&0xff] ^ t[9][a1>>48&0xff] ^ t[8][a1>>56]
		}
		crc = crcShiftSmall.apply(crc) ^ c1
		p = p[2*K:]
	}
	return crc, p
}

// crc64Slice16 is the single-stream loop for short inputs and tails.
func crc64Slice16(crc uint64, p []byte) uint64 {
	t := crcTable
	for len(p) >= 16 {
		q := (*[16]byte)(p)
		a := crc ^ binary.LittleEndian.Uint64(q[:8])
		crc = t[7][q[8]] ^ t[6][q[9]] ^ t[5][q[10]] ^ t[4][q[11]] ^
			t[3][q[12]] ^ t[2][q[13]] ^ t[1][q[14]] ^ t[0][q[15]] ^
			t[15][a&0xff] ^ t[14][a>>8&0xff] ^ t[13][a>>16&0xff] ^ t[12][a>>24&0xff] ^
			t[11][a>>32&0xff] ^ t[10][a>>40&0xff] ^ t[9][a>>48&0xff] ^ t[8][a>>56]
		p = p[16:]
	}
	if len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][crc&0xff] ^ t[6][crc>>8&0xff] ^ t[5][crc>>16&0xff] ^ t[4][crc>>24&0xff] ^
			t[3][crc>>32&0xff] ^ t[2][crc>>40&0xff] ^ t[1][crc>>48&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}

// crcShift is the linear map c -> c·x^(8n) mod P for a fixed n: the value
// the register reaches from c after n zero bytes. Entry [k][v] is the image
// of nibble v at bits 4k..4k+3.
type crcShift [16][16]uint64

func (s *crcShift) apply(c uint64) uint64 {
	return s[0][c&15] ^ s[1][c>>4&15] ^ s[2][c>>8&15] ^ s[3][c>>12&15] ^
		s[4][c>>16&15] ^ s[5][c>>20&15] ^ s[6][c>>24&15] ^ s[7][c>>28&15] ^
		s[8][c>>32&15] ^ s[9][c>>36&15] ^ s[10][c>>40&15] ^ s[11][c>>44&15] ^
		s[12][c>>48&15] ^ s[13][c>>52&15] ^ s[14][c>>56&15] ^ s[15][c>>60]
}

// newCRCShift builds the map for n zero bytes. In the reflected register,
// bit j holds the coefficient of x^(63-j), so 1<<63 is the polynomial 1,
// and multiplying by x is one step of the bitwise CRC.
func newCRCShift(n int) *crcShift {
	m := crcXPow8(n)
	var col [64]uint64 // col[j] = image of the register value 1<<j
	col[63] = m
	for j := 63; j > 0; j-- {
		c := col[j]
		if c&1 == 1 {
			c = c>>1 ^ crcJonesPoly
		} else {
			c >>= 1
		}
		col[j-1] = c
	}
	s := new(crcShift)
	for k := 0; k < 16; k++ {
		for v := 0; v < 16; v++ {
			var x uint64
			for b := 0; b < 4; b++ {
				if v>>b&1 == 1 {
					x ^= col[4*k+b]
				}
			}
			s[k][v] = x
		}
	}
	return s
}

// crcXPow8 returns x^(8n) mod P in reflected form, by square-and-multiply.
func crcXPow8(n int) uint64 {
	r := uint64(1) << 63  // 1
	sq := uint64(1) << 55 // x^8
	for ; n > 0; n >>= 1 {
		if n&1 == 1 {
			r = crcMulMod(r, sq)
		}
		sq = crcMulMod(sq, sq)
	}
	return r
}

// crcMulMod multiplies two reflected polynomials modulo P, bit by bit.
func crcMulMod(a, b uint64) uint64 {
	var r uint64
	for i := 0; i < 64; i++ {
		if a&(1<<63>>i) != 0 { // coefficient of x^i
			r ^= b
		}
		if b&1 == 1 { // b *= x
			b = b>>1 ^ crcJonesPoly
		} else {
			b >>= 1
		}
	}
	return r
}
