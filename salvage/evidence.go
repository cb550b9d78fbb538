package salvage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/rdbtool/rdbtool/rdb"
)

// Evidence rules. A record is written only when the scan can show that
// its bytes are the ones the server wrote, which takes two things:
//
//   - its start is a true record boundary, not a place inside a damaged
//     value whose remaining bytes happen to read as records (the fields of
//     a hash with field TTLs read exactly like string keys, module values
//     like short records of any type);
//   - the damage does not reach into it: damage that begins inside a value
//     whose content nothing checks (a raw string, a plain list node) and
//     runs on past its end is noticed only later, where the records stop
//     decoding.
//
// A start is proven by a record whose own bytes could not plausibly be
// anything else ("start proof"): a compact encoding (listpack, ziplist,
// intset, zipmap, quicklist ending in a listpack or ziplist) whose header,
// lengths and terminator agree; an expiry opcode with a millisecond
// timestamp in the years around the file's creation time; a string stored
// LZF-compressed that decompresses to exactly its declared length; the
// end-of-file marker exactly 9 bytes before the end. Within an unbroken
// chain of records, a start proof also proves every record before it:
// damage running on from an earlier record would have garbled it.
//
// So after a damaged range, records are held until the first record with
// a start proof (an "anchor") and the ones before it are not recovered;
// and before a damaged range, the records since the last start proof are
// not recovered (at most runMax of them: damage reaching further back
// would have to read as that many records in a row). A compact encoding
// also proves its own end ("end proof"), its terminator being the last
// thing damage running past it would garble.
//
// Database: a damaged range may have held a database selection. Keys after
// it are written only when the database is proven: by the next selection
// being to the very next database (databases are written in increasing
// order), or by the count the file declares for the database (RESIZEDB)
// exceeding every key that can precede the end of the damaged range (those
// read, and one per 3 damaged bytes that could hide records), so that the
// database must go on after it. When the range is the rest of one large
// value, its elements locate the damage in it (walk.go), and only the
// bytes around that count. Otherwise they are reported lost ("database
// unknown").

// runMax bounds how many records before a damaged range, since the last
// start proof, are held back.
const runMax = 8

// minKeyRecord is the smallest key record: type, empty key, empty string.
const minKeyRecord = 3

type item struct {
	rec   Record
	key   []byte
	isKey bool
	epoch int // database uncertainty period the record was read in; 0: none
}

type period struct {
	resolved bool
	ok       bool // the records read in it belong to db
	db       int
}

type evidence struct {
	// Records since the last start proof (a ring of up to runMax).
	run      []item
	runStart int
	runLen   int

	// After a damaged range: records held until an anchor.
	confirming bool
	held       []item

	// Database certainty.
	certainDB  int   // the last database proven selected
	segKeys    int64 // key records read since that selection (fakes included: an upper bound)
	segDamaged int64 // upper bound on keys inside damaged ranges since that selection
	declared   int64 // the key count RESIZEDB declares for certainDB; -1 unknown
	epoch      int   // current uncertainty period; 0 when the database is certain
	periods    map[int]*period
	dbHeld     heldRecords // committed records waiting for their database
	ctimeMs    int64       // the file's creation time (aux "ctime"), 0 unknown
	// Where records resume at the end of a damaged value whose header is
	// known intact (hintAt): if the record there proves its start, the
	// damage lay inside that value.
	zeroed        bool // zeroed bytes were the damage seen since certainDB was selected
	hintAt        int64
	hintPeriod    int
	unproven      int64 // keys not recovered for lack of a start proof
	unprovenBytes int64
}

func (e *evidence) init() {
	e.hintAt = -1
	e.run = make([]item, runMax)
	e.declared = -1
	e.periods = map[int]*period{}
}

// plausibleExpiry: a millisecond timestamp in the years around the file's
// creation (or 2001-2100 when it is unknown).
func (s *scanner) plausibleExpiry(ms int64) bool {
	if c := s.ev.ctimeMs; c > 0 {
		const year = 366 * 24 * 3600 * 1000
		return ms > c-5*year && ms < c+100*year
	}
	return ms > 978307200000 && ms < 4102444800000
}

