package keydigest

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// A run file holds entries sorted by digest: digest, then position plus
// one, 8 bytes each, little-endian. Runs are kept in the order they were
// written, so for equal digests an earlier run holds an earlier occurrence.

// maxFanIn bounds the runs merged at once (an open file and a 64 KiB buffer
// each); more runs are first merged in groups.
const maxFanIn = 64

func sortSlots(a []slot) {
	slices.SortFunc(a, func(x, y slot) int {
		switch {
		case x.d < y.d:
			return -1
		case x.d > y.d:
			return 1
		}
		return 0
	})
}

// spill writes the table to a new run and empties it.
func (s *Set) spill() error {
	f, err := s.newRun()
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 64<<10)
	entries := s.sorted()
	var b [slotSize]byte
	for _, e := range entries {
		binary.LittleEndian.PutUint64(b[:8], e.d)
		binary.LittleEndian.PutUint64(b[8:], uint64(e.pos))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("keydigest: spill: %w", err)
	}
	s.runs = append(s.runs, f)
	s.spills++
	clear(s.slots)
	s.n = 0
	return nil
}

func (s *Set) newRun() (*os.File, error) {
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.opts.TempDir, "keydigest-")
		if err != nil {
			return nil, fmt.Errorf("keydigest: %w", err)
		}
		s.dir = dir
	}
	f, err := os.CreateTemp(s.dir, "run-*")
	if err != nil {
		return nil, fmt.Errorf("keydigest: %w", err)
	}
	return f, nil
}

// Finish calls fn for every repeat that Add did not report, in digest
// order, then releases the set (its memory and temporary files). An error
// from fn stops it and is returned. Add's answers and Finish's calls
// together name every digest added more than once: for a digest added k
// times, k-1 repeats, each with an earlier occurrence as First.
func (s *Set) Finish(fn func(Dup) error) error {
	if s.done {
		return errDone
	}
	defer s.Close()
	if len(s.runs) == 0 {
		// Everything is in memory, and Add reported every repeat.
		return nil
	}
	// Merge down to at most maxFanIn runs, keeping their order.
	for len(s.runs) > maxFanIn {
		var runs []*os.File
		for i := 0; i < len(s.runs); i += maxFanIn {
			group := s.runs[i:min(i+maxFanIn, len(s.runs))]
			if len(group) == 1 {
				runs = append(runs, group[0])
				continue
			}
			f, err := s.newRun()
			if err != nil {
				return err
			}
			w := bufio.NewWriterSize(f, 64<<10)
			var b [slotSize]byte
			err = merge(group, nil, func(e slot, _ int) error {
				binary.LittleEndian.PutUint64(b[:8], e.d)
				binary.LittleEndian.PutUint64(b[8:], uint64(e.pos))
				_, err := w.Write(b[:])
				return err
			})
			if err == nil {
				err = w.Flush()
			}
			for _, g := range group {
				g.Close()
				os.Remove(g.Name())
			}
			if err != nil {
				f.Close()
				return fmt.Errorf("keydigest: merge: %w", err)
			}
			runs = append(runs, f)
		}
		s.runs = runs
	}
	mem := s.sorted()
	var first slot
	have := false
	return merge(s.runs, mem, func(e slot, _ int) error {
		if have && e.d == first.d {
			return fn(Dup{Digest: e.d, First: first.pos - 1, Second: e.pos - 1})
		}
		first, have = e, true
		return nil
	})
}

// Close releases the set without reporting: it removes the temporary
// files. Calling it again, or after Finish, does nothing.
func (s *Set) Close() error {
	s.done = true
	s.slots = nil
	var err error
	for _, f := range s.runs {
		if e := f.Close(); e != nil && err == nil {
			err = e
		}
	}
	s.runs = nil
	if s.dir != "" {
		if e := os.RemoveAll(s.dir); e != nil && err == nil {
			err = e
		}
		s.dir = ""
	}
	return err
}

// runReader reads a run file's entries in order.
type runReader struct {
	br  *bufio.Reader
	mem []slot // or entries in memory
	src int    // the source's index: ties go to the lower
	cur slot
	buf [slotSize]byte
}

func (r *runReader) next() (bool, error) {
	if r.br == nil {
		if len(r.mem) == 0 {
			return false, nil
		}
		r.cur, r.mem = r.mem[0], r.mem[1:]
		return true, nil
	}
	b := r.buf[:]
	if _, err := io.ReadFull(r.br, b); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("keydigest: run file: %w", err)
	}
	r.cur = slot{binary.LittleEndian.Uint64(b[:8]), int64(binary.LittleEndian.Uint64(b[8:]))}
	if r.cur.pos <= 0 {
		return false, errors.New("keydigest: run file is corrupt")
	}
	return true, nil
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

// merge calls fn for every entry of the runs and then of mem (the latest
// source) in digest order; equal digests come in source order.
func merge(runs []*os.File, mem []slot, fn func(e slot, src int) error) error {
	h := make(runHeap, 0, len(runs)+1)
	for i, f := range runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("keydigest: %w", err)
		}
		r := &runReader{br: bufio.NewReaderSize(f, 64<<10), src: i}
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
