package rdb

import (
	"math/rand"
	"testing"
)

func TestCRC64KnownValues(t *testing.T) {
	// "123456789" is the standard check input (Redis src/crc64.c); the second
	// value was computed with a bit-at-a-time reference implementation.
	if got := CRC64(0, []byte("123456789")); got != 0xe9c6d914c4b8d9ca {
		t.Fatalf("CRC64(123456789) = %#x, want 0xe9c6d914c4b8d9ca", got)
	}
	long := []byte("This is a test of the emergency broadcast system.")
	if got := CRC64(0, long); got != 0x42153dc5db99540f {
		t.Fatalf("CRC64(long) = %#x, want 0x42153dc5db99540f", got)
	}
	// Incremental updates give the same result as one call.
	var c uint64
	for i := range long {
		c = CRC64(c, long[i:i+1])
	}
	if c != 0x42153dc5db99540f {
		t.Fatalf("incremental CRC64 = %#x", c)
	}
}

// crc64Bitwise is the bit-at-a-time definition of CRC-64/Jones.
func crc64Bitwise(crc uint64, p []byte) uint64 {
	for _, b := range p {
		crc ^= uint64(b)
		for j := 0; j < 8; j++ {
			if crc&1 == 1 {
				crc = crc>>1 ^ crcJonesPoly
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// crc64Slice16Old is the previous implementation (plain slicing by 16),
// kept for the comparison benchmark and as a second reference.
func crc64Slice16Old(crc uint64, p []byte) uint64 {
	t := crcTable
	for len(p) >= 16 {
		a := crc ^ (uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56)
		crc = t[15][a&0xff] ^ t[14][(a>>8)&0xff] ^ t[13][(a>>16)&0xff] ^ t[12][(a>>24)&0xff] ^
			t[11][(a>>32)&0xff] ^ t[10][(a>>40)&0xff] ^ t[9][(a>>48)&0xff] ^ t[8][a>>56] ^
			t[7][p[8]] ^ t[6][p[9]] ^ t[5][p[10]] ^ t[4][p[11]] ^
			t[3][p[12]] ^ t[2][p[13]] ^ t[1][p[14]] ^ t[0][p[15]]
		p = p[16:]
	}
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

func TestCRC64MatchesBitwise(t *testing.T) {
	r := rand.New(rand.NewSource(64))
	buf := make([]byte, 4096+64)
	r.Read(buf)
	// Every length up to 4 KiB, from a random start offset and register.
	for n := 0; n <= 4096; n++ {
		off := r.Intn(64)
		p := buf[off : off+n]
		init := r.Uint64()
		if n%7 == 0 {
			init = 0
		}
		if got, want := CRC64(init, p), crc64Bitwise(init, p); got != want {
			t.Fatalf("len %d off %d init %#x: CRC64 = %#x, bitwise %#x", n, off, init, got, want)
		}
	}
}

func TestCRC64Large(t *testing.T) {
	r := rand.New(rand.NewSource(65))
	buf := make([]byte, 1<<20+4099)
	r.Read(buf)
	for _, n := range []int{1 << 20, 1<<20 + 1, 1<<20 + 4099, 1<<20 - 1, 3<<18 + 777,
		4096*5 + 1024*3 + 15, 100003, 65536, 65537} {
		for _, init := range []uint64{0, r.Uint64()} {
			p := buf[len(buf)-n:]
			if got, want := CRC64(init, p), crc64Bitwise(init, p); got != want {
				t.Fatalf("len %d init %#x: CRC64 = %#x, bitwise %#x", n, init, got, want)
			}
		}
	}
}

func TestCRC64Incremental(t *testing.T) {
	r := rand.New(rand.NewSource(66))
	buf := make([]byte, 64<<10)
	r.Read(buf)
	whole := CRC64(0, buf)
	if want := crc64Slice16Old(0, buf); whole != want {
		t.Fatalf("CRC64 = %#x, old slicing %#x", whole, want)
	}
	for i := 0; i < 300; i++ {
		// Cuts at random points, with pieces from tiny to several blocks.
		var c uint64
		for p := buf; len(p) > 0; {
			n := r.Intn(1 << uint(r.Intn(15)+1))
			if n > len(p) {
				n = len(p)
			}
			c = CRC64(c, p[:n])
			p = p[n:]
		}
		if c != whole {
			t.Fatalf("round %d: piecewise CRC64 = %#x, want %#x", i, c, whole)
		}
	}
}

func TestCRCShift(t *testing.T) {
	zeros := make([]byte, 5000)
	r := rand.New(rand.NewSource(67))
	for _, n := range []int{0, 1, 7, 8, 16, 100, crcSmallHalf, crcBigHalf, 4999} {
		s := newCRCShift(n)
		for i := 0; i < 20; i++ {
			c := r.Uint64()
			if got, want := s.apply(c), crc64Bitwise(c, zeros[:n]); got != want {
				t.Fatalf("shift %d of %#x = %#x, want %#x", n, c, got, want)
			}
		}
	}
}

// crc64Tables is CRC64 without the carry-less multiplication path.
func crc64Tables(crc uint64, p []byte) uint64 {
	if len(p) >= 2*crcBigHalf {
		crc, p = crc64Big(crc, p)
	}
	if len(p) >= 2*crcSmallHalf {
		crc, p = crc64Small(crc, p)
	}
	return crc64Slice16(crc, p)
}

// TestCRC64CLMUL checks the folding path on its own against the bitwise
// definition: whole 64-byte blocks from 128 bytes up, random data,
// offsets and registers, with and without a tail.
func TestCRC64CLMUL(t *testing.T) {
	if !crcHasCLMUL {
		t.Skip("no PCLMULQDQ on this CPU: CRC64 uses the tables")
	}
	r := rand.New(rand.NewSource(5))
	buf := make([]byte, 8192+128)
	r.Read(buf)
	for n := 128; n <= 8192; n += 64 {
		for _, tail := range []int{0, 1, 63} {
			off := r.Intn(64)
			p := buf[off : off+n+tail]
			init := r.Uint64()
			got, rest := crc64CLMUL(init, p)
			if len(rest) != tail {
				t.Fatalf("len %d: %d bytes left, want %d", len(p), len(rest), tail)
			}
			if want := crc64Bitwise(init, p[:n]); got != want {
				t.Fatalf("len %d off %d init %#x: fold = %#x, bitwise %#x", n, off, init, got, want)
			}
		}
	}
	// The constants are powers of x: x^64 mod P is the polynomial itself
	// (reflected), and x^0 is the top bit.
	if crcXPow(64) != crcJonesPoly || crcXPow(0) != 1<<63 {
		t.Errorf("crcXPow(64) = %#x, crcXPow(0) = %#x", crcXPow(64), crcXPow(0))
	}
}

func BenchmarkCRC64(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for i := 0; i < b.N; i++ {
		CRC64(0, buf)
	}
}

// BenchmarkCRC64Compare runs the current and previous implementations side
// by side on the same buffers.
func BenchmarkCRC64Compare(b *testing.B) {
	impls := []struct {
		name string
		f    func(uint64, []byte) uint64
	}{{"new", CRC64}, {"tables", crc64Tables}, {"old", crc64Slice16Old}}
	sizes := []struct {
		name string
		n    int
	}{{"64B", 64}, {"1KiB", 1 << 10}, {"4KiB", 4 << 10}, {"256KiB", 256 << 10}}
	for _, sz := range sizes {
		buf := make([]byte, sz.n)
		for i := range buf {
			buf[i] = byte(i * 7)
		}
		for _, im := range impls {
			b.Run(sz.name+"/"+im.name, func(b *testing.B) {
				b.SetBytes(int64(len(buf)))
				var c uint64
				for i := 0; i < b.N; i++ {
					c = im.f(c, buf)
				}
			})
		}
	}
}