// startProof reports whether the key record rec (value starting at vs,
// already validated; weak when its value confirms nothing about its
// extent) proves its own start. careful adds the checks that cost reads:
// they are made for records after a damaged range only.
func (s *scanner) startProof(rec *rdb.Record, weak bool, vs int64, careful bool) bool {
	if len(rec.KeyMeta) > 0 || len(rec.Key) == 0 {
		return false // module key metadata is an opcode stream that checks nothing
	}
	proof := !weak
	if !proof && rec.ExpireAt != 0 && s.version >= 3 && s.plausibleExpiry(rec.ExpireAt) {
		if rec.ExpireAt%1000 != 0 {
			proof = true // only the millisecond opcode stores that
		} else if careful {
			proof = s.byteAt(rec.Offset) == rdb.OpcodeExpireTimeMS
		}
	}
	if !proof && careful && rec.Type == rdb.TypeString && rec.RDBType == 0 {
		// LZF that decompressed to exactly its length.
		proof = s.byteAt(vs) == 0xC0|rdb.StringEncLZF
	}
	if proof && careful && s.nestedStart(rec.Offset, vs) {
		// A record also starts inside this one's header: this one may be
		// damaged bytes that swallowed the real record's header.
		proof = false
	}
	return proof
}

// byteAt returns the byte at off (0 when it cannot be read).
func (s *scanner) byteAt(off int64) byte {
	var b [1]byte
	if _, err := s.ra.ReadAt(b[:], off); err != nil {
		return 0
	}
	return b[0]
}

// completeStart reports whether the record at off begins with everything
// that can precede a key: an expiry opcode comes first, so nothing that
// belonged to the record can be lost before it. Any other first anchor
// after damage may be the tail of a record whose expiry or LRU/LFU opcode
// was in the damaged bytes.
func (s *scanner) completeStart(off int64) bool {
	b := s.byteAt(off)
	return b == rdb.OpcodeExpireTimeMS || b == rdb.OpcodeExpireTime
}

// nestedStart reports whether records can be read from a start inside
// [a+1, vs): the header of the record at a.
func (s *scanner) nestedStart(a, vs int64) bool {
	if vs-a > 64<<10 {
		return true
	}
	buf := make([]byte, vs-a+64)
	n, _ := s.ra.ReadAt(buf, a)
	buf = buf[:n]
	for c := int64(1); c < vs-a && int(c) < len(buf); c++ {
		if !s.start[buf[c]] || !s.plausible(buf[c:], a+c) {
			continue
		}
		if ok, _, _ := s.try(a + c); ok {
			return true
		}
	}
	return false
}

// accept takes a record that decoded and validated in the chain being
// read. proof: it proves its start; end: it proves its end.
func (s *scanner) accept(rec *Record, key []byte, isKey, proof, end bool) {
	e := &s.ev
	if e.hintAt >= 0 {
		s.hintDecided(rec.Offset == e.hintAt && proof)
	}
	if e.confirming {
		if !proof {
			e.held = append(e.held, item{rec: *rec, key: append([]byte(nil), key...), isKey: isKey, epoch: e.epoch})
			return
		}
		s.dropHeld()
		if isKey && !s.completeStart(rec.Offset) {
			// It proves where records start after it, not that nothing of
			// its own (an expiry, LRU/LFU data) was lost before it.
			why := "first intact record after a damaged range, but an expiry or LRU/LFU opcode of its own may have been in the damaged bytes"
			s.lost(rec.DB, key, rec.Offset, why)
			s.problem(Problem{Kind: KeySuspect, Offset: rec.Offset, End: rec.Offset + rec.Size, DB: rec.DB, Key: key, What: "decoded, but it is the " + why})
			return
		}
	}
	if proof {
		s.commitRun()
		if end {
			s.commit(item{rec: *rec, key: key, isKey: isKey, epoch: e.epoch})
			return
		}
	}
	if e.runLen == runMax {
		it := e.run[e.runStart]
		e.runStart = (e.runStart + 1) % runMax
		e.runLen--
		s.commit(it) // its slot, next in the ring, is reused below
	}
	slot := &e.run[(e.runStart+e.runLen)%runMax]
	k := slot.key[:0]
	*slot = item{rec: *rec, key: append(k, key...), isKey: isKey, epoch: e.epoch}
	e.runLen++
}

// hintDecided: the first record after a damaged value whose lengths said
// where it ends proves (ok) or does not prove its start there.
func (s *scanner) hintDecided(ok bool) {
	e := &s.ev
	e.hintAt = -1
	if ok && e.epoch != 0 && e.epoch == e.hintPeriod {
		// The damaged value's header is as written and its own lengths led
		// to a proven record start: the damage lay inside that value, and
		// no database selection was lost.
		s.resolve(true, e.certainDB)
	}
}

