// Package diff compares the logical content of two RDB snapshots, or of a
// snapshot and a live server, key by key.
//
// Two inputs compare equal when a client could not tell them apart: values
// are compared in a canonical form that does not depend on the RDB version,
// the dialect (Redis or Valkey) or the encoding (listpack, ziplist, intset,
// quicklist, hashtable, skiplist), and keys may come in any order. Each
// differing key is reported once, as one of
//
//	added         only in B
//	removed       only in A
//	type_changed  the TYPE differs
//	value_changed the value differs (and maybe the TTL too: see KeyDiff.TTL)
//	ttl_changed   only the TTL differs (beyond Options.TTLTolerance)
//
// with element-level detail for value changes: list positions, set
// members, hash fields and field TTLs, sorted-set members and scores,
// stream entries, metadata and consumer groups.
//
// # Expired keys
//
// A snapshot may hold keys whose TTL has passed (servers expire lazily,
// and files written with active expiry off keep them), and a server never
// shows them. Keys are therefore compared as of one instant, AsOf: by
// default the later of the two inputs' times (a file's ctime aux field, a
// server's clock when it is read). A key whose expiry is at or before AsOf
// is treated as absent on that side, and a hash field likewise; such keys
// are counted in Summary (Expired) but never reported as differences. So a
// key that merely expired between two snapshots is not "removed", and a
// server compared with its own snapshot shows no difference. Options.AsOf
// sets the instant; Options.KeepExpired compares every stored key.
//
// # Digests
//
// The first pass keeps, per key, a 128-bit digest of the canonical value
// two 64-bit hash/maphash values under independent seeds
// drawn at random when the process starts, and for sets, hashes and sorted
// sets a sum of per-element 128-bit hashes, so that element order does not
// matter. A digest mismatch sends the key to the detail pass, which compares
// the values themselves; a false match would hide a difference. For inputs
// not crafted against this process's secret seeds, a given pair of
// different values collides with probability about 2^-128, so even 10^9
// compared keys leave the chance of any hidden difference below 10^-29.
// maphash is not a cryptographic hash: the digests are no defense against
// an adversary who can observe them (they are never shown) or choose values
// adaptively within the same process. Digests mean nothing outside the
// process that computed them.
//
// # Memory
//
// The first pass reads both inputs at once. Two files are merged as they
// are read: a key that comes next on both sides is
// compared at once and not kept, so files whose keys come in about the
// same order take almost no memory. Keys that do not pair at once wait,
// with their digest, type, expiry and record offset, in a map per side,
// the two maps together within 30% of Options.MemLimit less 16 MiB (an eighth of it at
// least); past it they go to hash-partitioned temporary files. With a
// live server, whose SCAN may return a key twice, each side's keys go to
// a table instead (a fixed 56-byte entry per key, plus the key's bytes
// and an index share of up to 10 bytes, in chunks that grow without
// copying), both tables together within 60% of the budget less 16 MiB,
// and past it to the partitions. Partitions are compared one at a time
// (split again when one is still too large), so inputs larger than
// memory can be compared. Differences are kept in a temporary file. A
// second pass re-reads both inputs at once (through Input.Open, so their
// checksums are verified again) for only the keys whose values differ, to produce
// element-level detail, reading a plain file's records where the first
// pass saw them. Collections go to temporary files element by element as
// they are read; a pair whose elements would take more than an eighth of
// the budget in memory is compared from there (lists in order through
// cursors, sets, sorted sets and hashes one hash partition at a time,
// keeping only the items shown), so a changed collection of any size is
// described within the budget. Strings, streams and module values are
// held whole, one of each side at a time.
//
// Compare does not set the Go memory limit: a program that wants its
// footprint held to MemLimit should call debug.SetMemoryLimit (rdbtool diff
// sets it to 7/8 of the budget). The fixed cost of a process, about 25 MiB,
// is not part of the budget's accounting.
package diff

