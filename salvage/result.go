package salvage

import (
	"fmt"
	"strings"

	"github.com/rdbtool/rdbtool/rdb"
)

// Record is an intact record: its exact bytes are [Offset, Offset+Size)
// of the input.
type Record struct {
	Kind         rdb.RecordKind
	Offset, Size int64
	DB           int
	// DBUncertain: the record follows a damaged region that could have
	// held a database selection, and no selection was seen since; DB is
	// the database selected before the damage.
	DBUncertain bool
	Key         []byte
	Type        rdb.Type
	RDBType     byte
	ExpireAt    int64
}

// ProblemKind classifies problems.
type ProblemKind uint8

const (
	// Damaged: a byte range that could not be read as records; it was
	// passed over up to the next record boundary found (End).
	Damaged ProblemKind = iota + 1
	// KeyLost: a key whose value does not decode or breaks a rule; Key names it.
	KeyLost
	// KeySuspect: a key that decoded but sits right before or after a
	// damaged range, with nothing in its value confirming where it ends:
	// the damage may have started or ended inside it. Not recovered.
	KeySuspect
	// Checksum: the CRC-64 trailer does not match the content.
	Checksum
	// Header: the magic or version is damaged or unsupported.
	Header
	// Truncated: the file ends before its end-of-file marker.
	Truncated
	// Trailing: bytes after the end-of-file trailer. A note when the
	// trailer's checksum holds (Redis reads nothing after it and loads
	// the file); a problem when it does not.
	Trailing
	// ChangedByte: the checksum pinpoints one changed byte.
	ChangedByte
	// DBUncertain: keys follow a damaged range that could have held a
	// database selection.
	DBUncertain
	// DuplicateKey: a key record repeats a key already read in the same
	// database. Redis refuses to load such a file. Both records decode;
	// the first is kept, the repeat (at Offset; What names the first's
	// offset) is not written by Salvage.
	DuplicateKey

	// Notes: not damage, Redis loads the file. Reported to Options.Note
	// and in Result.Notes, never counted as problems.

	// EmptyCollection: a collection key with no elements; Redis skips it
	// on load.
	EmptyCollection
	// StreamLength: a stream whose stored length differs from its live
	// entries (some Redis 7.0 releases, and trims, write that); Redis
	// loads it as it is.
	StreamLength
)

func (k ProblemKind) String() string {
	switch k {
	case Damaged:
		return "damaged"
	case KeyLost:
		return "key-lost"
	case KeySuspect:
		return "key-suspect"
	case Checksum:
		return "checksum"
	case Header:
		return "header"
	case Truncated:
		return "truncated"
	case Trailing:
		return "trailing-bytes"
	case ChangedByte:
		return "changed-byte"
	case DBUncertain:
		return "db-uncertain"
	case DuplicateKey:
		return "duplicate-key"
	case EmptyCollection:
		return "empty-collection"
	case StreamLength:
		return "stream-length"
	}
	return "unknown"
}

// Problem is one thing wrong with the input.
type Problem struct {
	Kind   ProblemKind
	Offset int64  // where the problem is (for Damaged, the first damaged byte)
	End    int64  // Damaged, Truncated: end of the range passed over; else 0
	DB     int    // database, -1 when unknown
	Key    []byte // key concerned, nil when unknown
	What   string // what was expected or found
	Err    error  // the reader's *rdb.Error, when the problem came from it
}

func (p Problem) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offset %d", p.Offset)
	if p.End > p.Offset {
		fmt.Fprintf(&b, "-%d (%d bytes)", p.End, p.End-p.Offset)
	}
	b.WriteString(": ")
	b.WriteString(p.Kind.String())
	if p.Key != nil {
		if p.DB >= 0 {
			fmt.Fprintf(&b, " db %d", p.DB)
		}
		fmt.Fprintf(&b, " key %q", trunc(p.Key))
	}
	b.WriteString(": ")
	b.WriteString(p.What)
	return b.String()
}

// Range is a byte range [Start, End).
type Range struct{ Start, End int64 }

// DBSummary counts one database's keys.
type DBSummary struct {
	DB      int
	Keys    int64 // intact keys
	Expires int64 // intact keys with an expiry
	Lost    int64 // keys known by name that could not be recovered
	Bytes   int64 // bytes of the intact key records
}

// LostKey is a key known by name that was not recovered.
type LostKey struct {
	DB     int
	Key    []byte
	Offset int64
	Why    string
}

// Result is what Scan found.
type Result struct {
	Name    string
	Size    int64
	Dialect rdb.Dialect
	Version int
	// KeyDB: the file holds KeyDB's additions to the Redis format (its
	// aux fields, per-key MVCC timestamps); KeyDB writes Redis versions.
	KeyDB    bool
	HeaderOK bool
	// Checksum is what became of the trailer: verified, disabled (zeros),
	// skipped, absent (RDB < 5) or unknown (no trailer found).
	Checksum         rdb.ChecksumStatus
	ChecksumMismatch bool
	Fix              *ByteFix // the single changed byte the checksum pinpoints, if any
	Repaired         bool     // Fix was applied (Options.Repair)
	EOF              bool     // the end-of-file marker was found where expected

	Records      int64 // intact records of every kind
	Keys         int64 // intact keys
	KeyBytes     int64
	Lost         []LostKey
	LostCount    int64 // keys known by name that were not recovered (Lost may keep fewer)
	DBs          []DBSummary
	Damaged      []Range
	DamagedBytes int64
	Problems     []Problem
	ProblemCount int
	// Duplicates counts key records that repeat a key (DuplicateKey).
	Duplicates int64
	// Hidden bounds the keys that lay wholly inside damaged bytes: nothing
	// names them, so Lost does not list them.
	Hidden LossBound
	// Notes are things Redis accepts but a reader should know (at most
	// MaxProblems of them are kept; NoteCount counts them all).
	Notes     []Problem
	NoteCount int
}

// LossBound is what is known of keys lost without a trace.
type LossBound struct {
	// Min and Max bound how many keys there were; Exact when they are
	// equal because the databases' declared key counts (RESIZEDB) say so.
	Min, Max int64
	Exact    bool
	// Estimate is Max's more likely neighbour: the damaged bytes divided
	// by this file's average key record size (when not Exact).
	Estimate int64
}

// String says what the bound is and where it comes from.
func (b LossBound) String() string {
	switch {
	case b.Exact:
		return fmt.Sprintf("%d keys were wholly inside the damaged bytes (exact: the databases' declared key counts less the keys read)", b.Min)
	case b.Max == 0:
		return "no key can have been wholly inside the damaged bytes"
	}
	return fmt.Sprintf("between %d and %d keys may have been wholly inside the damaged bytes (at most one per %d damaged bytes; about %d at this file's average key record size); nothing names them", b.Min, b.Max, minKeyRecord, b.Estimate)
}

// Clean reports whether nothing at all was wrong.
func (r *Result) Clean() bool { return r.ProblemCount == 0 }
