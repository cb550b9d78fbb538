// Package keydigest finds repeated keys in a stream of keys too large to
// hold in memory. It keeps a 64-bit digest of each (database, key) with the
// position where the key was seen, within a memory budget; past the budget
// it writes the digests to a temporary directory as sorted runs, and at
// the end it checks them together, a range of digests at a time.
//
// A caller learns of a repeat at once when the earlier occurrence is still
// in memory (Add's answer), and of the rest from Finish: the two together
// name every digest seen more than once, each repeat exactly once.
//
// Digests are 64-bit: two different keys share one with a probability of
// about n²/2⁶⁵ for n keys (3·10⁻⁶ at 10 million). A caller that must not
// report a false repeat compares the keys at the two positions.
package keydigest

import (
	"errors"
	"hash/maphash"
	"math/bits"
	"os"
)

// DefaultMemLimit is the memory budget when Options.MemLimit is 0.
const DefaultMemLimit = 32 << 20

// minSlots is the smallest table; it also bounds the smallest budget.
const minSlots = 1 << 10

// Options configure a Set.
type Options struct {
	// MemLimit bounds the bytes the set holds in memory (default
	// DefaultMemLimit). Each digest takes 16 bytes, in a table between
	// three eighths and three quarters full; the table never exceeds two
	// thirds of the limit, leaving room for the moment it doubles (and,
	// once it spills, for the full table being written meanwhile, when
	// two fit).
	MemLimit int64
	// TempDir holds the spilled runs (default os.TempDir()). The set makes
	// its own directory inside it, on the first spill, and removes it in
	// Finish or Close.
	TempDir string
	// Seed seeds Digest; the zero Seed means a new random one. Sets made
	// with one seed give equal keys equal digests, so that digests
	// computed on other goroutines (with Digest of another such set, or
	// Hash and Combine) can be added.
	Seed maphash.Seed
	// Deferred: once the set has spilled, Add stops looking digests up.
	// It appends them to a log, sorted and spilled in the background
	// when full, and Finish reports every repeat added from then on. Add
	// then costs a few nanoseconds instead of a wait on memory per
	// digest (the table outgrows the cache long before it spills), for a
	// caller that can learn of most repeats at the end. Lookup finds
	// nothing added after the first spill.
	Deferred bool
}

// Dup is a digest seen more than once: First is the position of an earlier
// occurrence, Second the position of the later one.
type Dup struct {
	Digest        uint64
	First, Second int64
}

// slot is a table entry; pos is the position plus one, 0 for an empty slot.
type slot struct {
	d   uint64
	pos int64
}

// slotSize is the size of a slot in bytes.
const slotSize = 16

// Set is a set of digests with their positions. The zero value is not
// usable: call New. A Set is not safe for concurrent use.
type Set struct {
	seed     maphash.Seed
	opts     Options
	slots    []slot
	shift    uint // home slot of d: d >> shift (the high bits, so a table is nearly sorted)
	n        int
	maxSlots int
	added    int64
	dir      string
	runs     []*os.File
	spills   int
	// A spill sorts and writes a full table on a goroutine of its own
	// while Add goes on with the other table (spare, cleared by it): its
	// outcome arrives on spilling.
	spare    []slot
	spilling chan error
	done     bool
	touched  uint64 // Touch's loads land here, so they are not dropped
	// logging: Options.Deferred, and the set has spilled; slots[:n] is
	// then the log, in the order added, and sortBuf and counts are the
	// background sort's (see sortLog).
	logging bool
	sortBuf []slot
	counts  []uint32
}

