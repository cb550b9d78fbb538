package salvage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"
	"strings"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb"
)

// Options configure Scan and Salvage. The zero value checks everything and
// keeps going after every problem.
type Options struct {
	Name         string // input name for messages
	AllowNewer   bool   // try RDB versions newer than the reader knows
	SkipChecksum bool   // do not checksum the file
	// Quick checks structure only: every record and element is decoded,
	// but duplicate members, sorted-set order and stream consistency are
	// not checked.
	Quick bool
	// Repair applies the one-byte correction the checksum proves when a
	// single changed byte explains a checksum mismatch. Off by default:
	// the key holding that byte is then reported lost instead.
	Repair bool
	// Problem, when set, is called for every problem as it is found. The
	// Problem's Key is the caller's.
	Problem func(Problem)
	// Record, when set, is called for every record accepted as intact, in
	// file order: keys whose whole value decoded and validated, aux fields,
	// functions, module aux data, database selections. rec.Key is valid
	// only during the call.
	Record func(rec *Record)
	// MaxProblems limits how many problems Result.Problems keeps (the
	// callback still sees all): 0 means 1000, negative means no limit.
	// When it is positive, Result.Lost keeps at most that many keys too
	// (LostCount counts them all), so memory stays bounded however many
	// keys are lost.
	MaxProblems int
	// KeepUnverified: when the checksum shows that bytes changed inside
	// some value's content, where no check sees them, and it cannot prove
	// where, every key is in doubt; they are recovered all the same (and
	// the change with them) instead of none.
	KeepUnverified bool
	// Version, when not zero, is the RDB version to assume when the header
	// is unreadable (with Dialect, default Redis).
	Version int
	Dialect rdb.Dialect
	// MemLimit bounds the memory that finding repeated keys takes; past
	// it, key digests go to temporary files (TempDir). 0 means
	// keydigest.DefaultMemLimit for Scan. Salvage keeps every digest in
	// memory unless MemLimit is set: a repeat found only at the end could
	// not be left out of what was already written, so there it is
	// reported and the output holds both records.
	MemLimit int64
	TempDir  string
	// Note, when set, is called for every note as it is found: things
	// that are not damage (Redis loads the file) but worth knowing.
	Note func(Problem)
}

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

// ErrNoHeader: the file's header cannot be read and no version was given.
var ErrNoHeader = errors.New("no readable RDB header")

type scanner struct {
	ra   io.ReaderAt
	size int64
	opts Options
	res  *Result
	v    validator

	dialect rdb.Dialect
	version int
	start   [256]bool // bytes that can start a record
	types   [256]bool // type bytes this file plausibly holds

	keys *keydigest.Set // (db, key) digests seen, with their record offsets
	db   int            // the database the reader has selected
	ev   evidence
	dbs  map[int]*DBSummary
	// fixOff: -1, or the byte the checksum proves changed when it is not
	// repaired. The scan reads the corrected byte either way (so every
	// record keeps its exact extent); the record holding it is not
	// recovered.
	fixOff      int64
	ci          *checksumInfo  // computed beforehand, when set
	content     *contentChange // a change inside value content, when known
	trailer     bool           // the file ends with an end-of-file marker and checksum trailer
	failPos     int64          // where the last failure was noticed
	failTrunc   bool           // it was the input ending inside a record
	maxProblems int
	out         Record        // what emit hands on, reused
	fv          failedValue   // the key whose value failed in the last segment, if any
	ioErr       error         // a spill of the key digests failed
	stopAfter   int           // stop reading at this many problems (0: never)
	declaredDBs map[int]int64 // key counts the databases declare (RESIZEDB)
	dbUncertain bool          // a damaged range may have held a database selection
	stopped     bool
	trialBudget int64     // bytes trials may still read in windows beyond the first (see try)
	recDBs      []dbStart // where each database selection took effect, for late repeats
}

// dbStart: records from off on are in database db.
type dbStart struct {
	off int64
	db  int
}

// Scan reads a whole RDB file from r (size bytes), checks every record and
// value, and keeps going after damage: it resynchronises on the next record
// boundary it can confirm by decoding the records that follow. It returns
// an error only when the input cannot be read (I/O) or has no usable header.
func Scan(r io.ReaderAt, size int64, opts Options) (*Result, error) {
	s := newScanner(r, size, opts)
	ci, content, err := prepare(r, size, opts)
	if err != nil {
		return s.res, err
	}
	s.ci, s.content = ci, content
	err = s.run()
	if err == nil {
		err = s.lateDuplicates()
	}
	s.keys.Close()
	s.finish()
	return s.res, err
}

func newScanner(r io.ReaderAt, size int64, opts Options) *scanner {
	s := &scanner{ra: r, size: size, opts: opts, res: &Result{Name: opts.Name, Size: size}, dbs: map[int]*DBSummary{}, fixOff: -1}
	s.v = validator{name: opts.Name, quick: opts.Quick, seed: hashSeed()}
	s.keys = keydigest.New(keydigest.Options{MemLimit: opts.MemLimit, TempDir: opts.TempDir})
	s.maxProblems = opts.MaxProblems
	if s.maxProblems == 0 {
		s.maxProblems = 1000
	}
	return s
}

