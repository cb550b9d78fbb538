package analyze

import (
	"bytes"
	"sync"
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
//
// Lists cannot be judged by one of their nodes: with a Reader that can go
// back to a record, none is iterated and the lists that end in a top list
// are read again (fillLargest); otherwise every list is iterated.
type deepGate struct {
	cuts map[string]*typeCuts // by type name; read-only after newDeepGate
	hot  atomic.Uint64        // smallest LFU counter in the full hot-key heap
	// listsLater: lists are not iterated at all; once the scan is over,
	// those in top lists are read again (fillLargest). Set before the
	// scan when its Reader can go back to a record (rdb.Reader.CanReopen).
	listsLater bool
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

// fillLargest measures the largest element of the lists in p's top lists,
// which the scan did not iterate (deepGate.listsLater), by reading each
// again through r: a few values instead of every list in the file, on
// up to workers goroutines.
func (p *partial) fillLargest(r *rdb.Reader, workers int) error {
	if p.gate == nil || !p.gate.listsLater {
		return nil
	}
	// By offset: a key can be in several lists.
	refs := map[int64][]*KeyRef{}
	var todo []*KeyRef
	add := func(h *keyHeap) {
		for i := range h.items {
			ref := &h.items[i]
			if ref.Type != rdb.TypeList.String() || ref.LargestElement >= 0 {
				continue
			}
			if refs[ref.offset] == nil {
				todo = append(todo, ref)
			}
			refs[ref.offset] = append(refs[ref.offset], ref)
		}
	}
	for _, b := range p.big {
		add(b.h[0])
		add(b.h[1])
	}
	add(p.hot)
	largest := make([]int64, len(todo))
	errs := make([]error, len(todo))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(workers, 1), len(todo)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(todo); i = int(next.Add(1) - 1) {
				largest[i], errs[i] = largestAt(r, todo[i])
			}
		}()
	}
	wg.Wait()
	for i, ref := range todo {
		if errs[i] != nil {
			return errs[i]
		}
		for _, same := range refs[ref.offset] {
			same.LargestElement = largest[i]
		}
	}
	return nil
}

// largestAt reads the list ref again, at its offset, and returns the
// length of its largest element. The record found there must be the key
// the scan read: a file rewritten since is ErrChanged, not a wrong figure.
func largestAt(r *rdb.Reader, ref *KeyRef) (int64, error) {
	rr, err := r.ReopenAt(ref.offset, ref.DB)
	if err != nil {
		return 0, err
	}
	rec, err := rr.Next()
	if err != nil {
		return 0, err
	}
	if rec.Kind != rdb.KindKey || rec.Offset != ref.offset || rec.DB != ref.DB || rec.Type != rdb.TypeList || !bytes.Equal(rec.Key, ref.Key) {
		return 0, &rdb.Error{Name: ref.File, Offset: ref.offset, Key: ref.Key,
			What: "reading the list again for its largest element, another record was found", Err: rdb.ErrChanged}
	}
	var s rdb.Shape
	if err := rr.ReadShapeInto(&s, &rdb.ShapeOptions{Deep: true}); err != nil {
		return 0, err
	}
	if !s.LargestKnown {
		return -1, nil
	}
	return int64(s.Largest), nil
}
