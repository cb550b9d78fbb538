package keydigest

import (
	"bufio"
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

// spill writes the table to a new run and empties it. When two tables
// fit the budget, the table goes to a goroutine that sorts and writes it
// while Add goes on with a second (the one the spill before wrote, once
// that has finished); the table no longer grows once it spills.
func (s *Set) spill() error {
	if err := s.waitSpill(); err != nil {
		return err
	}
	f, err := s.newRun()
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f)
	s.spills++
	full, shift := s.slots, s.shift
	if int64(len(full))*2*slotSize > s.opts.MemLimit {
		err := writeRun(f, sortTable(full, shift))
		clear(full)
		s.n = 0
		return err
	}
	if len(s.spare) == len(full) {
		s.slots = s.spare
	} else {
		s.slots = make([]slot, len(full))
	}
	s.spare = nil
	s.n = 0
	done := make(chan error, 1)
	s.spilling = done
	go func() {
		err := writeRun(f, sortTable(full, shift))
		clear(full)
		s.spare = full // read by the Set's goroutine only after done
		done <- err
	}()
	return nil
}

// waitSpill waits for the spill in flight, if any, and returns its error.
func (s *Set) waitSpill() error {
	if s.spilling == nil {
		return nil
	}
	err := <-s.spilling
	s.spilling = nil
	return err
}

// writeRun writes sorted entries to f, a block at a time (a bufio.Writer
// call per entry cost more than the writes).
func writeRun(f *os.File, entries []slot) error {
	buf := make([]byte, 0, runBlock)
	for len(entries) > 0 {
		n := min(len(entries), runBlock/slotSize)
		for _, e := range entries[:n] {
			buf = binary.LittleEndian.AppendUint64(buf, e.d)
			buf = binary.LittleEndian.AppendUint64(buf, uint64(e.pos))
		}
		entries = entries[n:]
		if _, err := f.Write(buf); err != nil {
			return fmt.Errorf("keydigest: spill: %w", err)
		}
		buf = buf[:0]
	}
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
	if err := s.waitSpill(); err != nil {
		return err
	}
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
	err := s.waitSpill()
	s.done = true
	s.slots, s.spare = nil, nil
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

// runReader reads a run file's entries in order, a block at a time.
type runReader struct {
	f     io.Reader // nil once read to its end (or for entries in memory)
	mem   []slot    // entries not yet returned: of the block, or in memory
	src   int       // the source's index: ties go to the lower
	cur   slot
	buf   []byte
	block []slot
}

// runBlock is how many bytes of a run file a runReader reads at once.
const runBlock = 64 << 10

func (r *runReader) next() (bool, error) {
	if len(r.mem) == 0 {
		if r.f == nil {
			return false, nil
		}
		if err := r.fill(); err != nil {
			return false, err
		}
		if len(r.mem) == 0 {
			return false, nil
		}
	}
	r.cur, r.mem = r.mem[0], r.mem[1:]
	return true, nil
}

// fill decodes the next block of the file into mem.
func (r *runReader) fill() error {
	if r.buf == nil {
		r.buf = make([]byte, runBlock)
	}
	n, err := io.ReadFull(r.f, r.buf)
	switch err {
	case nil:
	case io.EOF, io.ErrUnexpectedEOF:
		r.f = nil
		if n%slotSize != 0 {
			return errors.New("keydigest: run file is corrupt")
		}
	default:
		return fmt.Errorf("keydigest: run file: %w", err)
	}
	b := r.buf[:n]
	r.block = r.block[:0]
	for ; len(b) >= slotSize; b = b[slotSize:] {
		e := slot{binary.LittleEndian.Uint64(b[:8]), int64(binary.LittleEndian.Uint64(b[8:]))}
		if e.pos <= 0 {
			return errors.New("keydigest: run file is corrupt")
		}
		r.block = append(r.block, e)
	}
	r.mem = r.block
	return nil
}

// loserTree merges sorted sources: a tournament whose internal nodes hold
// the loser of the match played there, so that replacing the winner's
// entry replays one path to the root, one comparison per level, with no
// interface calls (container/heap's cost, with 5.2M keys in 27 runs, was
// most of the merge). Matches compare two flat arrays, not the sources.
type loserTree struct {
	src []*runReader // the leaves, in source order
	// node[p], p in 1..len(src)-1, is the loser at internal node p, whose
	// children are 2p and 2p+1 (leaf i at len(src)+i); node[0] is the
	// winner.
	node []int
	// key is the digest of the source's current entry; rank breaks ties
	// by source, and puts a source with no entry left (rank above every
	// live one, key the largest) last.
	key  []uint64
	rank []int
}

func (t *loserTree) less(a, b int) bool {
	ka, kb := t.key[a], t.key[b]
	return ka < kb || ka == kb && t.rank[a] < t.rank[b]
}

// set records source i's current entry, or that it has none left.
func (t *loserTree) set(i int, ok bool) {
	if ok {
		t.key[i], t.rank[i] = t.src[i].cur.d, i
	} else {
		t.key[i], t.rank[i] = ^uint64(0), len(t.src)+i
	}
}

// live reports whether source i has an entry.
func (t *loserTree) live(i int) bool { return t.rank[i] < len(t.src) }

// init plays every match.
func (t *loserTree) init() {
	t.node = make([]int, len(t.src))
	if len(t.src) > 1 {
		t.node[0] = t.play(1)
	}
}

// play returns the winner below internal node p, keeping the losers.
func (t *loserTree) play(p int) int {
	n := len(t.src)
	win := func(c int) int {
		if c >= n {
			return c - n
		}
		return t.play(c)
	}
	a, b := win(2*p), win(2*p+1)
	if t.less(b, a) {
		a, b = b, a
	}
	t.node[p] = b
	return a
}

// replay restores the tree after the entry of source i changed.
func (t *loserTree) replay(i int) {
	w := i
	for p := (i + len(t.src)) / 2; p >= 1; p /= 2 {
		if t.less(t.node[p], w) {
			t.node[p], w = w, t.node[p]
		}
	}
	t.node[0] = w
}

// merge calls fn for every entry of the runs and then of mem (the latest
// source) in digest order; equal digests come in source order.
func merge(runs []*os.File, mem []slot, fn func(e slot, src int) error) error {
	t := &loserTree{}
	var live []bool
	for i, f := range runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("keydigest: %w", err)
		}
		r := &runReader{f: f, src: i}
		ok, err := r.next()
		if err != nil {
			return err
		}
		t.src, live = append(t.src, r), append(live, ok)
	}
	r := &runReader{mem: mem, src: len(runs)}
	ok, _ := r.next()
	t.src, live = append(t.src, r), append(live, ok)
	t.key, t.rank = make([]uint64, len(t.src)), make([]int, len(t.src))
	for i, ok := range live {
		t.set(i, ok)
	}
	t.init()
	for {
		i := t.node[0]
		if !t.live(i) {
			return nil
		}
		r := t.src[i]
		if err := fn(r.cur, r.src); err != nil {
			return err
		}
		ok, err := r.next()
		if err != nil {
			return err
		}
		t.set(i, ok)
		t.replay(i)
	}
}
