package analyze

import (
	"math"
	"strconv"
	"strings"

	"github.com/rdbtool/rdbtool/rdb"
)

// ServerVersion names the server whose memory layout the estimate models.
type ServerVersion struct {
	Valkey              bool
	Major, Minor, Patch int
}

func (v ServerVersion) String() string {
	if v.Major == 0 {
		return "unknown"
	}
	name := "redis"
	if v.Valkey {
		name = "valkey"
	}
	return name + "-" + strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
}

// ParseServerVersion parses "7.4.1", "redis-7.4.1" or "valkey-8.0.1".
func ParseServerVersion(s string) (ServerVersion, bool) {
	var v ServerVersion
	l := strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(l, "valkey"):
		v.Valkey = true
		l = strings.TrimLeft(l[len("valkey"):], "-: ")
	case strings.HasPrefix(l, "redis"):
		l = strings.TrimLeft(l[len("redis"):], "-: ")
	}
	parts := strings.SplitN(l, ".", 3)
	nums := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			return v, i > 0
		}
		*nums[i] = n
	}
	return v, v.Major > 0
}

func (v ServerVersion) atLeast(major, minor int) bool {
	return v.Major > major || (v.Major == major && v.Minor >= minor)
}

// versionFromRDB guesses the server from the RDB format version when the
// file has no redis-ver/valkey-ver aux field.
func versionFromRDB(d rdb.Dialect, rdbVer int) ServerVersion {
	r := rdb.ReleaseOf(rdb.Target{Dialect: d, Version: rdbVer})
	return ServerVersion{Valkey: r.Valkey, Major: r.Major, Minor: r.Minor}
}

// model holds the struct sizes and rules of one server version.
type model struct {
	v     ServerVersion
	alloc Allocator

	dict       uint64 // sizeof(dict)
	dictEntry  uint64 // what MEMORY USAGE counts per dict entry
	sdsExact   bool   // 4.0/5.0 count sds by header+len+1, not usable size
	keyArgv    bool   // 4.0 counts the key of the command's argument
	valkeyEmb  bool   // valkey 8.0: key embedded in the dict entry
	kvobj      bool   // redis 8: key embedded in the value object
	stream     uint64 // sizeof(stream)
	streamCG   uint64
	consumer   uint64
	zslMaxLvl  uint64
	listpackEx uint64 // sizeof(listpackEx), 7.4+
	valkeySet  bool   // valkey 8.0: set entries stored in buckets when alone
	exactBlobs bool   // before 7.0: compact blobs and embstr counted by length, not allocation
	exactLP    bool   // redis 8.6: listpacks and intsets counted by length
	zsetLean   bool   // 4.0: skiplist zsets count no zskiplist, dict or header
	streamPre  uint64 // stream node listpacks preallocated to this size (6.2+)
	streamLP   bool   // streams count listpack allocations (6.2+), else lpBytes
}

func newModel(v ServerVersion, a Allocator) *model {
	m := &model{v: v, alloc: a, dictEntry: 24, zslMaxLvl: 32, stream: 40, streamCG: 32, consumer: 24}
	m.dict = 96
	if v.atLeast(7, 0) {
		m.dict = 56
		m.stream = 80
		m.streamCG = 40
	}
	if v.atLeast(7, 2) {
		m.consumer = 32
	}
	if v.atLeast(7, 4) || v.Valkey && v.atLeast(8, 0) {
		m.dict = 56
	}
	m.listpackEx = 32
	if !v.Valkey && !v.atLeast(6, 0) {
		m.sdsExact = true
	}
	if !v.Valkey && v.Major == 4 {
		m.keyArgv = true
	}
	if v.Valkey && v.atLeast(8, 0) {
		m.valkeyEmb = true
		m.valkeySet = true
	}
	if !v.Valkey && v.atLeast(8, 0) {
		m.kvobj = true
	}
	if !v.atLeast(7, 0) {
		m.exactBlobs = true
	}
	if m.kvobj {
		m.valkeySet = true // no_value set dicts (measured)
	}
	if m.kvobj && v.atLeast(8, 6) {
		// Redis 8.6 accumulates requested sizes for listpacks (measured
		// against 8.6.3: no allocator rounding, no stream preallocation).
		m.exactLP = true
	}
	if !v.atLeast(5, 0) {
		m.zsetLean = true
	}
	if v.atLeast(6, 2) && !m.exactLP {
		m.streamLP = true
		m.streamPre = 4096
	}
	return m
}

