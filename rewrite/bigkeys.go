package rewrite

import (
	"context"
	"hash/maphash"
	"io"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

// KeySet is a set of (database, key) pairs held as 64-bit seeded digests:
// about 16 bytes per key whatever the key's length. Two keys whose
// digests collide (odds 2^-64 per pair) are taken for one.
type KeySet struct {
	seed maphash.Seed
	m    map[uint64]struct{}
}

// NewKeySet returns an empty set.
func NewKeySet() *KeySet {
	return &KeySet{seed: maphash.MakeSeed(), m: map[uint64]struct{}{}}
}

func (s *KeySet) digest(db int, key []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	var b [8]byte
	for i := range b {
		b[i] = byte(uint64(db) >> (8 * i))
	}
	h.Write(b[:])
	h.Write(key)
	return h.Sum64()
}

// Add puts a key in the set.
func (s *KeySet) Add(db int, key []byte) { s.m[s.digest(db, key)] = struct{}{} }

// Has reports whether a key is in the set. It may be called from several
// goroutines at once when no Add runs.
func (s *KeySet) Has(db int, key []byte) bool {
	_, ok := s.m[s.digest(db, key)]
	return ok
}

// Len is the number of keys in the set.
func (s *KeySet) Len() int { return len(s.m) }

// FindBigKeys reads every input (open opens the i-th of n afresh) and
// sets f.Big to the keys that f keeps whose estimated memory is at least
// f.MinBytes, so that f.Keep can answer for consumers that do not
// estimate sizes (convert, split, dump, restore). model chooses the
// estimate (analyze.Options: server version, allocator; its filters are
// replaced by f's); the zero value estimates for the server that wrote
// each file, as "rdbtool memory" does. Nothing is done when f.MinBytes is
// 0. Memory: about 16 bytes per key found.
func FindBigKeys(ctx context.Context, f *KeyFilter, n int, open func(i int) (*rdb.Reader, io.Closer, error), model analyze.Options) error {
	if f == nil || f.MinBytes == 0 {
		return nil
	}
	set := NewKeySet()
	sizeless := *f
	sizeless.MinBytes, sizeless.Big = 0, nil
	model.Filter = sizeless.Keep
	model.MinBytes = f.MinBytes
	for i := range n {
		r, c, err := open(i)
		if err != nil {
			return err
		}
		_, err = analyze.ScanKeys(ctx, r, model, func(k *analyze.Key) error {
			set.Add(k.DB, k.Key)
			return nil
		})
		c.Close()
		if err != nil {
			return err
		}
	}
	f.Big = set
	return nil
}
