package analyze

import (
	"bytes"
	"container/heap"
	"sort"
)

// TopKeys keeps the n keys with the largest estimates among those offered,
// in memory bounded by n whatever the number offered: a min-heap whose
// root, the smallest kept, is replaced when a bigger key comes. It is what
// "rdbtool memory --largest N" runs.
type TopKeys struct {
	n     int
	items topHeap
}

// NewTopKeys returns a TopKeys keeping at most n keys.
func NewTopKeys(n int) *TopKeys { return &TopKeys{n: n} }

// Offer considers k, copying it (and its name) when it is kept.
func (t *TopKeys) Offer(k *Key) {
	if t.n <= 0 {
		return
	}
	if len(t.items) == t.n && !worse(&t.items[0], k) {
		return
	}
	c := *k
	c.Key = bytes.Clone(k.Key)
	if len(t.items) < t.n {
		heap.Push(&t.items, c)
		return
	}
	t.items[0] = c
	heap.Fix(&t.items, 0)
}

// Keys returns the kept keys, largest estimate first; equal estimates in
// database and then key order.
func (t *TopKeys) Keys() []Key {
	out := append([]Key(nil), t.items...)
	sort.Slice(out, func(i, j int) bool { return worse(&out[j], &out[i]) })
	return out
}

// worse orders keys for the heap: smaller estimate, then for equal
// estimates the later database and key, so the order is total and the
// result does not depend on the order keys were offered in.
func worse(a, b *Key) bool {
	if a.Bytes != b.Bytes {
		return a.Bytes < b.Bytes
	}
	if a.DB != b.DB {
		return a.DB > b.DB
	}
	return bytes.Compare(a.Key, b.Key) > 0
}

type topHeap []Key

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return worse(&h[i], &h[j]) }
func (h topHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *topHeap) Push(x any)        { *h = append(*h, x.(Key)) }
func (h *topHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
