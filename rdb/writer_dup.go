package rdb

// Duplicates: a server refuses to load a file that holds a key twice in
// one database ("Duplicated key found in RDB file"), or a set, sorted set
// or hash holding a member twice. The Writer refuses to write either, in
// bounded memory whatever the number of keys or members: it keeps a
// 64-bit digest of each (internal/keydigest), spilled to disk past a
// budget. A repeat whose first occurrence is still in memory is refused
// before anything of it is written; the rest are found by Close (keys) or
// CollectionWriter.Close (members), which then fail.

import (
	"errors"
	"fmt"

	"github.com/rdbtool/rdbtool/internal/keydigest"
)

// ErrDuplicateKey is wrapped by the error of a write of a key that the
// current database already has. When it comes from the write itself (not
// from Close), nothing of that key was written and the Writer may go on.
var ErrDuplicateKey = errors.New("key already written in this database (a server refuses such a file)")

// ErrDuplicateMember is wrapped by the error of a set, sorted set or hash
// given a member (field) twice.
var ErrDuplicateMember = errors.New("member given twice (a server refuses such a value)")

// checkKey records key in the current database, failing if it is there.
func (w *Writer) checkKey(key []byte) error {
	if w.payload || w.opt.AllowDuplicateKeys {
		return nil
	}
	if w.keys == nil {
		w.keys = keydigest.New(keydigest.Options{MemLimit: w.opt.KeyDigestMemory, TempDir: w.opt.SpoolDir})
	}
	prev, dup, err := w.keys.Add(w.keys.Digest(w.db, key), w.Written())
	if err != nil {
		return fmt.Errorf("rdb: duplicate key check: %w", err)
	}
	if dup {
		return fmt.Errorf("rdb: key %q: %w: database %d has it already (written at output offset %d)", key, ErrDuplicateKey, w.db, prev)
	}
	return nil
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
	switch c.typ {
	case TypeSet, TypeZSet, TypeHash:
	default:
		return nil
	}
	if c.members == nil {
		c.members = keydigest.New(keydigest.Options{MemLimit: c.w.opt.KeyDigestMemory, TempDir: c.w.opt.SpoolDir})
		if c.declared > 0 {
			c.members.Reserve(int(min(c.declared, 1<<30)))
		}
	}
	c.memberPos++
	_, dup, err := c.members.Add(c.members.Digest(0, m), c.memberPos)
	if err != nil {
		return fmt.Errorf("rdb: key %q: duplicate member check: %w", c.h.Key, err)
	}
	if dup {
		return c.dupMember(m)
	}
	return nil
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