// prepare checksums the file and, when the checksum mismatches and
// nothing but value content can explain it (a first pass finds no other
// problem), tries to prove where the change is.
func prepare(r io.ReaderAt, size int64, opts Options) (*checksumInfo, *contentChange, error) {
	if opts.SkipChecksum {
		return nil, nil, nil
	}
	if !mayHaveChecksum(r, opts) {
		return &checksumInfo{}, nil, nil
	}
	ci, err := readChecksum(r, size)
	if err != nil {
		return nil, nil, err
	}
	if !unexplained(ci) {
		return &ci, nil, nil
	}
	// A structural pass first: what it finds the full checks find too,
	// and most damage shows there (a damaged range of megabytes inside a
	// large collection costs a fraction of the full checks to reach).
	if shows, err := damageShows(r, size, opts, &ci, true); shows || err != nil {
		return &ci, nil, nil
	}
	if !opts.Quick {
		if shows, err := damageShows(r, size, opts, &ci, false); shows || err != nil {
			return &ci, nil, nil
		}
	}
	return &ci, locateContent(r, size, ci), nil
}

// damageShows reports whether a scan (quick: structure only) finds a
// problem besides the checksum mismatch.
func damageShows(r io.ReaderAt, size int64, opts Options, ci *checksumInfo, quick bool) (bool, error) {
	pre := newScanner(r, size, Options{Name: opts.Name, AllowNewer: opts.AllowNewer, Quick: quick, MaxProblems: 1, Version: opts.Version, Dialect: opts.Dialect})
	defer pre.keys.Close()
	pre.ci = ci
	pre.stopAfter = 2 // a second problem is all this pass needs to know
	if err := pre.run(); err != nil {
		return true, err
	}
	return pre.res.ProblemCount > 1, nil
}

func (s *scanner) problem(p Problem) {
	if p.Key != nil {
		p.Key = append([]byte(nil), p.Key...)
	}
	s.res.ProblemCount++
	if s.stopAfter > 0 && s.res.ProblemCount >= s.stopAfter {
		s.stopped = true
	}
	if s.maxProblems < 0 || len(s.res.Problems) < s.maxProblems {
		s.res.Problems = append(s.res.Problems, p)
	}
	if s.opts.Problem != nil {
		s.opts.Problem(p)
	}
}

// note records a note: not a problem, the file loads.
func (s *scanner) note(p Problem) {
	if p.Key != nil {
		p.Key = append([]byte(nil), p.Key...)
	}
	s.res.NoteCount++
	if s.maxProblems < 0 || len(s.res.Notes) < s.maxProblems {
		s.res.Notes = append(s.res.Notes, p)
	}
	if s.opts.Note != nil {
		s.opts.Note(p)
	}
}

func (s *scanner) dbSum(db int) *DBSummary {
	d := s.dbs[db]
	if d == nil {
		d = &DBSummary{DB: db}
		s.dbs[db] = d
	}
	return d
}

func (s *scanner) finish() {
	for _, d := range s.dbs {
		s.res.DBs = append(s.res.DBs, *d)
	}
	sort.Slice(s.res.DBs, func(i, j int) bool { return s.res.DBs[i].DB < s.res.DBs[j].DB })
	for _, r := range s.res.Damaged {
		s.res.DamagedBytes += r.End - r.Start
	}
	s.boundHidden()
}

// boundHidden bounds the keys that lay wholly inside damaged ranges. The
// key records read (intact, lost by name, or repeats) are subtracted from
// the key counts the databases declare; that is exact when every database
// read declared its count and no damaged range can have held another
// database's selection. Otherwise a key record takes at least minKeyRecord
// bytes.
func (s *scanner) boundHidden() {
	r := s.res
	if r.DamagedBytes == 0 {
		return
	}
	b := &r.Hidden
	b.Max = r.DamagedBytes / minKeyRecord
	if r.Keys > 0 {
		b.Estimate = min(b.Max, r.DamagedBytes*r.Keys/max(r.KeyBytes, 1))
	}
	var declared, seen int64
	all := len(s.declaredDBs) > 0
	for _, d := range s.dbs {
		n, ok := s.declaredDBs[d.DB]
		if !ok {
			all = false
		}
		declared += n
		seen += d.Keys + d.Lost
	}
	seen += r.Duplicates
	for db, n := range s.declaredDBs {
		if s.dbs[db] == nil {
			declared += n
		}
	}
	if !all || declared < seen {
		return
	}
	hidden := declared - seen
	b.Min = min(hidden, b.Max)
	if !s.dbUncertain && hidden <= b.Max {
		b.Max, b.Exact, b.Estimate = hidden, true, hidden
	}
}

func (s *scanner) run() error {
	size := s.size
	s.ev.init()
	var ci checksumInfo
	if s.ci != nil {
		ci = *s.ci
	} else if !s.opts.SkipChecksum && mayHaveChecksum(s.ra, s.opts) {
		var err error
		if ci, err = readChecksum(s.ra, size); err != nil {
			return err
		}
	}
	s.trailer = ci.present
	s.ra = newCachedReaderAt(s.ra, s.size)
	if ci.fix != nil {
		// Read the byte as written: every record keeps its exact extent,
		// and only the one holding the byte is affected.
		s.ra = &patchedReaderAt{s.ra, ci.fix.Offset, ci.fix.Original}
	}
	// Header.
	hdr := make([]byte, 9)
	n, err := s.ra.ReadAt(hdr, 0)
	if err != nil && err != io.EOF {
		return err
	}
	hdr = hdr[:n]
	if err := s.header(hdr); err != nil {
		return err
	}
	s.res.Dialect, s.res.Version = s.dialect, s.version
	s.setTypes()

	s.checksumVerdict(ci)

	off := int64(len(hdr))
	if !s.res.HeaderOK {
		// The header is damaged: resynchronise from its end.
		next := s.resync(9)
		if next < 0 {
			s.damaged(9, size, "no record boundary found after the damaged header")
			return nil
		}
		if next > 9 {
			s.damaged(9, next, "unreadable bytes after the damaged header")
		}
		s.damage(9, next, next-9, false)
		s.ev.confirming = true
		off = next
	}
	afterDamage := !s.res.HeaderOK
	for {
		failAt, hint, from, done := s.segment(off, afterDamage)
		if done || s.stopped {
			return nil
		}
		next := s.passDamage(failAt, hint, from)
		if next < 0 {
			return nil // damaged to the end
		}
		off = next
		afterDamage = true
	}
}

