package rewrite

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb"
)

// OnDuplicate says what to do with a key a file holds more than once in
// one database (tools that append records, damaged files): a server
// refuses to load such a file.
type OnDuplicate int

const (
	// DuplicateFail refuses the input (the default).
	DuplicateFail OnDuplicate = iota
	// KeepFirst keeps the first occurrence of each repeated key.
	KeepFirst
	// KeepLast keeps the last occurrence, as a server applying the
	// records in order would hold.
	KeepLast
)

// ParseOnDuplicate parses the --on-duplicate flag's value.
func ParseOnDuplicate(s string) (OnDuplicate, error) {
	switch strings.ToLower(s) {
	case "", "fail":
		return DuplicateFail, nil
	case "keep-first":
		return KeepFirst, nil
	case "keep-last":
		return KeepLast, nil
	}
	return 0, fmt.Errorf("--on-duplicate %q: use fail, keep-first or keep-last", s)
}

// Placement says where a key record goes: its target database, and
// whether it is written at all (filters).
type Placement func(rec *rdb.Record) (db int, keep bool)

// Repeats is the result of FindRepeats: the key records to leave out.
type Repeats struct {
	skip map[int64]bool // record offsets
	// Keys is the number of distinct keys repeated; Left the number of
	// records left out.
	Keys, Left int64
	Examples   []string // a few of the keys repeated, "db N "key""
}

// Skip reports whether the key record at offset off is to be left out.
func (r *Repeats) Skip(off int64) bool { return r != nil && r.skip[off] }

// FindRepeats reads the key headers of a file (values are not decoded)
// and finds the keys it holds more than once in one target database, in
// memory bounded by mem whatever the number of keys (64-bit digests,
// spilled to tmpDir past mem). A second pass over the records whose
// digests repeat compares the names themselves, so that keys whose
// digests merely collide are never taken for repeats. keep chooses which
// occurrence stays (KeepFirst or KeepLast). open opens the file afresh
// for each pass.
func FindRepeats(ctx context.Context, open func() (*rdb.Reader, io.Closer, error), place Placement, keep OnDuplicate, mem int64, tmpDir string) (*Repeats, error) {
	f := NewRepeatFinder(mem, tmpDir)
	defer f.Close()
	err := eachKey(ctx, open, func(rec *rdb.Record) error {
		if db, ok := place(rec); ok {
			return f.Add(db, rec.Key, rec.Offset)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f.Finish(ctx, open, place, keep)
}

// RepeatFinder is FindRepeats for a caller that reads the file's first
// pass itself: Add every key record kept, then Finish.
type RepeatFinder struct {
	set      *keydigest.Set
	involved map[int64]bool // offsets of records whose digests repeat
}

// NewRepeatFinder returns a finder holding digests in memory up to mem
// bytes (0: 32 MiB), then in tmpDir.
func NewRepeatFinder(mem int64, tmpDir string) *RepeatFinder {
	return &RepeatFinder{set: keydigest.New(keydigest.Options{MemLimit: mem, TempDir: tmpDir}), involved: map[int64]bool{}}
}

// Add records the key record at offset off, of target database db.
func (f *RepeatFinder) Add(db int, key []byte, off int64) error {
	prev, dup, err := f.set.Add(f.set.Digest(db, key), off)
	if dup {
		f.involved[prev], f.involved[off] = true, true
	}
	return err
}

// Close releases the finder (Finish does too).
func (f *RepeatFinder) Close() error { return f.set.Close() }

// Finish completes the digests' search and, when some repeat, reads the
// file again (open) to compare the names of the records involved.
func (f *RepeatFinder) Finish(ctx context.Context, open func() (*rdb.Reader, io.Closer, error), place Placement, keep OnDuplicate) (*Repeats, error) {
	involved := f.involved
	if err := f.set.Finish(func(d keydigest.Dup) error {
		involved[d.First], involved[d.Second] = true, true
		return nil
	}); err != nil {
		return nil, err
	}
	rep := &Repeats{skip: map[int64]bool{}}
	if len(involved) == 0 {
		return rep, nil
	}
	// The names of the records involved, in file order.
	type name struct {
		db  int
		key string
	}
	groups := map[name][]int64{}
	err := eachKey(ctx, open, func(rec *rdb.Record) error {
		if !involved[rec.Offset] {
			return nil
		}
		db, _ := place(rec)
		n := name{db, string(rec.Key)}
		groups[n] = append(groups[n], rec.Offset)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for n, offs := range groups {
		if len(offs) < 2 {
			continue // a digest collision, not a repeat
		}
		rep.Keys++
		if len(rep.Examples) < 3 {
			rep.Examples = append(rep.Examples, fmt.Sprintf("db %d %q", n.db, n.key))
		}
		kept := offs[0]
		if keep == KeepLast {
			kept = offs[len(offs)-1]
		}
		for _, o := range offs {
			if o != kept {
				rep.skip[o] = true
				rep.Left++
			}
		}
	}
	return rep, nil
}

func eachKey(ctx context.Context, open func() (*rdb.Reader, io.Closer, error), fn func(rec *rdb.Record) error) error {
	r, c, err := open()
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if rec.Kind == rdb.KindKey {
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
}
