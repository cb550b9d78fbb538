package rdb

// Redis protects RDB files and DUMP payloads with CRC-64/Jones: reflected
// polynomial 0x95AC9329AC4BC9B5, initial value 0, no final XOR. The standard
// library's hash/crc64 inverts the register before and after each update, so
// it cannot compute this variant directly, and it rebuilds its fast tables
// per call for custom polynomials. This is a slicing-by-8 implementation
// with the tables built once.

const crcJonesPoly = 0x95AC9329AC4BC9B5

var crcTable = func() (t [8][256]uint64) {
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
		for k := 1; k < 8; k++ {
			c = t[0][c&0xff] ^ c>>8
			t[k][i] = c
		}
	}
	return t
}()

// CRC64 continues the Redis CRC-64 (Jones) checksum crc over p.
// Start with 0; the checksum of a whole RDB file covers every byte before
// its 8-byte little-endian trailer.
func CRC64(crc uint64, p []byte) uint64 {
	t := &crcTable
	for len(p) >= 8 {
		crc ^= uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
		crc = t[7][crc&0xff] ^ t[6][(crc>>8)&0xff] ^ t[5][(crc>>16)&0xff] ^ t[4][(crc>>24)&0xff] ^
			t[3][(crc>>32)&0xff] ^ t[2][(crc>>40)&0xff] ^ t[1][(crc>>48)&0xff] ^ t[0][crc>>56]
		p = p[8:]
	}
	for _, b := range p {
		crc = t[0][byte(crc)^b] ^ crc>>8
	}
	return crc
}