// commitRunBefore commits the records of the run that end by limit.
func (s *scanner) commitRunBefore(limit int64) {
	e := &s.ev
	for e.runLen > 0 {
		it := e.run[e.runStart]
		if it.rec.Offset+it.rec.Size > limit {
			return
		}
		e.runStart = (e.runStart + 1) % runMax
		e.runLen--
		s.commit(it)
	}
}

// commitRun: every record since the last start proof is intact.
func (s *scanner) commitRun() {
	e := &s.ev
	for e.runLen > 0 {
		it := e.run[e.runStart]
		e.runStart = (e.runStart + 1) % runMax
		e.runLen--
		s.commit(it)
	}
	e.runStart = 0
}

// dropRun: damage follows the records since the last start proof; it may
// have begun inside any of them.
func (s *scanner) dropRun() (first int64) {
	e := &s.ev
	first = -1
	if e.runLen > 0 {
		first = e.run[e.runStart].rec.Offset
	}
	for e.runLen > 0 {
		it := e.run[e.runStart]
		e.runStart = (e.runStart + 1) % runMax
		e.runLen--
		s.dropItem(it)
	}
	e.runStart = 0
	return first
}

func (s *scanner) dropItem(it item) {
	if it.isKey {
		p := &it.rec
		why := "it precedes damage and nothing after it, before the damage, proves the damage did not begin inside it"
		s.lost(p.DB, it.key, p.Offset, why)
		s.problem(Problem{Kind: KeySuspect, Offset: p.Offset, End: p.Offset + p.Size, DB: p.DB, Key: it.key, What: "decoded, but " + why})
	}
}

// fail notes where a failure was noticed and whether it was the input
// ending inside a record.
func (s *scanner) fail(pos int64, err error) {
	s.failPos = pos
	var re *rdb.Error
	s.failTrunc = err != nil && (errors.Is(err, rdb.ErrTruncated) || (errors.As(err, &re) && strings.Contains(re.What, "bytes left in the input")))
}

// zeroRunStart looks for zeroed bytes between the start of the failing
// record (from) and where the failure was noticed (pos): it returns where
// the first run of at least 64 zero bytes there starts, or -1.
func (s *scanner) zeroRunStart(from, pos int64) int64 {
	if pos < 0 || from < 0 || pos < from {
		return -1
	}
	lo := max(from-4096, 9)
	hi := min(pos+64, from+1<<20, s.size)
	if hi <= lo {
		return -1
	}
	buf := make([]byte, hi-lo)
	n, _ := s.ra.ReadAt(buf, lo)
	buf = buf[:n]
	run := 0
	for i := int(from - lo); i < len(buf); i++ {
		if buf[i] != 0 {
			run = 0
			continue
		}
		if run++; run == 64 {
			j := i - 63
			for j > 0 && buf[j-1] == 0 {
				j--
			}
			if j == 0 {
				return -1 // longer than looked at: no telling where it starts
			}
			return lo + int64(j)
		}
	}
	return -1
}

// dropHeld discards the records read after a resync before any anchor.
func (s *scanner) dropHeld() {
	e := &s.ev
	held := e.held
	e.held = nil
	e.confirming = false
	if len(held) == 0 {
		return
	}
	n := 0
	for _, h := range held {
		if h.isKey {
			n++
			s.lost(h.rec.DB, h.key, h.rec.Offset, "read after a damaged range before any record that proves where records start; it may be bytes of a damaged value")
		}
	}
	first, last := held[0].rec, held[len(held)-1].rec
	e.unproven += int64(n)
	e.unprovenBytes += last.Offset + last.Size - first.Offset
	s.problem(Problem{Kind: KeySuspect, Offset: first.Offset, End: last.Offset + last.Size, DB: first.DB, What: fmt.Sprintf("%d keys read after a damaged range are not recovered: no record before them proves where records start again, and the bytes of a damaged value can read as records", n)})
}

// commit passes an intact record on, or holds it while its database is
// not known.
func (s *scanner) commit(it item) {
	if it.isKey && it.epoch != 0 {
		p := s.ev.periods[it.epoch]
		switch {
		case !p.resolved:
			s.ev.dbHeld.add(it)
			return
		case !p.ok:
			s.dbLost(&it)
			return
		}
		it.rec.DB = p.db
	}
	s.out = it.rec
	s.out.DBUncertain = false
	s.emit(&s.out, it.key, it.isKey)
}

