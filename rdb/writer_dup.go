package rdb

// Duplicates: a server refuses to load a file that holds a key twice in
// one database ("Duplicated key found in RDB file"), or a set, sorted set
// or hash holding a member twice. The Writer refuses to write either, in
// bounded memory whatever the number of keys or members: it keeps a
// 64-bit digest of each (internal/keydigest), spilled to disk past a
// budget. Until a check first spills (the first few hundred thousand
// keys, or members of one collection: see KeyDigestMemory), a repeat is
// refused before anything of it is written; the rest are found by Close
// (keys) or CollectionWriter.Close (members), which then fail. Once a
// check has spilled it stops looking digests up as they come (keydigest's
// Deferred): each lookup would wait on memory, and the repeats are found
// at the end all the same.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"

	"github.com/rdbtool/rdbtool/internal/keydigest"
)

// ErrDuplicateKey is wrapped by the error of a write of a key that the
// current database already has. When it comes from the write itself (not
// from Close), nothing of that key was written and the Writer may go on.
var ErrDuplicateKey = errors.New("key already written in this database (a server refuses such a file)")

// ErrDuplicateMember is wrapped by the error of a set, sorted set or hash
// given a member (field) twice.
var ErrDuplicateMember = errors.New("member given twice (a server refuses such a value)")

// keySet returns the duplicate-key check's set, nil when keys are not
// checked.
func (w *Writer) keySet() *keydigest.Set {
	if w.payload || w.opt.AllowDuplicateKeys {
		return nil
	}
	if w.keys == nil {
		w.keys = keydigest.New(keydigest.Options{MemLimit: w.opt.KeyDigestMemory, TempDir: w.opt.SpoolDir, Seed: keySeed, Deferred: true})
	}
	return w.keys
}

// keySeed seeds every key check's digests, so that a KeyEncoder can hash
// a key's name on a worker (keydigest.Hash) for WriteEncoded to check.
var keySeed = maphash.MakeSeed()

// checkKey records key in the current database, failing if it is there.
func (w *Writer) checkKey(key []byte) error {
	if w.keySet() == nil {
		return nil
	}
	return w.checkKeyHash(key, keydigest.Hash(keySeed, key))
}

// checkKeyHash is checkKey for a key whose keydigest.Hash (with keySeed)
// is hash.
func (w *Writer) checkKeyHash(key []byte, hash uint64) error {
	if w.keySet() == nil {
		return nil
	}
	prev, dup, err := w.keys.Add(keydigest.Combine(w.db, hash), w.Written())
	if err != nil {
		return fmt.Errorf("rdb: duplicate key check: %w", err)
	}
	if dup {
		return fmt.Errorf("rdb: key %q: %w: database %d has it already (written at output offset %d)", key, ErrDuplicateKey, w.db, prev)
	}
	return nil
}

// PrefetchKeys is given the names of keys about to be written to the
// current database, in order (a few dozen at a time): the duplicate-key
// check then loads their places in its table together, so that a run of
// writes waits on memory once rather than once per key. It changes
// nothing written or checked; a name not written after all costs only its
// load.
func (w *Writer) PrefetchKeys(keys [][]byte) {
	s := w.keySet()
	if s == nil || len(keys) == 0 || s.Deferring() {
		return
	}
	ds := w.prefetch[:0]
	for _, k := range keys {
		ds = append(ds, s.Digest(w.db, k))
	}
	s.Touch(ds)
	w.prefetch = ds
}

// finishKeys reports the repeats the in-memory check could not see.
func (w *Writer) finishKeys() error {
	if w.keys == nil {
		return nil
	}
	s := w.keys
	w.keys = nil
	var first error
	err := s.Finish(func(d keydigest.Dup) error {
		first = fmt.Errorf("rdb: %w: the keys written at output offsets %d and %d have the same name in the same database", ErrDuplicateKey, d.First, d.Second)
		return first
	})
	if first != nil {
		return first
	}
	if err != nil {
		return fmt.Errorf("rdb: duplicate key check: %w", err)
	}
	return nil
}

// checkMember records a member of a set, sorted set or hash written in a
// plain encoding (the compact ones check while they are built).
func (c *CollectionWriter) checkMember(m []byte) error {
	if !c.memberSet() {
		return nil
	}
	return c.addMember(c.members.Digest(0, m), m)
}

