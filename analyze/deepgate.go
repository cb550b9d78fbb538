package analyze

import (
	"sync/atomic"

	"github.com/rdbtool/rdbtool/rdb"
)

// deepGate finds the largest element of a compact blob (listpack, ziplist,
// intset, zipmap) only for keys that may still enter a top list: iterating
// every blob would cost analyze about half again its time on files of
// small hashes and sets, for figures it shows for a few keys.
//
// The cuts are the smallest scores of the top-list heaps once they are
// full, raised as the heaps fill (by the goroutine aggregating keys) and
// read by the goroutines measuring them. A stale cut is lower than the
// current one, so it lets more blobs be iterated, never fewer: every key
// that ends in a top list had its blob iterated, whatever the timing, and
// the report is the same at any Options.Jobs.
type deepGate struct {
	cuts map[string]*typeCuts // by type name; read-only after newDeepGate
	hot  atomic.Uint64        // smallest LFU counter in the full hot-key heap
}

type typeCuts struct {
	memory, elements atomic.Uint64
}

func newDeepGate() *deepGate {
	g := &deepGate{cuts: map[string]*typeCuts{}}
	for _, t := range []rdb.Type{rdb.TypeString, rdb.TypeList, rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash, rdb.TypeStream} {
		g.cuts[t.String()] = &typeCuts{}
	}
	return g
}

// wants reports whether the blob of rec, of this uncompressed size and
// header entry count (at least the key's elements), could belong to a key
// that enters a top list.
func (g *deepGate) wants(rec *rdb.Record, size, count uint64) bool {
	c := g.cuts[rec.Type.String()]
	if c == nil || rec.Freq >= 0 && uint64(rec.Freq) >= g.hot.Load() {
		return true
	}
	// A bound of the key's estimate from its blob: the blob rounded up
	// to its size class (at most 25% more), a format the target server
	// converts it to (no more than twice the size), the key's sds, the
	// object and the dict entry. Too high costs time, too low a wrong
	// "unknown".
	bound := 2*size + 2*uint64(len(rec.Key)) + 512
	return bound >= c.memory.Load() || count >= c.elements.Load()
}

// raise records the cuts of a type's heaps and the hot-key heap after an
// offer.
func (g *deepGate) raise(typ string, byMemory, byElements, hot *keyHeap) {
	if c := g.cuts[typ]; c != nil {
		if s, ok := byMemory.cut(); ok {
			c.memory.Store(s)
		}
		if s, ok := byElements.cut(); ok {
			c.elements.Store(s)
		}
	}
	if s, ok := hot.cut(); ok {
		g.hot.Store(s)
	}
}

// cut is the smallest score in a full heap: a key scoring below it cannot
// enter.
func (h *keyHeap) cut() (uint64, bool) {
	if h.n <= 0 || len(h.items) < h.n {
		return 0, false
	}
	return h.score(&h.items[0]), true
}