func (s *scanner) dbLost(it *item) {
	s.lost(it.rec.DB, it.key, it.rec.Offset, "its database is not known: the damaged range before it may have selected another")
	s.problem(Problem{Kind: DBUncertain, Offset: it.rec.Offset, End: it.rec.Offset + it.rec.Size, DB: -1, Key: it.key, What: "intact, but a damaged range before it may have held a database selection, and neither the next selection nor the database's declared key count proves which database it belongs to; not recovered"})
}

// resolve ends the current database uncertainty period.
func (s *scanner) resolve(ok bool, db int) {
	e := &s.ev
	if e.epoch == 0 {
		return
	}
	p := e.periods[e.epoch]
	p.resolved, p.ok, p.db = true, ok, db
	e.epoch = 0
	if !ok {
		s.dbUncertain = true // for the count of keys lost without a trace
	}
	e.dbHeld.each(s.commit)
}

// heldRecords keeps records waiting for their database, after a long
// damaged range possibly every key of the rest of the file (2.5 million
// on a 900 MB file): in fixed chunks of records without pointers, their
// keys copied into shared buffers, so that holding them costs neither
// copying as they grow nor the garbage collector's time.
type heldRecords struct {
	chunks [][]heldItem
	keys   [][]byte // key buffers; the last one is being filled
}

// heldItem is an item, its key in heldRecords.keys.
type heldItem struct {
	offset, size, expireAt int64
	db, epoch              int
	keyBuf, keyOff, keyLen uint32
	kind                   rdb.RecordKind
	typ                    rdb.Type
	rdbType                byte
	isKey                  bool
}

func (h *heldRecords) add(it item) {
	if n := len(h.chunks); n == 0 || len(h.chunks[n-1]) == cap(h.chunks[n-1]) {
		h.chunks = append(h.chunks, make([]heldItem, 0, 4096))
	}
	n := len(h.keys)
	if n == 0 || len(it.key) > cap(h.keys[n-1])-len(h.keys[n-1]) {
		h.keys = append(h.keys, make([]byte, 0, max(1<<20, len(it.key))))
		n++
	}
	buf := &h.keys[n-1]
	off := len(*buf)
	*buf = append(*buf, it.key...)
	r := &it.rec
	last := &h.chunks[len(h.chunks)-1]
	*last = append(*last, heldItem{offset: r.Offset, size: r.Size, expireAt: r.ExpireAt, db: r.DB, epoch: it.epoch,
		keyBuf: uint32(n - 1), keyOff: uint32(off), keyLen: uint32(len(it.key)),
		kind: r.Kind, typ: r.Type, rdbType: r.RDBType, isKey: it.isKey})
}

// each calls f with the records held, oldest first, and empties h first
// (f may hold records again).
func (h *heldRecords) each(f func(item)) {
	held := *h
	*h = heldRecords{}
	for _, chunk := range held.chunks {
		for i := range chunk {
			c := &chunk[i]
			f(item{
				rec:   Record{Kind: c.kind, Offset: c.offset, Size: c.size, DB: c.db, Type: c.typ, RDBType: c.rdbType, ExpireAt: c.expireAt},
				key:   held.keys[c.keyBuf][c.keyOff : c.keyOff+c.keyLen : c.keyOff+c.keyLen],
				isKey: c.isKey,
				epoch: c.epoch,
			})
		}
	}
}

// damage records that [start, next) could not be read; it updates what is
// known of the database of the records after it.
func (s *scanner) damage(start, next, unknown int64, viaHint bool) {
	e := &s.ev
	e.segDamaged += (unknown + minKeyRecord - 1) / minKeyRecord
	fresh := false
	if e.declared >= 0 && e.declared > e.segKeys+e.segDamaged {
		// The database declares more keys than can precede next: it goes
		// on after the damage, so no selection was lost in it.
		if e.epoch != 0 {
			s.resolve(true, e.certainDB)
		}
		s.db = e.certainDB
	} else if e.epoch == 0 {
		n := len(e.periods) + 1
		e.periods[n] = &period{}
		e.epoch, fresh = n, true
	}
	if viaHint {
		e.hintAt, e.hintPeriod = next, -1
		if fresh {
			e.hintPeriod = e.epoch
		}
	}
}