// checksumVerdict sets the checksum status from what the trailer says and
// reports a mismatch with what explains it.
func (s *scanner) checksumVerdict(ci checksumInfo) {
	switch {
	case s.opts.SkipChecksum:
		s.res.Checksum = rdb.ChecksumSkipped
	case s.version < 5:
		s.res.Checksum = rdb.ChecksumAbsent
	case !ci.present:
		s.res.Checksum = rdb.ChecksumUnknown
	case ci.stored == 0:
		s.res.Checksum = rdb.ChecksumDisabled
	case ci.stored == ci.computed:
		s.res.Checksum = rdb.ChecksumVerified
	default:
		s.res.ChecksumMismatch = true
		switch {
		case ci.trailer:
			s.problem(Problem{Kind: Checksum, Offset: s.size - 8, DB: -1, What: fmt.Sprintf("stored CRC-64 %016x, computed %016x: they differ in one byte, so the trailer itself is damaged; the content is intact", ci.stored, ci.computed)})
		case ci.fix != nil:
			f := ci.fix
			s.res.Fix = f
			if s.opts.Repair {
				s.res.Repaired = true
				s.problem(Problem{Kind: ChangedByte, Offset: f.Offset, End: f.Offset + 1, DB: -1, What: fmt.Sprintf("the checksum proves this one byte changed from 0x%02X to 0x%02X; repaired", f.Original, f.Found)})
			} else {
				s.fixOff = f.Offset
				s.problem(Problem{Kind: ChangedByte, Offset: f.Offset, End: f.Offset + 1, DB: -1, What: fmt.Sprintf("the checksum proves this one byte changed from 0x%02X to 0x%02X (and nothing else did); the record holding it is not recovered (--repair restores it)", f.Original, f.Found)})
			}
		default:
			what := fmt.Sprintf("stored CRC-64 %016x, computed %016x: the content differs from what was written (not one changed byte)", ci.stored, ci.computed)
			switch c := s.content; {
			case c != nil && len(c.located) > 0:
				what += fmt.Sprintf("; every record decodes, so the change is inside a value's content: the checksum proves it lies in [%d, %d) (a repeating pattern broken there; refilled, the checksum matches)", c.located[0].Start, c.located[0].End)
			case c != nil && s.opts.KeepUnverified:
				what += "; every record decodes, so the change is inside some value's content, and nothing shows which: keys are kept unverified (one or more of them differ from what was saved)"
			case c != nil:
				what += "; every record decodes, so the change is inside some value's content, and nothing shows which: no key can be verified, none is recovered (keep them unverified with KeepUnverified / --keep-unverified)"
			}
			s.problem(Problem{Kind: Checksum, Offset: s.size - 8, DB: -1, What: what})
		}
	}
}

// passDamage handles a failure of the chain of records at failAt (hint,
// from: as segment returns them): it finds where records resume, decides
// which records before the failure are intact, reports the damaged range
// and what it may have held. It returns where records resume, -1 when the
// damage runs to the end of the file.
func (s *scanner) passDamage(failAt, hint, from int64) int64 {
	next, what, viaHint := int64(-1), "unreadable bytes; records resume at the end of this range", false
	if hint > failAt {
		if ok, _, _ := s.try(hint); ok {
			viaHint = true
			// The damaged value ends where its lengths say: records go
			// on from there, if something there proves it.
			next, what = hint, "damaged value; records resume at the end of this range"
		}
	}
	if next < 0 {
		next = s.resync(from)
	}
	if s.ev.hintAt >= 0 {
		s.hintDecided(false)
	}
	start := failAt
	truncated := next < 0 && s.failTrunc && !s.trailer
	dropped := int64(-1)
	zs := s.zeroRunStart(max(failAt, s.failPos-64<<10), max(s.failPos, hint))
	switch {
	case truncated:
		// The file was cut short: the bytes before the cut are as
		// written (a damaged end keeps the file's size and trailer).
		s.commitRun()
	case zs >= 0:
		// Zeroed bytes: they read as no record at all, so damage
		// reaching back into the records before would have stopped
		// them decoding. Only records overlapping the zeros are in doubt.
		s.commitRunBefore(zs)
		dropped = s.dropRun()
	default:
		dropped = s.dropRun()
	}
	if dropped >= 0 && dropped < start {
		// Not recovered, so as unknown as the damaged bytes.
		start = dropped
	}
	if s.ev.confirming {
		if len(s.ev.held) > 0 && s.ev.held[0].rec.Offset < start {
			start = s.ev.held[0].rec.Offset
		}
		s.dropHeld()
	}
	if next < 0 {
		s.damaged(start, s.size, "no record boundary found after this point")
		s.problem(Problem{Kind: Truncated, Offset: start, End: s.size, DB: -1, What: "no intact records and no end-of-file marker after this point (truncated or damaged to the end)"})
		s.endDamaged()
		return -1
	}
	s.damaged(start, next, what)
	// Zeros that begin after the damaged value's first byte: its header
	// is as written, so if its lengths lead to a proven record start,
	// the damage lay inside it.
	unknown := next - start
	if (zs >= 0 && zs >= start) || (zs < 0 && s.ev.zeroed) {
		// Zeroed bytes are the damage: the rest of the range is as
		// written (a range without zeros after one with them is the
		// tail of the value the zeros hit, read as records).
		if n := s.zeroedOnly(start, zs, next); n >= 0 {
			unknown = n
		}
	}
	if unknown > 64<<10 {
		// A long range after a value whose header was read: its
		// elements may show that the range is that value alone.
		u := s.valueRangeUnknown(s.fv, start, next, unknown)
		if u >= 0 && u < unknown {
			unknown = u
		}
	}
	if zs >= 0 {
		s.ev.zeroed = true
	}
	s.damage(start, next, unknown, viaHint && zs > failAt)
	s.ev.confirming = true
	return next
}

