package rdb

import "testing"

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