// memberSet reports whether c's members are checked, making their set.
func (c *CollectionWriter) memberSet() bool {
	switch c.typ {
	case TypeSet, TypeZSet, TypeHash:
	default:
		return false
	}
	if c.members == nil {
		n := 0
		if c.declared > 0 && !c.collect {
			n = int(min(c.declared, 1<<30))
		}
		if c.spare != nil && c.spare.Reset(n) == nil {
			c.members, c.spare = c.spare, nil
		} else {
			c.members = keydigest.New(keydigest.Options{MemLimit: c.w.opt.KeyDigestMemory, TempDir: c.w.opt.SpoolDir, Seed: memberSeed, Deferred: true})
			if n > 0 {
				c.members.Reserve(n)
			}
		}
	}
	return true
}

// memberSeed seeds every member check's digests, so that a KeyEncoder
// can compute the digests of a part's members on a worker and the Writer
// check them on the sink (writer_parallel.go).
var memberSeed = maphash.MakeSeed()

// addMember records member m, of digest d; or, when c collects (a part
// encoded by a KeyEncoder), keeps d for WriteEncodedPart to check.
func (c *CollectionWriter) addMember(d uint64, m []byte) error {
	if c.collect {
		c.digests = binary.LittleEndian.AppendUint64(c.digests, d)
		return nil
	}
	c.memberPos++
	_, dup, err := c.members.Add(d, c.memberPos)
	if err != nil {
		return fmt.Errorf("rdb: key %q: duplicate member check: %w", c.h.Key, err)
	}
	if dup {
		return c.dupMember(m)
	}
	return nil
}

// memberRun holds the members of a run that copyPlainRun copies, checked
// for repeats together: in a collection of many members nearly every
// check misses the cache, and touching the slots of a batch first lets
// those misses overlap (keydigest.Set.Touch). Each member keeps where the
// run stood before it, so that the run can end just before a repeat, as
// when every member was checked as it was met.
type memberRun struct {
	n     int
	ds    [memberBatch]uint64
	spans [memberBatch][2]int // the member's bytes in the run
	marks [memberBatch]runMark
}

// runMark is how far copyPlainRun had got before a member: bytes, elements
// and strings copied as stored.
type runMark struct {
	i      int
	n      uint64
	stored int64
}

// memberBatch is how many members memberRun checks at once.
const memberBatch = 64

// queue adds a member (text m, at run[start:end]) whose run began at mark;
// once the batch is full it is checked (see flush).
func (q *memberRun) queue(c *CollectionWriter, m []byte, start, end int, mark runMark, run []byte) (runMark, error) {
	q.ds[q.n], q.spans[q.n], q.marks[q.n] = c.members.Digest(0, m), [2]int{start, end}, mark
	q.n++
	if q.n < memberBatch {
		return runMark{i: -1}, nil
	}
	return q.flush(c, run)
}

// flush checks the queued members in order. At a repeat it returns the
// mark before that member and its error; otherwise a mark with i = -1.
// A member's text is run[start:end] unless it is an integer, whose text
// verbatimText rebuilds.
func (q *memberRun) flush(c *CollectionWriter, run []byte) (runMark, error) {
	n := q.n
	if n == 0 {
		return runMark{i: -1}, nil
	}
	q.n = 0
	if !c.collect {
		c.members.Touch(q.ds[:n])
	}
	for k := range n {
		if err := c.addMember(q.ds[k], nil); err != nil {
			if errors.Is(err, ErrDuplicateMember) {
				var scratch []byte
				err = c.dupMember(verbatimText(run[q.spans[k][0]:q.spans[k][1]], &scratch))
			}
			return q.marks[k], err
		}
	}
	return runMark{i: -1}, nil
}

func (c *CollectionWriter) dupMember(m []byte) error {
	what := map[Type]string{TypeSet: "set member", TypeZSet: "sorted set member", TypeHash: "hash field"}[c.typ]
	return fmt.Errorf("rdb: key %q: %w: %s %q", c.h.Key, ErrDuplicateMember, what, m)
}

// finishMembers reports the repeated members the in-memory check could
// not see.
func (c *CollectionWriter) finishMembers() error {
	if c.members == nil {
		return nil
	}
	s := c.members
	c.members, c.memberPos = nil, 0
	if s.Spills() == 0 {
		// Add reported every repeat: keep the set for the next check.
		c.spare = s
		return nil
	}
	found := false
	err := s.Finish(func(keydigest.Dup) error { found = true; return errors.New("stop") })
	if found {
		return fmt.Errorf("rdb: key %q: %w", c.h.Key, ErrDuplicateMember)
	}
	if err != nil {
		return fmt.Errorf("rdb: key %q: duplicate member check: %w", c.h.Key, err)
	}
	return nil
}

// releaseMembers drops the member check of a collection abandoned on an
// error.
func (c *CollectionWriter) releaseMembers() {
	if c.members != nil {
		c.members.Close()
		c.members, c.memberPos = nil, 0
	}
}