// trailing reports the bytes after the end-of-file trailer, which ends at
// end. Redis (rdbLoad, like redis-check-rdb) reads nothing after the
// checksum: when that checksum holds, or is zero (checksums disabled), or
// the version has none, the file loads and they are a note; when it does
// not hold, Redis refuses the file.
func (s *scanner) trailing(end int64) error {
	n := s.size - end
	p := Problem{Kind: Trailing, Offset: end, End: s.size, DB: -1}
	if s.version < 5 || s.opts.SkipChecksum {
		p.What = fmt.Sprintf("%d bytes after the end-of-file marker; Redis stops reading at the marker and loads the file", n)
		s.note(p)
		return nil
	}
	var t [8]byte
	if _, err := s.ra.ReadAt(t[:], end-8); err != nil {
		return err
	}
	stored := binary.LittleEndian.Uint64(t[:])
	if stored == 0 {
		s.res.Checksum = rdb.ChecksumDisabled
		p.What = fmt.Sprintf("%d bytes after the end-of-file trailer (checksum disabled); Redis stops reading at the trailer and loads the file", n)
		s.note(p)
		return nil
	}
	crc, err := crcPrefix(s.ra, end-8)
	if err != nil {
		return err
	}
	if crc == stored {
		s.res.Checksum = rdb.ChecksumVerified
		p.What = fmt.Sprintf("%d bytes after the end-of-file trailer, whose checksum holds; Redis stops reading at the trailer and loads the file", n)
		s.note(p)
		return nil
	}
	s.res.ChecksumMismatch = true
	p.What = fmt.Sprintf("%d bytes after an end-of-file marker whose checksum does not hold (stored %016x, computed %016x): Redis refuses the file", n, stored, crc)
	s.problem(p)
	return nil
}

// damaged records a damaged range.
func (s *scanner) damaged(start, end int64, what string) {
	s.res.Damaged = append(s.res.Damaged, Range{start, end})
	s.problem(Problem{Kind: Damaged, Offset: start, End: end, DB: -1, What: what})
}

func (s *scanner) header(hdr []byte) error {
	digits := func(p []byte) (int, bool) {
		v := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, len(p) > 0
	}
	if len(hdr) == 9 {
		switch {
		case string(hdr[:5]) == "REDIS":
			if v, ok := digits(hdr[5:9]); ok && v >= 1 && (v <= rdb.MaxRedisVersion || s.opts.AllowNewer) {
				s.dialect, s.version, s.res.HeaderOK = rdb.DialectRedis, v, true
				return nil
			}
		case string(hdr[:6]) == "VALKEY":
			if v, ok := digits(hdr[6:9]); ok && v >= 80 && (v <= rdb.MaxValkeyVersion || s.opts.AllowNewer) {
				s.dialect, s.version, s.res.HeaderOK = rdb.DialectValkey, v, true
				return nil
			}
		}
	}
	// Damaged or unknown header: take what can be inferred.
	var what string
	switch {
	case len(hdr) < 9:
		what = fmt.Sprintf("file is %d bytes, too short for an RDB header", len(hdr))
	default:
		what = fmt.Sprintf("header %q is not \"REDIS\" + 4 digits or \"VALKEY\" + 3 digits of a known version", hdr)
	}
	if s.opts.Version != 0 {
		s.dialect, s.version = s.opts.Dialect, s.opts.Version
		if s.dialect == 0 {
			s.dialect = rdb.DialectRedis
		}
	} else if len(hdr) == 9 && countDiff(hdr[:5], "REDIS") <= 1 {
		if v, ok := digits(hdr[5:9]); ok && v >= 1 && v <= rdb.MaxRedisVersion {
			s.dialect, s.version = rdb.DialectRedis, v
		}
	} else if len(hdr) == 9 && countDiff(hdr[:6], "VALKEY") <= 1 {
		if v, ok := digits(hdr[6:9]); ok && v == rdb.MaxValkeyVersion {
			s.dialect, s.version = rdb.DialectValkey, v
		}
	}
	if s.version == 0 {
		s.problem(Problem{Kind: Header, Offset: 0, DB: -1, What: what})
		return fmt.Errorf("%w: %s", ErrNoHeader, what)
	}
	s.problem(Problem{Kind: Header, Offset: 0, End: int64(len(hdr)), DB: -1, What: what + fmt.Sprintf("; reading on as %s RDB %d", s.dialect, s.version)})
	return nil
}

