package keydigest

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// heapMerge is merge as it was written with container/heap, kept as the
// reference the loser tree is compared with.
func heapMerge(runs []*os.File, mem []slot, fn func(e slot, src int) error) error {
	h := make(runHeap, 0, len(runs)+1)
	for i, f := range runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		r := &runReader{f: f, src: i}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			h = append(h, r)
		}
	}
	if len(mem) > 0 {
		r := &runReader{mem: mem, src: len(runs)}
		r.next()
		h = append(h, r)
	}
	heap.Init(&h)
	for len(h) > 0 {
		r := h[0]
		if err := fn(r.cur, r.src); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	return nil
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if h[i].cur.d != h[j].cur.d {
		return h[i].cur.d < h[j].cur.d
	}
	return h[i].src < h[j].src
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type merged struct {
	e   slot
	src int
}

// The loser tree merges exactly as container/heap did: random runs (1 to
// 70 of them, some empty, digests from a small range so that many repeat
// within and across runs), with and without entries in memory, and with
// fn stopping the merge part way.
func TestMergeMatchesHeap(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2026))
	dir := t.TempDir()
	for round := range 300 {
		k := 1 + rng.IntN(70)
		if round%10 == 0 {
			k = 1 + rng.IntN(3)
		}
		space := uint64(1 + rng.IntN(2000))
		var runs []*os.File
		for i := range k {
			n := rng.IntN(200)
			if rng.IntN(5) == 0 {
				n = 0
			}
			a := make([]slot, n)
			for j := range a {
				a[j] = slot{d: rng.Uint64N(space) << 40, pos: int64(1 + rng.IntN(1<<30))}
			}
			sortSlots(a)
			f, err := os.Create(filepath.Join(dir, fmt.Sprintf("r%d-%d", round, i)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var b [slotSize]byte
			for _, e := range a {
				binary.LittleEndian.PutUint64(b[:8], e.d)
				binary.LittleEndian.PutUint64(b[8:], uint64(e.pos))
				f.Write(b[:])
			}
			runs = append(runs, f)
		}
		var mem []slot
		if rng.IntN(3) > 0 {
			mem = make([]slot, rng.IntN(100))
			for j := range mem {
				mem[j] = slot{d: rng.Uint64N(space) << 40, pos: int64(1 + rng.IntN(1<<30))}
			}
			sortSlots(mem)
		}
		stopAt := -1
		if rng.IntN(4) == 0 {
			stopAt = rng.IntN(500)
		}
		collect := func(m func([]*os.File, []slot, func(slot, int) error) error) ([]merged, error) {
			var out []merged
			err := m(runs, slices.Clone(mem), func(e slot, src int) error {
				if len(out) == stopAt {
					return fmt.Errorf("stop at %d", stopAt)
				}
				out = append(out, merged{e, src})
				return nil
			})
			return out, err
		}
		want, wantErr := collect(heapMerge)
		got, err := collect(merge)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || !slices.Equal(got, want) {
			t.Fatalf("round %d (%d runs, %d in memory): %d entries, error %v; container/heap: %d entries, error %v", round, k, len(mem), len(got), err, len(want), wantErr)
		}
		if stopAt < 0 && !slices.IsSortedFunc(got, func(a, b merged) int {
			if a.e.d != b.e.d {
				return map[bool]int{true: -1, false: 1}[a.e.d < b.e.d]
			}
			return a.src - b.src
		}) {
			t.Fatalf("round %d: not in (digest, source) order", round)
		}
	}
}

// BenchmarkMerge merges 27 runs of 196k entries and the table, as the
// key check's Finish does on mixed.rdb (5.2M keys, 8 MiB budget).
func BenchmarkMerge(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	dir := b.TempDir()
	var runs []*os.File
	for i := range 27 {
		a := make([]slot, 196_000)
		for j := range a {
			a[j] = slot{d: rng.Uint64(), pos: int64(j + 1)}
		}
		sortSlots(a)
		f, err := os.Create(filepath.Join(dir, fmt.Sprint(i)))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		var buf [slotSize]byte
		for _, e := range a {
			binary.LittleEndian.PutUint64(buf[:8], e.d)
			binary.LittleEndian.PutUint64(buf[8:], uint64(e.pos))
			w.Write(buf[:])
		}
		w.Flush()
		runs = append(runs, f)
	}
	for _, m := range []struct {
		name string
		fn   func([]*os.File, []slot, func(slot, int) error) error
	}{{"heap", heapMerge}, {"losertree", merge}} {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				n := 0
				if err := m.fn(runs, nil, func(slot, int) error { n++; return nil }); err != nil || n != 27*196_000 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
