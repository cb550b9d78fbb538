package analyze

import (
	"fmt"
	"math/bits"
	"strings"
)

// Allocator selects the malloc whose size rounding the estimate applies.
type Allocator uint8

const (
	// Jemalloc rounds to jemalloc's size classes (the default build of
	// Redis and Valkey on Linux, and so what production servers use).
	Jemalloc Allocator = iota
	// Libc rounds as glibc's malloc_usable_size does (servers built with
	// MALLOC=libc).
	Libc
)

func (a Allocator) String() string {
	if a == Libc {
		return "libc"
	}
	return "jemalloc"
}

// ParseAllocator accepts "jemalloc" and "libc" (also "glibc"), and the
// mem_allocator strings servers report ("jemalloc-5.3.0", "libc").
func ParseAllocator(s string) (Allocator, error) {
	switch l := strings.ToLower(s); {
	case strings.HasPrefix(l, "jemalloc"):
		return Jemalloc, nil
	case l == "libc" || l == "glibc":
		return Libc, nil
	}
	return 0, fmt.Errorf("unknown allocator %q (jemalloc or libc)", s)
}

// Usable returns the usable size of an allocation of n bytes: what
// zmalloc_size/malloc_usable_size would report for it.
func (a Allocator) Usable(n uint64) uint64 {
	if a == Libc {
		return libcUsable(n)
	}
	return jemallocUsable(n)
}

// jemallocUsable rounds n up to a jemalloc size class as Redis and Valkey
// build jemalloc (--with-lg-quantum=3): multiples of 8 up to 64, then four
// classes per doubling (80, 96, 112, 128, 160, 192, 224, 256, 320, ...).
// Large classes follow the same four-per-doubling rule.
func jemallocUsable(n uint64) uint64 {
	switch {
	case n <= 8:
		return 8
	case n <= 64:
		return (n + 7) &^ 7
	}
	k := bits.Len64(n-1) - 1 // 2^k < n <= 2^(k+1)
	delta := uint64(1) << (k - 2)
	return (n + delta - 1) &^ (delta - 1)
}

// libcUsable models glibc malloc on 64-bit Linux: a chunk is the request
// plus an 8-byte header rounded up to 16 (at least 32), and the usable
// size is the chunk less the header. Requests of 128 KiB and more are
// served by mmap: whole pages with a 16-byte header.
func libcUsable(n uint64) uint64 {
	const mmapThreshold = 128 << 10
	if n >= mmapThreshold {
		chunk := (n + 8 + 15) &^ 15
		return (chunk+8+4095)&^4095 - 16
	}
	chunk := (n + 8 + 15) &^ 15
	if chunk < 32 {
		chunk = 32
	}
	return chunk - 8
}
