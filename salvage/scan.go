package salvage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sort"

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
	// deferring: Problem and Note callbacks are held in deferred until a
	// second problem (see scanDeferringContent); deferOverflow: too many.
	deferring     bool
	deferred      []deferredCall
	deferOverflow bool
	trialBudget   int64     // bytes trials may still read in windows beyond the first (see try)
	recDBs        []dbStart // where each database selection took effect, for late repeats
}

type deferredCall struct {
	p      Problem
	isNote bool
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
	ci, err := trailerChecksum(r, size, opts)
	if err != nil {
		return &Result{Name: opts.Name, Size: size}, err
	}
	var content *contentChange
	if ci != nil && unexplained(*ci) {
		if opts.Record == nil {
			if res, ok, err := scanDeferringContent(r, size, opts, ci); ok {
				return res, err
			}
		}
		content = explainContent(r, size, opts, ci)
	}
	s := newScanner(r, size, opts)
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
	ci, err := trailerChecksum(r, size, opts)
	if err != nil || ci == nil || !unexplained(*ci) {
		return ci, nil, err
	}
	return ci, explainContent(r, size, opts, ci), nil
}

// trailerChecksum checksums the file: nil when checksums are skipped, an
// empty checksumInfo when the version has none.
func trailerChecksum(r io.ReaderAt, size int64, opts Options) (*checksumInfo, error) {
	if opts.SkipChecksum {
		return nil, nil
	}
	if !mayHaveChecksum(r, opts) {
		return &checksumInfo{}, nil
	}
	ci, err := readChecksum(r, size)
	if err != nil {
		return nil, err
	}
	return &ci, nil
}

// explainContent: the checksum mismatches and nothing explains it yet.
// When a pass over the records finds no problem, the change is inside
// some value's content: it tries to prove where.
func explainContent(r io.ReaderAt, size int64, opts Options, ci *checksumInfo) *contentChange {
	// A structural pass first: what it finds the full checks find too,
	// and most damage shows there (a damaged range of megabytes inside a
	// large collection costs a fraction of the full checks to reach).
	if shows, err := damageShows(r, size, opts, ci, true); shows || err != nil {
		return nil
	}
	if !opts.Quick {
		if shows, err := damageShows(r, size, opts, ci, false); shows || err != nil {
			return nil
		}
	}
	return locateContent(r, size, *ci)
}

// scanDeferringContent scans a file whose checksum mismatches with nothing
// to explain it yet, on the likely guess that its records show the damage:
// one pass instead of a first one up to the damage (explainContent) and
// then the scan. The Problem and Note callbacks are held until a problem
// besides the checksum shows the guess right. ok is false when none did
// (the change is inside some value's content, or too much was held): the
// scan is then to be made knowing that, and nothing was passed on.
func scanDeferringContent(r io.ReaderAt, size int64, opts Options, ci *checksumInfo) (res *Result, ok bool, err error) {
	s := newScanner(r, size, opts)
	defer s.keys.Close()
	s.ci = ci
	s.deferring = true
	err = s.run()
	if s.deferring && (err == nil || s.deferOverflow) {
		return nil, false, nil
	}
	s.flushDeferred()
	if err == nil {
		err = s.lateDuplicates()
	}
	s.finish()
	return s.res, true, err
}

// maxDeferred bounds the callbacks scanDeferringContent holds.
const maxDeferred = 1 << 14

// deferCall holds a Problem or Note callback while deferring.
func (s *scanner) deferCall(p Problem, isNote bool) {
	s.deferred = append(s.deferred, deferredCall{p, isNote})
	if len(s.deferred) > maxDeferred {
		s.deferOverflow, s.stopped = true, true
	}
}

// flushDeferred passes the held callbacks on and stops deferring.
func (s *scanner) flushDeferred() {
	s.deferring = false
	for _, c := range s.deferred {
		switch {
		case c.isNote && s.opts.Note != nil:
			s.opts.Note(c.p)
		case !c.isNote && s.opts.Problem != nil:
			s.opts.Problem(c.p)
		}
	}
	s.deferred = nil
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
	if s.deferring {
		if s.res.ProblemCount < 2 {
			s.deferCall(p, false)
			return
		}
		s.flushDeferred()
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
	if s.deferring {
		s.deferCall(p, true)
		return
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

func hashSeed() maphash.Seed { return maphash.MakeSeed() }
