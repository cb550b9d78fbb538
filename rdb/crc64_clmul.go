package rdb

import "encoding/binary"

// Carry-less multiplication (PCLMULQDQ on amd64) folds 64 bytes a step,
// several times faster than the table loops. With polynomials written
// most significant coefficient first, a 16-byte block A = Ah·x^64 + Al
// that is D bits ahead of another is moved onto it as
//
//	A·x^D ≡ Ah·(x^(D+64) mod P) + Al·(x^D mod P)
//
// Both products have fewer than 128 bits, so no reduction is needed until
// the end. The data are bit-reflected (the first bit of a byte is its
// least significant), and a product of two reflected 64-bit values comes
// out one bit short of the reflected 128-bit product; constants for
// x^(n-1) make up for it. The folded 16 bytes are finally checksummed from
// zero with the table code: the CRC of a value from zero is the value
// times x^64 modulo P, which is what the CRC of the whole input is.

// crcFoldK holds, per fold distance D = 512, 384, 256, 128 bits, the
// reflected x^(D+63) mod P (for the low, first-read half) and x^(D-1) mod P
// (for the high half).
var crcFoldK = func() (k [8]uint64) {
	for i, d := range []int{512, 384, 256, 128} {
		k[2*i], k[2*i+1] = crcXPow(d+63), crcXPow(d-1)
	}
	return k
}()

// crcXPow returns x^n mod P, reflected. In the reflected form bit i is the
// coefficient of x^(63-i), so multiplying by x is a right shift, with the
// polynomial added back when the x^63 term overflows.
func crcXPow(n int) uint64 {
	r := uint64(1) << 63
	for ; n > 0; n-- {
		if r&1 == 1 {
			r = r>>1 ^ crcJonesPoly
		} else {
			r >>= 1
		}
	}
	return r
}

// crc64CLMUL consumes the whole 64-byte blocks of p (at least two) and
// returns the CRC so far and the rest.
func crc64CLMUL(crc uint64, p []byte) (uint64, []byte) {
	n := len(p) &^ 63
	lo, hi := crc64Fold(crc, p[:n], &crcFoldK)
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], lo)
	binary.LittleEndian.PutUint64(b[8:], hi)
	return crc64Slice16(0, b[:]), p[n:]
}
