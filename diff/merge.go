package diff

import (
	"bytes"
	"context"
	"errors"
	"sync"
)

// Two files are compared as they are read. Their key orders are usually
// alike (a snapshot and a later one of the same server, a file and a
// rewrite of it), so the merge compares the two sides' next keys: when
// they are the same key, that key is done without being kept. Keys that
// do not pair at once wait in a map per side, where the other side's keys
// look for them. Only when those maps outgrow their share of the budget do
// their entries go to the hash partitions, which are joined at the end as
// when the whole tables spill; keys that pair at once never do. So inputs
// in the same order take almost no memory and no temporary files, and
// inputs in unrelated orders take what the partitioned join takes.
//
// A file holds each key once per database (Redis refuses to load one that
// does not), which the merge relies on: a live server's SCAN can return a
// key twice, so live inputs go through the tables instead.

// batchKeys is how many keys a reader hands the merge at a time.
const batchKeys = 1024

// batch is a run of keys (db uvarint + key, see mapKey) and their entries.
type batch struct {
	keys []byte
	ends []int32 // ends[i]: where key i ends in keys
	ents []entry
}

func (b *batch) reset() { b.keys, b.ends, b.ents = b.keys[:0], b.ends[:0], b.ents[:0] }

func (b *batch) add(k []byte, e *entry) {
	b.keys = append(b.keys, k...)
	b.ends = append(b.ends, int32(len(b.keys)))
	b.ents = append(b.ents, *e)
}

func (b *batch) key(i int) []byte {
	s := int32(0)
	if i > 0 {
		s = b.ends[i-1]
	}
	return b.keys[s:b.ends[i]:b.ends[i]]
}

// feed is one side's batches on their way to the merge; used batches go
// back through free.
type feed struct {
	full chan *batch
	free chan *batch
	fill *batch // the reader's: being filled
	cur  *batch // the merge's: being read
	pos  int    // the next key of cur
	done bool   // the side has no more keys
}

const feedDepth = 8

func newFeed() *feed {
	f := &feed{full: make(chan *batch, feedDepth), free: make(chan *batch, feedDepth+1)}
	for i := 0; i < feedDepth+1; i++ {
		f.free <- &batch{}
	}
	return f
}

// emit adds a key on the reader's side, handing over a full batch.
func (f *feed) emit(quit <-chan struct{}, k []byte, e *entry) error {
	if f.fill == nil {
		select {
		case f.fill = <-f.free:
		case <-quit:
			return errMergeStopped
		}
		f.fill.reset()
	}
	f.fill.add(k, e)
	if len(f.fill.ends) == batchKeys {
		return f.send(quit)
	}
	return nil
}

// send hands over the batch being filled, if any.
func (f *feed) send(quit <-chan struct{}) error {
	if f.fill == nil || len(f.fill.ends) == 0 {
		return nil
	}
	select {
	case f.full <- f.fill:
		f.fill = nil
		return nil
	case <-quit:
		return errMergeStopped
	}
}

// head returns the merge's next key from this side, waiting for the
// reader; ok is false when the side is done.
func (f *feed) head() (k []byte, e *entry, ok bool) {
	for {
		if f.done {
			return nil, nil, false
		}
		if f.cur != nil && f.pos < len(f.cur.ends) {
			return f.cur.key(f.pos), &f.cur.ents[f.pos], true
		}
		if f.cur != nil {
			f.free <- f.cur
			f.cur = nil
		}
		b, more := <-f.full
		if !more {
			f.done = true
			return nil, nil, false
		}
		f.cur, f.pos = b, 0
	}
}

func (f *feed) advance() { f.pos++ }

type stopError struct{}

func (stopError) Error() string { return "diff: merge stopped" }

var errMergeStopped error = stopError{}

// pendingCost is what a key waiting in a pending map is reckoned to take
// past its bytes: the map slot at the lowest load (key header, entry and
// control byte at half occupancy), and the string's allocation rounding.
const pendingCost = 176

// merger pairs the two sides' keys (see above).
type merger struct {
	c      *comparer
	pend   [2]map[string]entry
	mem    int64 // what the pending maps are reckoned to take
	live   int64 // the part of mem their live keys take
	budget int64
}