// zeroedOnly: the damage is zeroed bytes starting at zs, inside
// [start, next). Everything else there is as written, and a database
// selection in it would show as its opcode followed, within a few bytes,
// by the size hint opcode (RDB 7 and later). It returns how many bytes
// could hide one (the zero run), or -1 when that cannot be shown.
func (s *scanner) zeroedOnly(start, zs, next int64) int64 {
	if s.version < 7 {
		return -1
	}
	w := &walkWindow{ra: s.ra}
	if s.selectionIn(w, start, next, next) {
		return -1
	}
	if zs < 0 {
		return 0
	}
	ze := zs
scan:
	for ze < next {
		p := w.bytes(ze, int(min(1<<20, next-ze)))
		if p == nil {
			break
		}
		for i, b := range p {
			if b != 0 {
				ze += int64(i)
				break scan
			}
		}
		ze += int64(len(p))
	}
	// A selection could also straddle the edges of the zeros.
	return ze - zs + 24
}

// startsChain reports whether records can be read from off.
func (s *scanner) startsChain(off int64) bool {
	ok, _, _ := s.try(off)
	return ok
}

// selectAt reports whether p starts like a database selection followed by
// its size hint: FE, a database number, FB, a key count of at least one
// and an expiry count no larger. It returns the database and the length,
// n = 0 when it does not, and n < 0 when p is cut short before telling.
func (s *scanner) selectAt(p []byte) (db uint64, n int) {
	i := 1
	// length reads a length; servers write neither the special form nor
	// 8-byte numbers here.
	length := func() (v uint64, ok, short bool) {
		if i >= len(p) {
			return 0, true, true
		}
		v, special, size := rdb.DecodeLength(p[i:])
		switch {
		case size == 0:
			return 0, true, true
		case size < 0 || special || size == 9:
			return 0, false, false
		}
		i += size
		return v, true, false
	}
	db, ok, short := length()
	switch {
	case !ok:
		return 0, 0
	case short || i >= len(p):
		return db, -1
	case p[i] != rdb.OpcodeResizeDB:
		return 0, 0
	}
	i++
	kn, ok, short := length()
	switch {
	case !ok:
		return 0, 0
	case short:
		return db, -1
	}
	e, ok, short := length()
	switch {
	case !ok:
		return 0, 0
	case short || i >= len(p):
		return db, -1
	case kn >= 1 && e <= kn:
		return db, i
	}
	return 0, 0
}

// selectDB notes a database selection read in the chain.
func (s *scanner) selectDB(db int) {
	e := &s.ev
	s.db = db
	if e.confirming {
		// Not proven: the database is unknown until something proves it.
		if e.epoch == 0 {
			n := len(e.periods) + 1
			e.periods[n] = &period{}
			e.epoch = n
		}
		return
	}
	if e.epoch != 0 {
		// Databases are written in increasing order: a selection of the
		// very next database proves the records since the damage belong to
		// the one before.
		s.resolve(db == e.certainDB+1, e.certainDB)
	}
	e.certainDB, e.segKeys, e.segDamaged, e.declared, e.zeroed = db, 0, 0, -1, false
}

// resizeDB notes the declared key count of the selected database.
func (s *scanner) resizeDB(n uint64) {
	e := &s.ev
	if e.confirming || e.epoch != 0 || s.db != e.certainDB || e.segKeys > 0 {
		return
	}
	e.declared = int64(min(n, 1<<62))
}

// aux notes aux fields that later rules use.
func (s *scanner) aux(k, v []byte) {
	if string(k) == "ctime" && !s.ev.confirming {
		if n, err := strconv.ParseInt(string(v), 10, 64); err == nil && n > 0 && n < 1<<40 {
			s.ev.ctimeMs = n * 1000
		}
	}
}

// endOfFile: the end-of-file marker was read where it belongs.
func (s *scanner) endOfFile() {
	e := &s.ev
	if e.hintAt >= 0 {
		s.hintDecided(false)
	}
	s.dropHeld()
	s.commitRun()
	if e.epoch != 0 {
		s.resolve(false, 0)
	}
}

// endDamaged: the file ends in damage.
func (s *scanner) endDamaged() {
	if s.ev.hintAt >= 0 {
		s.hintDecided(false)
	}
	s.dropHeld()
	s.dropRun()
	if s.ev.epoch != 0 {
		s.resolve(false, 0)
	}
}
