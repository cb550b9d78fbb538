package keydigest

import (
	"bufio"
	"cmp"
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
	// Stable: a log's repeats keep their order (the earlier first).
	slices.SortStableFunc(a, func(x, y slot) int {
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
	if s.logging || s.opts.Deferred {
		return s.spillLog(f)
	}
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

// spillLog writes what the set holds to f, a new run, on a goroutine of
// its own, and goes on with an empty log (Options.Deferred): the table,
// at the first spill, or the full log. A log holds half as many entries
// as the largest table, so that the log, the one being written and the
// sort's buffer (or, at the first spill, the log and the table) take 1.5
// times the largest table, as the table does when it doubles: within the
// budget (see New).
func (s *Set) spillLog(f *os.File) error {
	full, n, wasLog, shift := s.slots, s.n, s.logging, s.shift
	logCap := max(s.maxSlots/2, minSlots)
	if len(s.spare) == logCap {
		s.slots = s.spare
	} else {
		s.slots = make([]slot, logCap)
	}
	s.spare, s.n, s.logging = nil, 0, true
	done := make(chan error, 1)
	s.spilling = done
	go func() {
		var sorted []slot
		if wasLog {
			sorted = s.sortLog(full[:n], len(full))
		} else {
			sorted = sortTable(full, shift)
		}
		err := writeRun(f, sorted)
		if wasLog {
			s.spare = full // read by the Set's goroutine only after done
		}
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
	return s.findRepeats(s.sorted(), fn)
}

// findRepeats calls fn for every entry of the runs (in order) and then of
// mem (sorted, the latest) whose digest an earlier entry has, in digest
// order. It goes through the digests a range at a time: every source's
// entries in the range (a stretch of each, the sources being sorted) are
// gathered and sorted together (sortEntries, stable, so the earliest
// occurrence comes first), then scanned for neighbours alike. Digests are
// uniform: a 1/k of their range holds about 1/k of the entries, so ranges
// cut for at most a table's worth of entries each keep within the memory
// budget. (A loser-tree merge of the runs took about twice as long per
// entry: BenchmarkAdd.)
func (s *Set) findRepeats(mem []slot, fn func(Dup) error) error {
	total := int64(len(mem))
	var srcs []*runReader
	for i, f := range s.runs {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("keydigest: %w", err)
		}
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("keydigest: %w", err)
		}
		total += st.Size() / slotSize
		srcs = append(srcs, &runReader{f: f, src: i})
	}
	srcs = append(srcs, &runReader{mem: mem, src: len(s.runs)})
	// At most 64k entries (1 MiB) a range, sorted within the cache.
	per := int64(min(s.maxSlots, 1<<16))
	// Ranges of 2^width digests each, as many as it takes.
	width := uint(64)
	for width > 1 && total>>(64-width) > per {
		width--
	}
	ranges := uint64(1) << (64 - width) // 1 << 0 when width is 64
	// The spare table's memory goes to the two buffers below.
	s.spare = nil
	var gathered []slot
	if len(s.sortBuf) < int(per) {
		s.sortBuf = make([]slot, per)
	}
	for k := uint64(0); k < ranges; k++ {
		last := k+1 == ranges
		// Digests from lo, below end unless last (width < 64 when
		// there are two ranges or more).
		lo := k << width
		end := lo + 1<<width
		gathered = gathered[:0]
		for _, r := range srcs {
			for {
				if len(r.mem) == 0 {
					if r.f == nil {
						break
					}
					if err := r.fill(); err != nil {
						return err
					}
					continue
				}
				n := len(r.mem)
				if !last {
					n, _ = slices.BinarySearchFunc(r.mem, end, func(e slot, d uint64) int { return cmp.Compare(e.d, d) })
				}
				gathered = append(gathered, r.mem[:n]...)
				r.mem = r.mem[n:]
				if len(r.mem) > 0 {
					break // the rest is in later ranges
				}
			}
		}
		if len(s.sortBuf) < len(gathered) {
			s.sortBuf = make([]slot, len(gathered))
		}
		sorted := sortEntries(gathered, s.sortBuf, &s.counts, lo, width)
		first := 0 // the earliest entry of the digest at hand
		for i := 1; i < len(sorted); i++ {
			e := sorted[i]
			if e.d != sorted[first].d {
				first = i
				continue
			}
			if err := fn(Dup{Digest: e.d, First: sorted[first].pos - 1, Second: e.pos - 1}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close releases the set without reporting: it removes the temporary
// files. Calling it again, or after Finish, does nothing.
func (s *Set) Close() error {
	err := s.waitSpill()
	s.done = true
	s.slots, s.spare, s.sortBuf, s.counts = nil, nil, nil, nil
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