// New returns an empty set.
func New(opts Options) *Set {
	if opts.MemLimit <= 0 {
		opts.MemLimit = DefaultMemLimit
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.Seed == (maphash.Seed{}) {
		opts.Seed = maphash.MakeSeed()
	}
	s := &Set{seed: opts.Seed, opts: opts}
	s.maxSlots = minSlots
	for s.maxSlots < 1<<40 && int64(s.maxSlots)*2*slotSize*3/2 <= opts.MemLimit {
		s.maxSlots *= 2
	}
	return s
}

// Digest returns the digest of key in database db. It is the set's own
// (seeded per set, see Options.Seed): digests of sets with different
// seeds do not compare.
func (s *Set) Digest(db int, key []byte) uint64 {
	return Combine(db, Hash(s.seed, key))
}

// Hash is the part of a digest that depends on the key alone, for a set
// seeded with seed (Options.Seed): a caller can hash keys on other
// goroutines and Combine each with its database where it adds them.
func Hash(seed maphash.Seed, key []byte) uint64 { return maphash.Bytes(seed, key) }

// Combine returns the digest of a key in database db from its Hash.
func Combine(db int, hash uint64) uint64 {
	// The database is mixed in after the key's hash (an odd multiplier
	// keeps distinct databases distinct).
	return hash ^ (uint64(db)+1)*0x9E3779B97F4A7C15
}

// Reserve sizes the table for n more digests (within the memory limit),
// so that a caller that knows how many are coming does not pay for the
// table doubling again and again.
func (s *Set) Reserve(n int) {
	if s.logging {
		return
	}
	want := minSlots
	for want < s.maxSlots && (s.n+n)*4 > want*3 {
		want *= 2
	}
	if want > len(s.slots) {
		s.resize(want)
	}
}

// Reset empties the set for reuse, with the same options and seed, sized
// for n more digests (as Reserve): its table is kept, cleared, unless it
// is much larger than n needs, so that a caller checking one collection
// after another does not allocate a table for each. Spilled runs are
// removed. It must not be called after Finish or Close.
func (s *Set) Reset(n int) error {
	err := s.waitSpill()
	for _, f := range s.runs {
		f.Close()
	}
	s.runs, s.spills, s.added, s.n, s.spare = nil, 0, 0, 0, nil
	if s.logging {
		// The log's buffer is no table: start from an empty one.
		s.logging, s.slots, s.sortBuf, s.counts = false, nil, nil, nil
	}
	if s.dir != "" {
		if e := os.RemoveAll(s.dir); e != nil && err == nil {
			err = e
		}
		s.dir = ""
	}
	want := minSlots
	for want < s.maxSlots && n*4 > want*3 {
		want *= 2
	}
	if len(s.slots) > 4*want {
		s.slots = nil
	} else {
		clear(s.slots)
	}
	if n > 0 {
		s.Reserve(n)
	}
	return err
}

// errDone is returned by Add after Finish or Close.
var errDone = errors.New("keydigest: set already finished")

// Add records digest d seen at position pos (pos ≥ 0; a record's offset,
// say). When d is already in memory, Add does not store it again and
// returns the earlier position with dup true: that repeat is not reported
// again by Finish. A repeat of a digest already spilled to disk (or, with
// Options.Deferred, any digest added after the first spill) is stored and
// reported by Finish. The error is an I/O error of a spill.
func (s *Set) Add(d uint64, pos int64) (prev int64, dup bool, err error) {
	if s.done {
		return 0, false, errDone
	}
	if pos < 0 {
		return 0, false, errors.New("keydigest: negative position")
	}
	if s.logging {
		return 0, false, s.log(d, pos)
	}
	if len(s.slots) == 0 {
		s.resize(minSlots)
	}
	mask := len(s.slots) - 1
	i := int(d >> s.shift)
	for ; s.slots[i].pos != 0; i = (i + 1) & mask {
		if s.slots[i].d == d {
			return s.slots[i].pos - 1, true, nil
		}
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		if len(s.slots) < s.maxSlots {
			s.resize(len(s.slots) * 2)
		} else if err := s.spill(); err != nil {
			return 0, false, err
		} else if s.logging {
			return 0, false, s.log(d, pos)
		}
		s.insert(d, pos+1)
	} else {
		s.slots[i] = slot{d, pos + 1}
		s.n++
	}
	s.added++
	return 0, false, nil
}

// log appends d, seen at pos, to the log of a deferring set, spilling
// the log first when it is full.
func (s *Set) log(d uint64, pos int64) error {
	if s.n == len(s.slots) {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.slots[s.n] = slot{d, pos + 1}
	s.n++
	s.added++
	return nil
}

// Touch loads the table slots where the digests ds would be looked up.
// One Add into a table larger than the cache waits for memory; touching
// the slots of a few dozen digests that Add will be given next, in one
// loop, lets those waits overlap, after which the Adds find their slots in
// the cache. It changes nothing in the set.
func (s *Set) Touch(ds []uint64) {
	if len(s.slots) == 0 || s.logging {
		return
	}
	x := s.touched
	for _, d := range ds {
		x ^= s.slots[d>>s.shift].d
	}
	s.touched = x
}

// Lookup returns the position of d when d is in memory. A digest already
// spilled is not found: use it as a hint, not as proof of absence.
func (s *Set) Lookup(d uint64) (pos int64, ok bool) {
	if len(s.slots) == 0 || s.logging {
		return 0, false
	}
	mask := len(s.slots) - 1
	for i := int(d >> s.shift); s.slots[i].pos != 0; i = (i + 1) & mask {
		if s.slots[i].d == d {
			return s.slots[i].pos - 1, true
		}
	}
	return 0, false
}

// Len returns how many digests were stored (repeats Add reported are not).
func (s *Set) Len() int64 { return s.added }

// Spills returns how many sorted runs were written to disk.
func (s *Set) Spills() int { return s.spills }

// Deferring reports whether Add has stopped looking digests up
// (Options.Deferred, after the first spill), so that Touch is of no use.
func (s *Set) Deferring() bool { return s.logging }

// insert puts a digest known to be absent in the table.
func (s *Set) insert(d uint64, pos int64) {
	mask := len(s.slots) - 1
	i := int(d >> s.shift)
	for s.slots[i].pos != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = slot{d, pos}
	s.n++
}

func (s *Set) resize(n int) {
	old := s.slots
	s.slots = make([]slot, n)
	s.shift = uint(64 - bits.TrailingZeros(uint(n)))
	s.n = 0
	for _, e := range old {
		if e.pos != 0 {
			s.insert(e.d, e.pos)
		}
	}
}

// sorted moves the table's entries to the front of its slots, sorted by
// digest, and returns them. The table is unusable until cleared.
func (s *Set) sorted() []slot {
	if s.logging {
		// In place, so that sortBuf is free for Finish.
		log := s.slots[:s.n]
		return log[:copy(log, s.sortLog(log, len(s.slots)))]
	}
	return sortTable(s.slots, s.shift)
}

// sortLog returns the entries of log sorted by digest, in sortBuf (made
// of size entries, the log's capacity); for equal digests, in log order.
func (s *Set) sortLog(log []slot, size int) []slot {
	if len(s.sortBuf) < len(log) {
		s.sortBuf = make([]slot, size)
	}
	return sortEntries(log, s.sortBuf, &s.counts, 0, 64)
}

// sortEntries sorts the entries of in, whose digests d all have
// d-lo < 2^width, by digest into out (at least as long) and returns them;
// entries with equal digests keep their order. It is a counting sort on
// the high bits of d-lo (uniform, so that a bucket holds a few entries)
// followed by an insertion sort of the nearly sorted result. counts is its
// scratch, kept from one call to the next.
func sortEntries(in, out []slot, counts *[]uint32, lo uint64, width uint) []slot {
	bits := uint(1)
	for bits < 20 && bits < width && 1<<(bits+1) <= len(in) {
		bits++
	}
	if len(*counts) < 1<<bits {
		*counts = make([]uint32, 1<<bits)
	}
	c := (*counts)[:1<<bits]
	clear(c)
	shift := width - bits
	for _, e := range in {
		c[(e.d-lo)>>shift]++
	}
	var sum uint32
	for i, n := range c {
		c[i] = sum
		sum += n
	}
	out = out[:len(in)]
	for _, e := range in {
		b := (e.d - lo) >> shift
		i := c[b]
		out[i] = e
		c[b] = i + 1
	}
	insertionSort(out)
	return out
}

// sortTable is sorted for a table of slots whose home slot is d >> shift.
func sortTable(slots []slot, shift uint) []slot {
	// Entries sit at or just after their home slot (the digest's high
	// bits), so in table order they are nearly sorted already, except for
	// a cluster that wrapped from the end of the table to its start: its
	// entries before the first empty slot whose home lies after them go
	// last.
	start := 0
	for start < len(slots) && slots[start].pos != 0 {
		start++
	}
	var wrapped []slot
	k := 0
	for i := 0; i < start; i++ {
		if int(slots[i].d>>shift) > i {
			wrapped = append(wrapped, slots[i])
		} else {
			slots[k] = slots[i]
			k++
		}
	}
	for i := start; i < len(slots); i++ {
		if slots[i].pos != 0 {
			slots[k] = slots[i]
			k++
		}
	}
	k += copy(slots[k:], wrapped)
	out := slots[:k]
	insertionSort(out)
	return out
}

// insertionSort sorts nearly sorted entries by digest; entries far from
// their place (not expected from a hash) fall back to a general sort.
func insertionSort(a []slot) {
	moves := 0
	for i := 1; i < len(a); i++ {
		e := a[i]
		j := i
		for j > 0 && a[j-1].d > e.d {
			a[j] = a[j-1]
			j--
			moves++
		}
		a[j] = e
		if moves > 16*len(a) {
			sortSlots(a)
			return
		}
	}
}
