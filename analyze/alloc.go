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
	// JemallocSystem rounds to the size classes of a distribution's
	// shared libjemalloc, built with jemalloc's default 16-byte quantum:
	// 8, 16, 32, 48, 64, then as Jemalloc. Debian's and Ubuntu's
	// redis-server packages link it (measured on Debian's 7.0.15: a
	// 17-byte key sds takes 32 bytes there, 24 in Redis's own build).
	// INFO cannot tell the two apart: both report "jemalloc-5.3.0".
	JemallocSystem
)

func (a Allocator) String() string {
	switch a {
	case Libc:
		return "libc"
	case JemallocSystem:
		return "jemalloc-system"
	}
	return "jemalloc"
}

// ParseAllocator accepts "jemalloc", "jemalloc-system" (also "debian")
// and "libc" (also "glibc"), and the mem_allocator strings servers report
// ("jemalloc-5.3.0" is taken as Redis's own jemalloc build, "libc").
func ParseAllocator(s string) (Allocator, error) {
	switch l := strings.ToLower(strings.TrimSpace(s)); {
	case l == "jemalloc-system" || l == "debian":
		return JemallocSystem, nil
	case strings.HasPrefix(l, "jemalloc"):
		return Jemalloc, nil
	case l == "libc" || l == "glibc":
		return Libc, nil
	}
	return 0, fmt.Errorf("unknown allocator %q (jemalloc, jemalloc-system or libc)", s)
}

// Usable returns the usable size of an allocation of n bytes: what
// zmalloc_size/malloc_usable_size would report for it.
func (a Allocator) Usable(n uint64) uint64 {
	switch a {
	case Libc:
		return libcUsable(n)
	case JemallocSystem:
		if n <= 64 && n > 8 {
			return (n + 15) &^ 15
		}
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