// mergeFiles is the first pass for two files: both are read at once, and
// the merge runs as they are read.
func (c *comparer) mergeFiles(ctx context.Context, sa, sb keyStream) error {
	fa, fb := newFeed(), newFeed()
	quit := make(chan struct{})
	// A side that fails stops the other.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var errs [2]error
	var wg sync.WaitGroup
	for i, x := range []struct {
		s  *side
		st keyStream
		f  *feed
	}{{c.a, sa, fa}, {c.b, sb, fb}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			label := [2]string{"A", "B"}[i]
			err := c.readSide(ctx, x.s, x.st, label, func(k []byte, e *entry) error { return x.f.emit(quit, k, e) })
			if err == nil {
				err = x.f.send(quit)
			} else {
				cancel()
			}
			errs[i] = err
			close(x.f.full)
		}()
	}
	m := &merger{c: c, pend: [2]map[string]entry{{}, {}}, budget: c.tableBudget / 2}
	err := m.run(fa, fb)
	if err != nil {
		close(quit)
		// Let the readers see quit and finish.
		for _, f := range []*feed{fa, fb} {
			go func() {
				for range f.full {
				}
			}()
		}
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil && e != errMergeStopped && !errors.Is(e, context.Canceled) {
			return e
		}
	}
	for _, e := range errs {
		if e != nil && e != errMergeStopped {
			return e
		}
	}
	return err
}

func (m *merger) run(fa, fb *feed) error {
	c := m.c
	for {
		ka, ea, okA := fa.head()
		kb, eb, okB := fb.head()
		switch {
		case !okA && !okB:
			return m.finish()
		case okA && okB && bytes.Equal(ka, kb):
			c.a.keys++
			c.b.keys++
			if err := c.compareKey(ka, ea, eb); err != nil {
				return err
			}
			fa.advance()
			fb.advance()
			continue
		}
		if okA {
			if hit, err := m.pair(0, ka, ea); err != nil {
				return err
			} else if hit {
				fa.advance()
				continue
			}
		}
		if okB {
			if hit, err := m.pair(1, kb, eb); err != nil {
				return err
			} else if hit {
				fb.advance()
				continue
			}
		}
		// Neither pairs: both wait.
		if okA {
			m.wait(0, ka, ea)
			fa.advance()
		}
		if okB {
			m.wait(1, kb, eb)
			fb.advance()
		}
		if m.mem > m.budget {
			if err := m.shrink(); err != nil {
				return err
			}
		}
	}
}

// pair looks for side i's key k among the other side's waiting keys, and
// compares the two when it is there.
func (m *merger) pair(i int, k []byte, e *entry) (bool, error) {
	o := m.pend[1-i]
	w, ok := o[string(k)]
	if !ok {
		return false, nil
	}
	delete(o, string(k))
	m.live -= int64(len(k)) + pendingCost
	m.c.a.keys++
	m.c.b.keys++
	if i == 0 {
		return true, m.c.compareKey(k, e, &w)
	}
	return true, m.c.compareKey(k, &w, e)
}

func (m *merger) wait(i int, k []byte, e *entry) {
	m.pend[i][string(k)] = *e
	n := int64(len(k)) + pendingCost
	m.mem += n
	m.live += n
}

// shrink makes room in the pending maps: maps mostly of deleted slots are
// rebuilt; else every waiting key goes to the partitions.
func (m *merger) shrink() error {
	if m.live <= m.budget/2 {
		for i, p := range m.pend {
			q := make(map[string]entry, len(p))
			for k, e := range p {
				q[k] = e
			}
			m.pend[i] = q
		}
		m.mem = m.live
		return nil
	}
	return m.flush()
}

// flush moves every waiting key to its side's partitions.
func (m *merger) flush() error {
	for i, s := range []*side{m.c.a, m.c.b} {
		if s.parts == nil {
			p, err := newPartSet(s.dir, 0)
			if err != nil {
				return err
			}
			s.parts = p
		}
		var kb []byte
		for k, e := range m.pend[i] {
			kb = append(kb[:0], k...)
			if err := s.parts.write(kb, &e); err != nil {
				return err
			}
		}
		m.pend[i] = map[string]entry{}
	}
	m.mem, m.live = 0, 0
	return nil
}

// finish settles the keys still waiting: with no partitions they are on
// one side only; else they join the partitions.
func (m *merger) finish() error {
	c := m.c
	if c.a.parts != nil || c.b.parts != nil {
		return m.flush()
	}
	for k, e := range m.pend[0] {
		c.a.keys++
		if err := c.compareKey([]byte(k), &e, nil); err != nil {
			return err
		}
	}
	for k, e := range m.pend[1] {
		c.b.keys++
		if err := c.compareKey([]byte(k), nil, &e); err != nil {
			return err
		}
	}
	m.pend = [2]map[string]entry{}
	return nil
}