// listpacksOnly reports whether the version keeps no ziplists: from 7.0
// on, ziplists, zipmaps and linked lists in a file are converted on load
// (lists to quicklists of listpack nodes).
func (m *model) listpacksOnly() bool { return m.v.Valkey || m.v.atLeast(7, 0) }

// quicklistOnly reports whether a linked list in a file is loaded as a
// quicklist (3.2 and later).
func (m *model) quicklistOnly() bool { return m.v.Valkey || m.v.atLeast(3, 2) }

func (m *model) u(n uint64) uint64 { return m.alloc.Usable(n) }

// blob is what MEMORY USAGE counts for a compact blob of n bytes.
func (m *model) blob(n uint64) uint64 {
	if m.exactBlobs || m.exactLP {
		return n
	}
	return m.u(n)
}

// sdsHdr is the sds header size for a string of n bytes (sdsReqType).
func sdsHdr(n uint64) uint64 {
	switch {
	case n < 1<<5:
		return 1
	case n < 1<<8:
		return 3
	case n < 1<<16:
		return 5
	case n < 1<<32:
		return 9
	}
	return 17
}

// sds is what MEMORY USAGE counts for an sds string of n bytes created
// with its exact length.
func (m *model) sds(n uint64) uint64 {
	if m.sdsExact {
		return sdsHdr(n) + n + 1
	}
	return m.u(sdsHdr(n) + n + 1)
}

// sdsNon5 is an sds never given the 1-byte header (sdsnewlen of an empty
// init and the embstr header).
func (m *model) sdsNon5(n uint64) uint64 {
	h := sdsHdr(n)
	if h == 1 {
		h = 3
	}
	if m.sdsExact {
		return h + n + 1
	}
	return m.u(h + n + 1)
}

// buckets is the bucket count of a dict holding n entries that grew by
// insertion: the next power of two at or above n, at least 4.
func buckets(n uint64) uint64 {
	if n <= 4 {
		return 4
	}
	return uint64(1) << (64 - leadingZeros(n-1))
}

func leadingZeros(x uint64) int {
	n := 0
	for i := 63; i >= 0; i-- {
		if x&(1<<uint(i)) != 0 {
			return n
		}
		n++
	}
	return 64
}

// keyOverhead is what MEMORY USAGE adds for the key beside the value:
// the key's sds and the keyspace dict entry.
func (m *model) keyOverhead(keyLen int, expire bool) uint64 {
	n := uint64(keyLen)
	switch {
	case m.kvobj:
		return 0 // counted with the object
	case m.valkeyEmb:
		// dictEntryEmbedded: value pointer, next, header-size byte, then
		// the key sds copied in (header, bytes, terminator).
		// The embedded key always has at least an sdshdr8 header (measured).
		return m.u(17 + sdsHdrEmb(n) + n + 1)
	case m.keyArgv:
		// The key of the command's argument: an embstr (sdshdr8) up to
		// 44 bytes, else an exact sds.
		if n <= 44 {
			return 3 + n + 1 + m.dictEntry
		}
		return sdsHdr(n) + n + 1 + m.dictEntry
	}
	return m.sds(n) + m.dictEntry
}

// kvobjSize is Redis 8's object allocation: the robj header, the
// embedded key (one size byte, sds header, bytes, terminator), an
// expiry when the key has one, and an embedded string value.
func (m *model) kvobjSize(keyLen int, expire bool, embVal uint64) uint64 {
	n := uint64(keyLen)
	size := 16 + 1 + sdsHdr(n) + n + 1
	if expire {
		size += 8
	}
	return m.u(size + embVal)
}

// expectedZslNode is the mean allocation of a skiplist node: 24 bytes
// plus 16 per level, levels drawn with p = 1/4 (zslRandomLevel).
func (m *model) expectedZslNode() float64 {
	var e float64
	p := 0.75
	for l := uint64(1); l <= m.zslMaxLvl; l++ {
		e += p * float64(m.u(24+16*l))
		p *= 0.25
		if p < 1e-12 {
			break
		}
	}
	return e
}

// valkeySetEntry is the expected dictEntryMemUsage of a Valkey 8.0 set
// member: 0 when it sits alone in its bucket, 16 for a chained entry.
func valkeySetEntry(n, b uint64) float64 {
	if n == 0 {
		return 0
	}
	alpha := float64(n) / float64(b)
	chained := 1 - float64(b)*(1-math.Exp(-alpha))/float64(n)
	return 16 * chained
}