// mayHaveChecksum reports whether the file can end with a CRC-64 trailer:
// RDB 5 and later. Before, the last 9 bytes are records, and one of them
// being 0xFF must not make the 8 after it a checksum.
func mayHaveChecksum(r io.ReaderAt, opts Options) bool {
	var hdr [9]byte
	if n, _ := r.ReadAt(hdr[:], 0); n == 9 && string(hdr[:5]) == "REDIS" {
		v := 0
		for _, c := range hdr[5:] {
			if c < '0' || c > '9' {
				return true
			}
			v = v*10 + int(c-'0')
		}
		return v >= 5
	}
	return opts.Version == 0 || opts.Version >= 5 || opts.Dialect == rdb.DialectValkey
}

// PlausibleHeader reports whether b, a file's first bytes, can be an RDB
// header, damaged in at most one byte of its magic: what Scan reads on
// from. Callers use it to refuse other data before reading all of it.
func PlausibleHeader(b []byte) bool {
	if len(b) < 9 {
		return false
	}
	return countDiff(b[:5], "REDIS") <= 1 || countDiff(b[:6], "VALKEY") <= 1
}

func countDiff(a []byte, b string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// setTypes decides which bytes can start a record in this file: the
// opcodes, and the type bytes servers writing this version use.
func (s *scanner) setTypes() {
	for _, t := range rdb.KeyTypes(s.dialect, s.version) {
		s.types[t] = true
		s.start[t] = true
	}
	for _, op := range rdb.Opcodes(s.dialect, s.version) {
		s.start[op] = true
	}
}

func (s *scanner) readerAt(off int64, window int64, db int) *rdb.Reader {
	n := s.size - off
	if window > 0 && window < n {
		n = window
	}
	opts := []rdb.Option{rdb.WithName(s.opts.Name), rdb.WithSize(n), rdb.WithoutChecksum()}
	if s.opts.AllowNewer {
		opts = append(opts, rdb.AllowNewerVersions())
	}
	if window > 0 {
		opts = append(opts, rdb.WithBufferSize(4096))
	}
	if off > 0 {
		opts = append(opts, rdb.Resume(s.dialect, s.version, db, off))
	}
	return rdb.NewReader(io.NewSectionReader(s.ra, off, n), opts...)
}

func (s *scanner) keyHash(db int, key []byte) uint64 { return s.keys.Digest(db, key) }

// keyAt returns the key of the key record at off (a copy), nil when none
// can be read there.
func (s *scanner) keyAt(off int64, db int) []byte {
	r := s.readerAt(off, 1<<20, db)
	if off < 9 {
		return nil
	}
	rec, err := r.Next()
	if err != nil && !errors.Is(err, rdb.ErrTruncated) || rec == nil || rec.Kind != rdb.KindKey {
		return nil
	}
	return append([]byte{}, rec.Key...)
}

// duplicate reports the key record at off repeating the one at first.
func (s *scanner) duplicate(off, first int64, db int, key []byte) {
	s.res.Duplicates++
	s.problem(Problem{Kind: DuplicateKey, Offset: off, DB: db, Key: key, What: fmt.Sprintf("this key was already read in this database, in the record at offset %d: Redis refuses to load a file with a repeated key (the first record is kept)", first)})
}

// lateDuplicates reports the repeats whose first record's digest had been
// spilled to disk when the repeat was read.
func (s *scanner) lateDuplicates() error {
	if s.ioErr != nil {
		return s.ioErr
	}
	return s.keys.Finish(func(d keydigest.Dup) error {
		// The database is part of the digest; the reader needs one to
		// resume, and a key record's key does not depend on it.
		k2 := s.keyAt(d.Second, 0)
		if k2 == nil || string(s.keyAt(d.First, 0)) != string(k2) {
			return nil // two keys sharing a digest
		}
		db := -1
		for i := len(s.recDBs) - 1; i >= 0; i-- {
			if s.recDBs[i].off <= d.Second {
				db = s.recDBs[i].db
				break
			}
		}
		s.duplicate(d.Second, d.First, db, k2)
		// It was counted as an intact key when it was read.
		s.res.Keys--
		if db >= 0 {
			s.dbSum(db).Keys--
		}
		return nil
	})
}

// segment reads records from off (0: from the header) until the end or a
// problem that breaks the chain of records. done is true at a clean end;
// otherwise failAt is the offset of the record that could not be read.
func (s *scanner) segment(off int64, afterDamage bool) (failAt, hint, from int64, done bool) {
	var r *rdb.Reader
	if off <= 9 && s.res.HeaderOK {
		r = s.readerAt(0, 0, 0)
	} else {
		r = s.readerAt(off, 0, s.db)
	}
	first := afterDamage
	recStart := off
	s.fv = failedValue{}
	for {
		if recStart < 9 && s.res.HeaderOK {
			recStart = 9
		}
		rec, err := r.Next()
		if err == io.EOF {
			end := r.Offset()
			if end != s.size {
				if end < s.size && s.res.Version >= 5 && s.trailer {
					// An end-of-file marker with more records after it: a
					// damaged byte that happens to read as 0xFF.
					s.problem(Problem{Kind: Damaged, Offset: recStart, DB: -1, What: fmt.Sprintf("an end-of-file marker %d bytes before the file's own trailer", s.size-end)})
					return recStart, 0, recStart + 1, false
				}
				if end < s.size {
					if err := s.trailing(end); err != nil {
						s.problem(Problem{Kind: Damaged, Offset: end, DB: -1, What: err.Error(), Err: err})
						return end, 0, end + 1, false
					}
				}
			}
			s.endOfFile()
			s.res.EOF = true
			return 0, 0, 0, true
		}
		if err != nil {
			var re *rdb.Error
			p := Problem{Kind: Damaged, Offset: recStart, DB: -1, What: err.Error(), Err: err}
			if errors.As(err, &re) {
				p.Offset = re.Offset
				p.What = re.What
				if re.Err != nil && re.Err != rdb.ErrCorrupt {
					p.What += ": " + re.Err.Error()
				}
				if re.Key != nil && !first {
					p.Kind, p.Key, p.DB = KeyLost, re.Key, s.db
					s.lost(s.db, re.Key, recStart, re.What)
				}
			} else {
				// An I/O error: nothing more can be read.
				s.problem(p)
				return recStart, 0, recStart + 1, false
			}
			if p.Kind == Damaged {
				p.What = "record does not decode: " + p.What
			}
			if errors.Is(err, rdb.ErrTruncated) && p.Kind == Damaged {
				p.Kind = Truncated
			}
			if !first || p.Kind == KeyLost {
				s.problem(p)
			}
			s.fail(p.Offset, err)
			return recStart, 0, recStart + 1, false
		}
		if s.stopped {
			return 0, 0, 0, true
		}
		if r.KeyDB() {
			s.res.KeyDB = true
		}
		s.failPos, s.failTrunc = -1, false
		ok, hint, from := s.record(r, rec, first)
		if !ok {
			if s.failPos < 0 {
				s.failPos = rec.Offset
			}
			// hint: where the damaged record may end, when its key and
			// type were read; from: where to look for records after it.
			return rec.Offset, hint, max(from, rec.Offset+1), false
		}
		first = false
		recStart = r.Offset()
	}
}

// record checks one record. It returns false when the record shows that
// the chain of records is broken here (bogus data that happens to decode).
func (s *scanner) record(r *rdb.Reader, rec *rdb.Record, first bool) (ok bool, hint, from int64) {
	vs := r.Offset()
	cur := Record{Kind: rec.Kind, Offset: rec.Offset, DB: rec.DB, Type: rec.Type, RDBType: rec.RDBType, ExpireAt: rec.ExpireAt}
	if rec.Kind != rdb.KindKey {
		cur.Size = rec.Size
		s.otherRecord(rec, &cur, first)
		return true, 0, 0
	}
	s.ev.segKeys++
	weak, err := s.v.check(r, rec)
	var inc *inconsistency
	if err != nil && !errors.As(err, &inc) {
		// The value is damaged from where the reader failed on; before
		// that it decoded.
		return false, r.Offset(), s.undecodable(rec, vs, err, first)
	}
	// Consume whatever the checks left unread, so the size is known.
	if err := r.Skip(); err != nil {
		s.fail(r.Offset(), err)
		at := r.Offset()
		if re := (*rdb.Error)(nil); errors.As(err, &re) {
			at = re.Offset
		}
		s.fv = failedValue{rdbType: rec.RDBType, vs: vs, at: at}
		if !first {
			s.lost(rec.DB, rec.Key, rec.Offset, err.Error())
			s.problem(Problem{Kind: KeyLost, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: err.Error(), Err: err})
		}
		return false, 0, 0
	}
	cur.Size = rec.Size
	if !weak && (rec.RDBType == 14 || rec.RDBType == 18) {
		// A quicklist confirms its end only when its last node is a
		// listpack or ziplist, which ends with 0xFF; a plain node (or an
		// LZF-compressed one) can end with anything.
		var last [1]byte
		if _, err := s.ra.ReadAt(last[:], rec.Offset+rec.Size-1); err != nil || last[0] != 0xFF {
			weak = true
		}
	}
	// Zeroed bytes read as keys with empty names and empty string values.
	if rec.Type == rdb.TypeString && len(rec.Key) == 0 && rec.Size <= 3 && rec.ExpireAt == 0 {
		s.problem(Problem{Kind: Damaged, Offset: rec.Offset, DB: -1, What: "zero bytes where a record should be (they read as an empty key with an empty value)"})
		return false, 0, 0
	}
	note, noteWhat := s.v.note, s.v.noteWhat
	if note != 0 && (first || s.ev.confirming) {
		// Right after damage this is more likely damaged bytes than what
		// a server wrote.
		s.problem(Problem{Kind: Damaged, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: noteWhat + ", right after damage: bogus bytes that decode as a key"})
		return false, 0, 0
	}
	h := s.keyHash(rec.DB, rec.Key)
	if first || s.ev.confirming {
		// Right after damage a repeated key is evidence of bogus bytes
		// (a damaged value's content can hold a copy of a record).
		if prev, seen := s.keys.Lookup(h); seen && string(s.keyAt(prev, rec.DB)) == string(rec.Key) {
			s.problem(Problem{Kind: Damaged, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: fmt.Sprintf("this key was already read in this database (offset %d), right after damage: bogus bytes that decode as a key", prev)})
			return false, 0, 0
		}
	}
	prev, dup, err := s.keys.Add(h, rec.Offset)
	if err != nil {
		s.ioErr = err
	}
	if dup && inc == nil && string(s.keyAt(prev, rec.DB)) == string(rec.Key) {
		// An intact record repeating a key: the file is what its writer
		// wrote, but Redis refuses it. Nothing is unreadable, nothing lost.
		s.duplicate(rec.Offset, prev, rec.DB, rec.Key)
		return true, 0, 0
	}
	if inc != nil {
		// The value decodes but its content is wrong: damage that may
		// also have changed its lengths. Records go on from its end if
		// what follows confirms it.
		s.lost(rec.DB, rec.Key, rec.Offset, inc.err.What)
		s.problem(Problem{Kind: KeyLost, Offset: inc.err.Offset, DB: rec.DB, Key: rec.Key, What: inc.err.What, Err: inc.err})
		s.fail(inc.err.Offset, nil)
		s.fv = failedValue{rdbType: rec.RDBType, vs: vs, at: inc.err.Offset}
		return false, rec.Offset + rec.Size, inc.err.Offset
	}
	if s.fixOff >= rec.Offset && s.fixOff < rec.Offset+rec.Size {
		// The record holds the changed byte. It was read with the byte as
		// written, so its extent is exact and the records go on.
		s.lost(rec.DB, rec.Key, rec.Offset, fmt.Sprintf("holds the changed byte at offset %d", s.fixOff))
		s.problem(Problem{Kind: KeyLost, Offset: s.fixOff, DB: rec.DB, Key: rec.Key, What: fmt.Sprintf("the record [%d, %d) holds the byte the checksum shows changed (--repair restores it)", rec.Offset, rec.Offset+rec.Size)})
		return true, 0, 0
	}
	if c := s.content; c != nil {
		if why := c.doubt(rec.Offset, rec.Offset+rec.Size, s.opts.KeepUnverified); why != "" {
			s.lost(rec.DB, rec.Key, rec.Offset, why)
			s.problem(Problem{Kind: KeyLost, Offset: rec.Offset, End: rec.Offset + rec.Size, DB: rec.DB, Key: rec.Key, What: why})
			return true, 0, 0
		}
	}
	if note != 0 {
		s.note(Problem{Kind: note, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: noteWhat})
	}
	// Intsets have no terminator: damage beginning in their last integers
	// and running on is not noticed in them.
	end := !weak && rec.RDBType != 11
	proof := s.startProof(rec, weak, vs, s.ev.confirming)
	s.accept(&cur, rec.Key, true, proof, end)
	return true, 0, 0
}

// undecodable reports a key whose value (at vs) the reader could not
// decode, and returns where decoding failed.
func (s *scanner) undecodable(rec *rdb.Record, vs int64, err error, first bool) (at int64) {
	var re *rdb.Error
	p := Problem{Kind: KeyLost, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: err.Error(), Err: err}
	if errors.As(err, &re) {
		p.Offset, p.What = re.Offset, re.What
		if re.Err != nil && re.Err != rdb.ErrCorrupt {
			p.What += ": " + re.Err.Error()
		}
	}
	if !first {
		s.problem(p)
		s.lost(rec.DB, rec.Key, rec.Offset, p.What)
	}
	s.fail(p.Offset, err)
	s.fv = failedValue{rdbType: rec.RDBType, vs: vs, at: p.Offset}
	return p.Offset
}

// otherRecord takes a record that is not a key (cur: what is handed on
// of it): what it says of databases and the file, and whether it is copied.
func (s *scanner) otherRecord(rec *rdb.Record, cur *Record, first bool) {
	switch rec.Kind {
	case rdb.KindSelectDB:
		s.selectDB(rec.DB)
		if n := len(s.recDBs); n == 0 || s.recDBs[n-1].db != rec.DB {
			s.recDBs = append(s.recDBs, dbStart{rec.Offset, rec.DB})
		}
	case rdb.KindResizeDB:
		s.resizeDB(rec.DBSize)
		if s.declaredDBs == nil {
			s.declaredDBs = map[int]int64{}
		}
		if _, dup := s.declaredDBs[rec.DB]; dup || first || s.ev.confirming {
			// A second hint for a database, or one read right after
			// damage, may be damaged bytes: no exact count then.
			s.dbUncertain = true
		}
		s.declaredDBs[rec.DB] = int64(min(rec.DBSize, 1<<40))
	case rdb.KindAux:
		s.aux(rec.AuxKey, rec.AuxValue)
	}
	if s.fixOff >= rec.Offset && s.fixOff < rec.Offset+rec.Size {
		// Read as written, but not copied as it is.
		s.problem(Problem{Kind: Damaged, Offset: rec.Offset, End: rec.Offset + rec.Size, DB: -1, What: fmt.Sprintf("this %s record holds the byte the checksum shows changed; not recovered", rec.Kind)})
		return
	}
	if c := s.content; c != nil && c.doubt(rec.Offset, rec.Offset+rec.Size, s.opts.KeepUnverified) != "" {
		return // not copied
	}
	s.accept(cur, nil, false, false, false)
}

func (s *scanner) lost(db int, key []byte, off int64, why string) {
	s.res.LostCount++
	if s.opts.MaxProblems <= 0 || len(s.res.Lost) < s.opts.MaxProblems {
		s.res.Lost = append(s.res.Lost, LostKey{DB: db, Key: append([]byte(nil), key...), Offset: off, Why: why})
	}
	s.dbSum(db).Lost++
}

func (s *scanner) emit(rec *Record, key []byte, isKey bool) {
	s.res.Records++
	if isKey {
		s.res.Keys++
		s.res.KeyBytes += rec.Size
		d := s.dbSum(rec.DB)
		d.Keys++
		d.Bytes += rec.Size
		if rec.ExpireAt != 0 {
			d.Expires++
		}
		rec.Key = key
	}
	if s.opts.Record != nil {
		s.opts.Record(rec)
	}
}

// resync finds the first offset at or after from where records can be
// read again: a plausible record start followed by records that decode
// and validate, up to the end-of-file marker or for several records.
// When the first record read from there confirms nothing about its own
// length, a start found inside it wins: the first was bytes of the damaged
// region that happened to decode. It returns -1 when there is none.
func (s *scanner) resync(from int64) int64 {
	c, weak, end := s.find(from, s.size)
	for c >= 0 && weak {
		c2, weak2, end2 := s.find(c+1, end)
		if c2 < 0 {
			break
		}
		c, weak, end = c2, weak2, end2
	}
	return c
}

// find returns the first start in [from, limit) that try accepts.
func (s *scanner) find(from, limit int64) (c int64, weak bool, end int64) {
	const chunk = 1 << 20
	buf := make([]byte, min(chunk, max(limit-from, 1)))
	for base := from; base < limit; base += int64(len(buf)) {
		// Trials may read 8 bytes beyond their window for each byte
		// scanned (see try), and a first large window is always allowed.
		s.trialBudget = min(s.trialBudget+8*int64(len(buf)), max(s.trialBudget, 64<<20))
		n, err := s.ra.ReadAt(buf, base)
		if n <= 0 && err != nil {
			return -1, false, 0
		}
		if int64(n) > limit-base {
			n = int(limit - base)
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				// A zero run: every start in it but its last two reads as
				// an empty key with an empty string, never a record (as
				// plausible says, but a byte at a time here).
				j := i + 1
				for j < n && buf[j] == 0 {
					j++
				}
				if j-i > 3 {
					i = j - 3
					continue
				}
			}
			if !s.start[buf[i]] || !s.plausible(buf[i:], base+int64(i)) {
				continue
			}
			if ok, weak, end := s.try(base + int64(i)); ok {
				return base + int64(i), weak, end
			}
		}
	}
	return -1, false, 0
}