import (
	"encoding/json"
	"math"
	"strconv"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// Kind is the kind of a key's difference.
type Kind string

const (
	Added        Kind = "added"         // in B only
	Removed      Kind = "removed"       // in A only
	TypeChanged  Kind = "type_changed"  // in both, with another type in B
	ValueChanged Kind = "value_changed" // same type, different value (and maybe TTL)
	TTLChanged   Kind = "ttl_changed"   // same value, different expiry
)

// Kinds lists the kinds in report order.
var Kinds = []Kind{Removed, Added, TypeChanged, ValueChanged, TTLChanged}

// Options configures a comparison. The zero value compares everything
// exactly, with a default memory budget.
type Options struct {
	// TTLTolerance: expiries that differ by no more than this are equal.
	TTLTolerance time.Duration
	// IgnoreTTL ignores key and hash-field expiries altogether.
	IgnoreTTL bool
	// FilterDB restricts the comparison to database DB.
	FilterDB bool
	DB       int
	// Match restricts the comparison to keys matching a Redis glob pattern
	// (as KEYS and SCAN MATCH: *, ?, [a-z], [^a], \x).
	Match string
	// Filter, when set, restricts the comparison further to the key
	// records it returns true for, on each side (rewrite.KeyFilter.Keep
	// is the commands'). It is called from several goroutines at once.
	// A key a Filter on its type keeps on one side only reads as removed
	// or added.
	Filter func(*rdb.Record) bool
	// SummaryOnly skips the element-level detail pass.
	SummaryOnly bool
	// MaxDetails is how many items each detail list shows (default 10); the
	// counts are always complete.
	MaxDetails int
	// MemLimit is the memory budget in bytes (default DefaultMemLimit).
	MemLimit int64
	// TempDir holds the spill files (default os.TempDir()).
	TempDir string
	// AsOf is the instant at which keys and hash fields count as expired
	// (zero: the later of the two inputs' times).
	AsOf time.Time
	// KeepExpired compares keys and fields whose TTL has passed like any
	// other.
	KeepExpired bool
	// Separators split keys into prefix segments (default ":"); PrefixDepth
	// segments make a prefix (default 1; a key with fewer separators counts
	// under its last one, as in analyze's prefix table); at most
	// PrefixLimit prefixes are tracked (default 10000), the rest are
	// counted under "(other)".
	Separators  string
	PrefixDepth int
	PrefixLimit int
	// Progress, when set, is called now and then with the pass and the
	// number of keys read so far.
	Progress func(pass string, keys int64)
	// Jobs is how many goroutines digest each file's values beside the one
	// that reads it (default GOMAXPROCS); 1 reads each file on one
	// goroutine. The result is the same.
	Jobs int
}

// DefaultMemLimit is the memory budget when Options.MemLimit is 0.
const DefaultMemLimit = 256 << 20

func (o *Options) defaults() {
	if o.MaxDetails <= 0 {
		o.MaxDetails = 10
	}
	if o.MemLimit <= 0 {
		o.MemLimit = DefaultMemLimit
	}
	if o.Separators == "" {
		o.Separators = ":"
	}
	if o.PrefixDepth <= 0 {
		o.PrefixDepth = 1
	}
	if o.PrefixLimit <= 0 {
		o.PrefixLimit = 10000
	}
}

// KeyDiff is one differing key.
type KeyDiff struct {
	DB   int    `json:"db"`
	Key  []byte `json:"key_b64"`
	Kind Kind   `json:"kind"`
	// Types on each side ("" when the key is absent there); a module
	// value's type is "module".
	OldType string `json:"old_type,omitempty"`
	NewType string `json:"new_type,omitempty"`
	// TTL is set when the expiry differs: for ttl_changed, and for
	// value_changed keys whose TTL changed as well.
	TTL *TTLChange `json:"ttl,omitempty"`
	// Details describes a value change element by element (nil with
	// SummaryOnly, and for other kinds).
	Details *Details `json:"details,omitempty"`
	// OldExpireAt, NewExpireAt are the expiries in Unix ms (0: none).
	OldExpireAt int64 `json:"-"`
	NewExpireAt int64 `json:"-"`
}

// TTLChange is a changed expiry, in Unix ms (null: no expiry).
type TTLChange struct {
	OldExpireAt *int64 `json:"old_expire_at_ms"`
	NewExpireAt *int64 `json:"new_expire_at_ms"`
}

// Details is the element-level description of a value change. Lists of
// items hold at most Options.MaxDetails entries; Count is complete.
type Details struct {
	// OldLen and NewLen: bytes for strings, elements for collections,
	// entries for streams.
	OldLen int64 `json:"old_len"`
	NewLen int64 `json:"new_len"`
	// Strings: the first bytes of each side and their SHA-256.
	OldPreview []byte `json:"old_preview_b64,omitempty"`
	NewPreview []byte `json:"new_preview_b64,omitempty"`
	OldSHA256  string `json:"old_sha256,omitempty"`
	NewSHA256  string `json:"new_sha256,omitempty"`
	// Lists: how the ends moved, when B is A with elements removed from or
	// added at its ends (LTRIM, LPOP/RPOP, LPUSH/RPUSH); else Changed
	// lists the positions that differ (Index, Old, New) over the common
	// length, and Added/Removed the positions past it.
	List *ListEnds `json:"list,omitempty"`
	// Sets: members; hashes: fields (Old and New values for Changed);
	// sorted sets: members (OldScore and NewScore for Changed, "rescored");
	// streams: entry IDs.
	Added   *Items `json:"added,omitempty"`
	Removed *Items `json:"removed,omitempty"`
	Changed *Items `json:"changed,omitempty"`
	// Hash field TTL changes (fields on both sides whose expiry differs
	// beyond the tolerance).
	FieldTTL *Items `json:"field_ttl_changed,omitempty"`
	// Streams: metadata and consumer groups that differ.
	Meta   []MetaChange `json:"meta,omitempty"`
	Groups *GroupDiff   `json:"groups,omitempty"`
	// Module values: the type name and raw size on each side.
	Module *MetaChange `json:"module,omitempty"`
}

// ListEnds says how a list's ends moved.
type ListEnds struct {
	HeadRemoved int64 `json:"head_removed"`
	TailRemoved int64 `json:"tail_removed"`
	HeadAdded   int64 `json:"head_added"`
	TailAdded   int64 `json:"tail_added"`
}

// Items is a count and the first items.
type Items struct {
	Count int64  `json:"count"`
	Items []Item `json:"items"`
}

// Item is one element in a detail list. Which fields are set depends on
// the type.
type Item struct {
	Index       *int64 `json:"index,omitempty"`      // list position
	ID          string `json:"id,omitempty"`         // stream entry ID
	Member      []byte `json:"member_b64,omitempty"` // set/zset member, hash field
	Old         []byte `json:"old_b64,omitempty"`    // list element, hash value, stream fields (joined)
	New         []byte `json:"new_b64,omitempty"`
	OldScore    *Score `json:"old_score,omitempty"`
	NewScore    *Score `json:"new_score,omitempty"`
	OldExpireAt *int64 `json:"old_expire_at_ms,omitempty"`
	NewExpireAt *int64 `json:"new_expire_at_ms,omitempty"`
	// Value is set for added/removed hash fields and list elements.
	Value []byte `json:"value_b64,omitempty"`
}

// Score is a sorted-set score; JSON renders infinities as "inf"/"-inf".
type Score float64

// MarshalJSON writes a finite score as a JSON number, an infinity as
// "inf" or "-inf" and NaN as "nan".
func (s Score) MarshalJSON() ([]byte, error) {
	f := float64(s)
	switch {
	case math.IsInf(f, 1):
		return []byte(`"inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-inf"`), nil
	case math.IsNaN(f):
		return []byte(`"nan"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Score) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"inf"`:
		*s = Score(math.Inf(1))
		return nil
	case `"-inf"`:
		*s = Score(math.Inf(-1))
		return nil
	case `"nan"`:
		*s = Score(math.NaN())
		return nil
	}
	var f float64
	err := json.Unmarshal(b, &f)
	*s = Score(f)
	return err
}

// MetaChange is a named property with its old and new value.
type MetaChange struct {
	Name string `json:"name"`
	Old  any    `json:"old"`
	New  any    `json:"new"`
}

// GroupDiff lists consumer groups added, removed and changed.
type GroupDiff struct {
	Added   []string     `json:"added,omitempty"`
	Removed []string     `json:"removed,omitempty"`
	Changed []MetaChange `json:"changed,omitempty"`
}

// Counts counts differences by kind.
type Counts struct {
	Removed      int64 `json:"removed"`
	Added        int64 `json:"added"`
	TypeChanged  int64 `json:"type_changed"`
	ValueChanged int64 `json:"value_changed"`
	TTLChanged   int64 `json:"ttl_changed"`
}

// Total is the number of differing keys.
func (c Counts) Total() int64 {
	return c.Removed + c.Added + c.TypeChanged + c.ValueChanged + c.TTLChanged
}

func (c *Counts) add(k Kind) {
	switch k {
	case Removed:
		c.Removed++
	case Added:
		c.Added++
	case TypeChanged:
		c.TypeChanged++
	case ValueChanged:
		c.ValueChanged++
	case TTLChanged:
		c.TTLChanged++
	}
}

// Get returns the count of one kind.
func (c Counts) Get(k Kind) int64 {
	switch k {
	case Removed:
		return c.Removed
	case Added:
		return c.Added
	case TypeChanged:
		return c.TypeChanged
	case ValueChanged:
		return c.ValueChanged
	case TTLChanged:
		return c.TTLChanged
	}
	return 0
}

// Group is the summary of one database, type or prefix.
type Group struct {
	Name  string `json:"name"`
	KeysA int64  `json:"keys_a"` // keys in A (not expired as of AsOf)
	KeysB int64  `json:"keys_b"`
	Counts
}

// Side describes one input.
type Side struct {
	Name string `json:"name"`
	// Time is the input's time in Unix ms: ctime for files, the clock
	// for servers; 0 when unknown.
	Time int64 `json:"time_ms"`
	Keys int64 `json:"keys"` // keys compared (matching the filters, not expired)
	// Expired counts keys left out because their TTL had passed as of AsOf.
	Expired int64 `json:"expired"`
}

// Summary is the overall result.
type Summary struct {
	A, B     Side    `json:"-"`
	Sides    []Side  `json:"sides"`
	AsOf     int64   `json:"as_of_ms"` // 0: expired keys were kept
	Same     bool    `json:"same"`
	Counts   Counts  `json:"counts"`
	ByDB     []Group `json:"by_db"`
	ByType   []Group `json:"by_type"`
	ByPrefix []Group `json:"by_prefix"`
	// PrefixesTruncated: more prefixes than Options.PrefixLimit existed;
	// the rest are counted under "(other)".
	PrefixesTruncated bool `json:"prefixes_truncated,omitempty"`
	// Spilled tells whether the first pass went to temporary files.
	Spilled bool `json:"spilled"`
}