// try reports whether records can be read from c, and whether the first
// one is a key that does not confirm its own length, ending at end.
func (s *scanner) try(c int64) (ok, weak bool, end int64) {
	for i, window := range []int64{256 << 10, 16 << 20, 0} {
		if i > 0 {
			// A larger window reads up to its size. Bytes of a damaged range
			// often claim lengths of megabytes; trials at every offset
			// reading that much made scanning a range quadratic. Larger
			// windows are paid from a budget that grows with the bytes
			// scanned, so a scan stays linear in the range's size.
			cost := min(window, s.size-c)
			if window == 0 {
				cost = s.size - c
			}
			if s.trialBudget < cost {
				return false, false, 0
			}
			s.trialBudget -= cost
		}
		ok, more, weak, end := s.tryWindow(c, window)
		if ok || !more {
			return ok, weak, end
		}
		if window >= s.size-c {
			return false, false, 0
		}
	}
	return false, false, 0
}

// tryWindow reads records from c within window bytes. more reports that
// the attempt failed only because the window was too small.
func (s *scanner) tryWindow(c int64, window int64) (ok, more, firstWeak bool, firstEnd int64) {
	r := s.readerAt(c, window, s.db)
	limit := s.size - c
	if window > 0 && window < limit {
		limit = window
	}
	var local hashSet
	n := 0
	for n < 8 {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Offset() == s.size, false, firstWeak, firstEnd
		}
		if err != nil {
			return false, windowErr(err, c+limit, s.size), false, 0
		}
		switch rec.Kind {
		case rdb.KindKey:
			if !s.types[rec.RDBType] {
				return false, false, false, 0
			}
			if rec.ExpireAt < 0 || rec.ExpireAt > 1e14 {
				return false, false, false, 0
			}
			s.v.trial = true
			weak, err := s.v.check(r, rec)
			s.v.trial = false
			if err != nil {
				var inc *inconsistency
				if errors.As(err, &inc) {
					return false, false, false, 0
				}
				return false, windowErr(err, c+limit, s.size), false, 0
			}
			if err := r.Skip(); err != nil {
				return false, windowErr(err, c+limit, s.size), false, 0
			}
			if s.v.note != 0 {
				// Redis accepts these, but servers rarely write them: no
				// evidence of a record boundary.
				return false, false, false, 0
			}
			if rec.Type == rdb.TypeString && len(rec.Key) == 0 && rec.Size <= 3 {
				return false, false, false, 0
			}
			h := s.keyHash(rec.DB, rec.Key)
			if _, seen := s.keys.Lookup(h); seen || !local.add(h) {
				return false, false, false, 0
			}
			if n == 0 {
				firstWeak, firstEnd = weak, rec.Offset+rec.Size
			}
		case rdb.KindAux:
			if n == 0 {
				return false, false, false, 0 // aux fields belong at the start
			}
		}
		n++
		if r.Offset()-c >= 4<<20 && n >= 2 {
			return true, false, firstWeak, firstEnd
		}
	}
	return true, false, firstWeak, firstEnd
}

// windowErr reports whether err may only mean that the trial window ended.
func windowErr(err error, windowEnd, size int64) bool {
	if windowEnd >= size {
		return false
	}
	if errors.Is(err, rdb.ErrTruncated) {
		return true
	}
	var re *rdb.Error
	return errors.As(err, &re) && strings.Contains(re.What, "exceeds")
}

func hashSeed() maphash.Seed { return maphash.MakeSeed() }
