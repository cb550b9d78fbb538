package rdb

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strconv"
)

// Dialect tells which server family wrote a file: the magic at its start.
type Dialect uint8

const (
	DialectRedis  Dialect = iota + 1 // "REDIS" + 4-digit version
	DialectValkey                    // "VALKEY" + 3-digit version (80 and up)
)

func (d Dialect) String() string {
	switch d {
	case DialectRedis:
		return "redis"
	case DialectValkey:
		return "valkey"
	}
	return "unknown"
}

// Newest versions this package was written against. Newer files are refused
// unless AllowNewerVersions is given.
const (
	MaxRedisVersion  = 13
	MaxValkeyVersion = 80
)

// Option configures a Reader.
type Option func(*options)

type options struct {
	name         string
	skipChecksum bool
	allowNewer   bool
	bufferSize   int
	size         int64
	resume       *resumePoint
	readerAt     io.ReaderAt
}

// WithName sets the input name used in error messages (usually a path).
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithoutChecksum skips computing and verifying the CRC-64 trailer.
func WithoutChecksum() Option { return func(o *options) { o.skipChecksum = true } }

// AllowNewerVersions makes the Reader try files whose RDB version is newer
// than this package knows, instead of refusing them. Unknown record types
// in such files still fail with a clear error.
func AllowNewerVersions() Option { return func(o *options) { o.allowNewer = true } }

// WithBufferSize sets the size of the read buffer (default 256 KiB). Values
// longer than the buffer are still read, into memory of their own.
func WithBufferSize(n int) Option { return func(o *options) { o.bufferSize = n } }

// WithSize tells the Reader how many bytes the input holds, so that lengths
// that cannot fit are rejected early. Files, bytes.Reader and similar
// sources are measured automatically.
func WithSize(n int64) Option { return func(o *options) { o.size = n } }

// WithReaderAt gives the Reader random access to its input: ra.ReadAt at
// offset o must return the bytes the Reader reads at offset o (the
// file's own offsets when the Reader reads a file from its start, or
// from the offset given to Resume). ReadParallel and ReopenAt use it.
// ReadParallel's workers then read their batches' records from ra
// themselves, on their own cores, instead of from copies the framing
// goroutine makes, which on a machine of several cores costs less CPU in
// all (the copy and the decoding no longer meet in different cores'
// caches). The framing goroutine still reads and checksums every byte;
// the input must not change during the read: when ra has a Stat method
// (an *os.File), a change of its size or modification time by the end of
// the read, or bytes missing where the framing pass found them, fail the
// read with ErrChanged.
func WithReaderAt(ra io.ReaderAt) Option { return func(o *options) { o.readerAt = ra } }

// Resume makes the Reader start in the middle of a file's body instead of
// at its header: the input begins at byte offset off of a file of the given
// dialect and version, with database db selected. Offsets in records and
// errors are those of the whole file. The checksum cannot be verified from
// the middle of a file and is not computed. Damage-recovery tools use this
// to carry on after a bad region.
func Resume(dialect Dialect, version int, db int, off int64) Option {
	return func(o *options) { o.resume = &resumePoint{dialect, version, db, off} }
}

type resumePoint struct {
	dialect Dialect
	version int
	db      int
	off     int64
}

// Record is one entry of an RDB file. The Reader reuses one Record and its
// byte slices: they are valid until the next call to Next.
type Record struct {
	Kind   RecordKind
	Offset int64 // offset of the record's first byte (for keys: of the first opcode before the key)
	// Size is the record's length in bytes. For a key it is set once its
	// value has been read to the end, skipped, or passed over by Next.
	Size int64

	// KindKey, KindSelectDB, KindResizeDB, KindSlotInfo.
	DB int

	// KindKey.
	Key      []byte
	Type     Type
	RDBType  byte   // the type byte as stored in the file
	Encoding string // what OBJECT ENCODING reports for the value once a server has loaded it
	ExpireAt int64  // absolute expiry in Unix milliseconds; 0 when the key has none
	Idle     int64  // LRU idle time in seconds, -1 when the file has none
	Freq     int    // LFU logarithmic access counter, -1 when the file has none
	KeyMeta  []KeyMeta
	// MVCCTimestamp is KeyDB's per-key "mvcc-tstamp" (written by active
	// replicas as an aux field before the key's type byte); 0 when none.
	MVCCTimestamp uint64

	// KindAux.
	AuxKey, AuxValue []byte

	// KindResizeDB.
	DBSize, ExpiresSize uint64

	// KindFunction: the library source (Redis 7.0+). For the 7.0 release
	// candidate format FunctionName and FunctionEngine are set too.
	Function       []byte
	FunctionName   []byte
	FunctionEngine []byte

	// KindModuleAux.
	Module ModuleInfo
	When   uint64 // when the module asked for its aux data: 1 before keys, 2 after
	// ModuleAux is the record as stored after its opcode (module id,
	// when, the module's opcode stream), for Writer.WriteModuleAux.
	ModuleAux []byte

	// KindSlotImport: the import job's name and the slot ranges being
	// imported (inclusive).
	SlotImportJob []byte
	SlotRanges    [][2]int

	// KindSlotInfo.
	Slot                  int
	SlotKeys, SlotExpires uint64
}

// KeyMeta is one piece of module key metadata (Redis 8.6, opcode 243).
type KeyMeta struct {
	Class uint32 // the class spec: 4-character name, version and flags
	Raw   []byte // the class's module opcode stream, up to and including its EOF
}

// Reader reads an RDB file record by record. Values are streamed: after Next
// returns a key, its value can be read with ReadString, NextElement (or
// Elements), NextStreamEntry and Stream, Module, or RawValue; whatever the
// caller does not read is skipped by the next call to Next without being
// decompressed or decoded.
type Reader struct {
	in   *input
	opts options

	headerDone bool
	dialect    Dialect
	version    int
	redisVer   string // redis-ver aux field, when seen
	valkeyVer  string // valkey-ver aux field, when seen (Valkey also writes a redis-ver)
	keydb      bool   // KeyDB's own aux fields were seen
	db         int
	ended      bool
	endErr     error
	checksum   uint64
	checksumOK int // 0 unknown, 1 verified, 2 disabled in file, 3 skipped by option, 4 none (RDB < 5)

	rec            Record
	inKey          bool // the current record is a key whose value may be unread
	payload        bool // reading a DUMP payload: one value, no key, no trailer
	payloadStarted bool
	keyBuf         []byte
	auxKeyBuf      []byte
	auxValBuf      []byte
	metaBuf        []KeyMeta

	val valueState

	look    *input // ReadParallel's look-ahead over the buffered bytes
	framing bool   // ReadParallel's framing pass: see startKey
}

// NewReader returns a Reader that reads an RDB file from r. Nothing is read
// until the first call to Next.
func NewReader(r io.Reader, opts ...Option) *Reader {
	rd := &Reader{}
	rd.opts.size = -1
	for _, o := range opts {
		o(&rd.opts)
	}
	bs := rd.opts.bufferSize
	if bs == 0 {
		bs = defaultBufferSize
	}
	rd.in = newInput(r, bs, rd.opts.size)
	rd.in.crcOn = !rd.opts.skipChecksum
	if p := rd.opts.resume; p != nil {
		rd.headerDone = true
		rd.dialect, rd.version, rd.db = p.dialect, p.version, p.db
		rd.in.crcOn = false
		rd.opts.skipChecksum = true
		rd.in.base = p.off
		if rd.in.size >= 0 {
			rd.in.size += p.off
		}
	}
	return rd
}

// CanReopen reports whether ReopenAt can go back to r's records: whether
// r was given a ReaderAt (WithReaderAt).
func (r *Reader) CanReopen() bool { return r.opts.readerAt != nil }

// ReopenAt returns a new Reader of r's file that starts at the record at
// offset off, the Offset of a record r returned, with database db (the
// record's DB) selected. It reads through the ReaderAt given with
// WithReaderAt and leaves r as it is: a caller that has read the file
// can go back to the few records it chose, as analyze does for the
// largest element of the lists in its top lists. r must have read the
// file's header. The new Reader starts mid-file, so it computes no
// checksum: a caller that needs the bytes to be those r read checks the
// record it gets (its key, its type) against the one r returned, and
// reports a mismatch as ErrChanged.
func (r *Reader) ReopenAt(off int64, db int) (*Reader, error) {
	if r.opts.readerAt == nil {
		return nil, errors.New("rdb: ReopenAt needs a Reader made WithReaderAt")
	}
	if !r.headerDone {
		return nil, errors.New("rdb: ReopenAt before the file's header was read")
	}
	if off < 0 || r.in.size >= 0 && off > r.in.size {
		return nil, &Error{Name: r.opts.name, Offset: off, What: "ReopenAt: the offset is outside the file", Err: io.ErrUnexpectedEOF}
	}
	n, size := int64(math.MaxInt64)-off, int64(-1)
	if r.in.size >= 0 {
		n = max(r.in.size-off, 0)
		size = n
	}
	o := r.opts
	o.size, o.resume = size, &resumePoint{r.dialect, r.version, db, off}
	rd := NewReader(io.NewSectionReader(r.opts.readerAt, off, n), func(dst *options) { *dst = o })
	// What the file's aux fields told r decides how some values read.
	rd.redisVer, rd.valkeyVer, rd.keydb = r.redisVer, r.valkeyVer, r.keydb
	return rd, nil
}

// Version returns the RDB format version, after the first call to Next.
func (r *Reader) Version() int { return r.version }

// Dialect returns which server family's magic the file starts with, after the
// first call to Next.
func (r *Reader) Dialect() Dialect { return r.dialect }

// KeyDB reports whether the records read so far show that KeyDB wrote the
// file: its per-key "mvcc-tstamp", subkey expiry or multi-master aux
// fields. KeyDB files start with the Redis magic and are otherwise Redis
// RDB 9, so without those nothing tells them apart.
func (r *Reader) KeyDB() bool { return r.keydb }

// keydbTimestamp reads an aux field at the current offset (after its
// opcode) when it is KeyDB's "mvcc-tstamp"; otherwise it reads nothing and
// ok is false.
func (r *Reader) keydbTimestamp() (ts uint64, ok bool, err error) {
	const name = "mvcc-tstamp"
	if b := r.in.peek(1 + len(name)); len(b) < 1+len(name) || b[0] != byte(len(name)) || string(b[1:]) != name {
		return 0, false, nil
	}
	if r.auxKeyBuf, err = r.readStringAppend(r.auxKeyBuf[:0], "an aux field name"); err != nil {
		return 0, false, err
	}
	if r.auxValBuf, err = r.readStringAppend(r.auxValBuf[:0], "the mvcc-tstamp aux field"); err != nil {
		return 0, false, err
	}
	ts, perr := strconv.ParseUint(string(r.auxValBuf), 10, 64)
	if perr != nil {
		return 0, false, r.errorf(ErrCorrupt, "KeyDB mvcc-tstamp %q is not a number", r.auxValBuf)
	}
	r.keydb = true
	return ts, true, nil
}

// ChecksumStatus describes what became of the CRC-64 trailer at the end of the file.
type ChecksumStatus int

const (
	ChecksumUnknown  ChecksumStatus = iota // the end has not been reached
	ChecksumVerified                       // present and correct
	ChecksumDisabled                       // the server wrote zeros (rdbchecksum no)
	ChecksumSkipped                        // not verified: WithoutChecksum
	ChecksumAbsent                         // RDB versions before 5 have none
)

func (c ChecksumStatus) String() string {
	return [...]string{"unknown", "verified", "disabled", "skipped", "absent"}[c]
}

// Checksum returns the trailer's status and value once Next has returned io.EOF.
func (r *Reader) Checksum() (ChecksumStatus, uint64) {
	return ChecksumStatus(r.checksumOK), r.checksum
}

// Offset returns the input offset of the next unread byte.
func (r *Reader) Offset() int64 { return r.in.offset() }

// readHeader reads the magic and version.
func (r *Reader) readHeader() error {
	r.headerDone = true
	if err := r.in.fill(9); err != nil && err != io.ErrUnexpectedEOF {
		return r.errorAt(0, err, "reading the RDB header")
	}
	b := r.in.peek(9)
	if len(b) < 9 {
		return r.errorAt(0, ErrTruncated, "file is %d bytes, too short for an RDB header", len(b))
	}
	digits := func(p []byte) (int, bool) {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	switch {
	case string(b[:5]) == "REDIS":
		v, ok := digits(b[5:9])
		if !ok {
			return r.errorAt(5, ErrCorrupt, "RDB version %q is not four digits", b[5:9])
		}
		r.dialect, r.version = DialectRedis, v
		if v < 1 || (v > MaxRedisVersion && !r.opts.allowNewer) {
			return r.errorAt(5, ErrUnsupportedVersion, "RDB version %d (this reader knows 1 to %d; AllowNewerVersions / --allow-newer tries anyway)", v, MaxRedisVersion)
		}
	case string(b[:6]) == "VALKEY":
		v, ok := digits(b[6:9])
		if !ok {
			return r.errorAt(6, ErrCorrupt, "Valkey RDB version %q is not three digits", b[6:9])
		}
		r.dialect, r.version = DialectValkey, v
		if v < 80 || (v > MaxValkeyVersion && !r.opts.allowNewer) {
			return r.errorAt(6, ErrUnsupportedVersion, "Valkey RDB version %d (this reader knows %d; AllowNewerVersions / --allow-newer tries anyway)", v, MaxValkeyVersion)
		}
	default:
		return r.errorAt(0, ErrCorrupt, "not an RDB file: magic %q, expected \"REDIS\" or \"VALKEY\"", b[:6])
	}
	r.in.next(9)
	return nil
}

func (r *Reader) truncOrErr(err error, what string) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		return e
	}
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return r.errorf(ErrTruncated, "input ended while reading %s", what)
	}
	return r.errorf(err, "reading %s", what)
}

// Next advances to the next record. It returns io.EOF after the end-of-file
// opcode, once the checksum (if any) has been verified. The returned Record
// is reused by later calls.
func (r *Reader) Next() (*Record, error) {
	if r.ended {
		if r.endErr != nil {
			return nil, r.endErr
		}
		return nil, io.EOF
	}
	rec, err := r.next()
	if err != nil {
		r.ended = true
		r.endErr = err
		if err != io.EOF {
			r.inKey = false
		}
	}
	return rec, err
}

func (r *Reader) next() (*Record, error) {
	if r.inKey {
		if err := r.finishValue(); err != nil {
			return nil, err
		}
		r.inKey = false
	}
	if r.payload {
		return r.nextPayload()
	}
	if !r.headerDone {
		if err := r.readHeader(); err != nil {
			return nil, err
		}
	}
	rec := r.resetRecord()
	havePrefix := false
	for {
		t, err := r.in.readByte()
		if err != nil {
			if err == io.ErrUnexpectedEOF && !havePrefix {
				return nil, r.errorf(ErrTruncated, "input ended before the end-of-file opcode (0xFF)")
			}
			return nil, r.truncOrErr(err, "an opcode")
		}
		switch t {
		case opExpireTimeMS:
			b, err := r.in.next(8)
			if err != nil {
				return nil, r.truncOrErr(err, "a millisecond expiry")
			}
			rec.ExpireAt = int64(binary.LittleEndian.Uint64(b))
			havePrefix = true
			continue
		case opExpireTime:
			b, err := r.in.next(4)
			if err != nil {
				return nil, r.truncOrErr(err, "an expiry")
			}
			rec.ExpireAt = int64(int32(binary.LittleEndian.Uint32(b))) * 1000
			havePrefix = true
			continue
		case opIdle:
			n, err := r.readLen("an LRU idle time")
			if err != nil {
				return nil, err
			}
			rec.Idle = int64(n)
			havePrefix = true
			continue
		case opFreq:
			b, err := r.in.readByte()
			if err != nil {
				return nil, r.truncOrErr(err, "an LFU frequency")
			}
			rec.Freq = int(b)
			havePrefix = true
			continue
		case opEnterpriseRAMLRU, opEnterpriseSlotNum:
			// Redis Enterprise writes these before some keys; they carry one
			// length that open-source servers have no use for.
			if r.dialect == DialectRedis {
				if _, err := r.readLen("a Redis Enterprise opcode"); err != nil {
					return nil, err
				}
				havePrefix = true
				continue
			}
		case opKeyMeta:
			if r.dialect == DialectRedis {
				if err := r.readKeyMeta(rec); err != nil {
					return nil, err
				}
				havePrefix = true
				continue
			}
		}
		if t == opAux && r.dialect == DialectRedis {
			// KeyDB writes "mvcc-tstamp" as an aux field before every key
			// (after its expiry and LRU/LFU data): it belongs to the key.
			ts, ok, err := r.keydbTimestamp()
			if err != nil {
				return nil, err
			}
			if ok {
				rec.MVCCTimestamp = ts
				havePrefix = true
				continue
			}
		}
		if havePrefix && t >= opKeyMeta {
			return nil, r.errorAt(r.in.offset()-1, ErrCorrupt, "opcode 0x%02X after key expiry/LRU/LFU data, expected a value type", t)
		}
		if err := r.record(rec, t); err != nil {
			return nil, err
		}
		return rec, nil
	}
}

// record reads the record of opcode or type byte t, the prefix of a key
// (expiry, LRU/LFU data, key metadata) having been read into rec. It
// returns io.EOF after the end-of-file opcode and a verified trailer.
func (r *Reader) record(rec *Record, t byte) error {
	var err error
	switch t {
	case opEOF:
		return r.readTrailer()
	case opSelectDB:
		n, err := r.readLen("a database number")
		if err != nil {
			return err
		}
		if n > math.MaxInt32 {
			return r.errorf(ErrCorrupt, "database number %d is out of range", n)
		}
		r.db = int(n)
		rec.Kind, rec.DB = KindSelectDB, r.db
	case opResizeDB:
		a, err := r.readLen("a resize-db hint")
		if err != nil {
			return err
		}
		b, err := r.readLen("a resize-db hint")
		if err != nil {
			return err
		}
		rec.Kind, rec.DBSize, rec.ExpiresSize = KindResizeDB, a, b
	case opAux:
		if r.auxKeyBuf, err = r.readStringAppend(r.auxKeyBuf[:0], "an aux field name"); err != nil {
			return err
		}
		if r.auxValBuf, err = r.readStringAppend(r.auxValBuf[:0], "an aux field value"); err != nil {
			return err
		}
		rec.Kind, rec.AuxKey, rec.AuxValue = KindAux, r.auxKeyBuf, r.auxValBuf
		switch string(rec.AuxKey) {
		case "keydb-subexpire-key", "keydb-subexpire-when", "repl-masters":
			// KeyDB: subkey expiries of the key before, and the
			// multi-master replication state.
			r.keydb = true
		case "redis-ver":
			r.redisVer = string(rec.AuxValue)
		case "valkey-ver":
			r.valkeyVer = string(rec.AuxValue)
		}
	case opModuleAux:
		if err := r.readModuleAux(rec); err != nil {
			return err
		}
	case opFunction2:
		rec.Kind = KindFunction
		if rec.Function, err = r.readStringAppend(nil, "a function library"); err != nil {
			return err
		}
	case opFunctionPreGA:
		if err := r.readFunctionPreGA(rec); err != nil {
			return err
		}
	case opSlotInfo:
		var v [3]uint64
		for i := range v {
			if v[i], err = r.readLen("slot info"); err != nil {
				return err
			}
		}
		if v[0] > 16383 {
			return r.errorf(ErrCorrupt, "slot %d is out of range 0-16383", v[0])
		}
		rec.Kind, rec.Slot, rec.SlotKeys, rec.SlotExpires = KindSlotInfo, int(v[0]), v[1], v[2]
	case opKeyMeta: // Valkey: slot import
		if err := r.readSlotImport(rec); err != nil {
			return err
		}
	default:
		return r.startKey(rec, t)
	}
	rec.Size = r.in.offset() - rec.Offset
	return nil
}

// resetRecord clears the reused Record for the next record. Most records
// are keys following keys, so only the key fields are reset then; the
// other groups are cleared when the previous record used them.
func (r *Reader) resetRecord() *Record {
	rec := &r.rec
	if rec.Kind != KindKey {
		*rec = Record{}
	}
	rec.Kind, rec.DB, rec.Size = 0, r.db, 0
	rec.Key, rec.KeyMeta = rec.Key[:0], r.metaBuf[:0]
	rec.ExpireAt, rec.Idle, rec.Freq, rec.MVCCTimestamp = 0, -1, -1, 0
	rec.Type, rec.RDBType, rec.Encoding = 0, 0, ""
	rec.Offset = r.in.offset()
	return rec
}

// startKey reads the key name after type byte t and prepares its value.
func (r *Reader) startKey(rec *Record, t byte) error {
	typeOff := r.in.offset() - 1
	typ, ok := r.logicalType(t)
	if !ok && t == keydbTypeCron && r.dialect == DialectRedis {
		return r.errorAt(typeOff, ErrCorrupt, "type 64: a KeyDB cron job (KEYDB.CRON), which only KeyDB can load, is not supported")
	}
	if !ok {
		return r.errorAt(typeOff, ErrCorrupt, "unknown record type or opcode 0x%02X (%d) in %s RDB %d", t, t, r.dialect, r.version)
	}
	rec.Kind = KindKey
	rec.RDBType = t
	rec.Type = typ
	var err error
	if r.framing || r.in.fixed {
		// ReadParallel's framing pass: the name stays in the buffer and
		// the encoding is left to the worker (see keepKey). A worker's
		// batch stays put until its records are done with: a view too.
		rec.Key, err = r.readStringView(&r.keyBuf, "a key name")
	} else {
		r.keyBuf, err = r.readStringAppend(r.keyBuf[:0], "a key name")
		rec.Key = r.keyBuf
	}
	if err != nil {
		return err
	}
	r.inKey = true
	if r.dialect == DialectValkey && t == valkeyTypeHash2 {
		r.val.reset(typeValkeyHash2)
	} else {
		r.val.reset(int(t))
	}
	if r.framing {
		return nil
	}
	rec.Encoding, err = r.encodingOf(t)
	return err
}

// keepKey completes a key record that the framing pass read, before its
// value is read on the framing goroutine: the name is copied out of the
// buffer and the encoding determined, as startKey does otherwise.
func (r *Reader) keepKey(rec *Record) error {
	r.keyBuf = append(r.keyBuf[:0], rec.Key...)
	rec.Key = r.keyBuf
	var err error
	rec.Encoding, err = r.encodingOf(rec.RDBType)
	return err
}

func (r *Reader) readTrailer() error {
	if r.version < 5 {
		r.checksumOK = int(ChecksumAbsent)
		return io.EOF
	}
	sum := r.in.sum()
	b, err := r.in.next(8)
	if err != nil {
		return r.truncOrErr(err, "the 8-byte checksum after the end-of-file opcode")
	}
	stored := binary.LittleEndian.Uint64(b)
	r.checksum = stored
	switch {
	case stored == 0:
		r.checksumOK = int(ChecksumDisabled)
	case r.opts.skipChecksum:
		r.checksumOK = int(ChecksumSkipped)
	case stored != sum:
		return r.errorAt(r.in.offset()-8, ErrChecksum, "stored CRC-64 %016x, computed %016x over the preceding bytes", stored, sum)
	default:
		r.checksumOK = int(ChecksumVerified)
	}
	return io.EOF
}

// readCount reads a collection's element or quicklist node count, or
// takes the count of the part of a value being read (see startPart).
func (r *Reader) readCount(what string) (uint64, error) {
	if r.val.part {
		return r.val.partCount, nil
	}
	return r.readLen(what)
}

// readLen reads an RDB length. what names the field for error messages.
func (r *Reader) readLen(what string) (uint64, error) {
	n, special, err := r.readLenOrSpecial(what)
	if err != nil {
		return 0, err
	}
	if special {
		return 0, r.errorAt(r.in.offset()-1, ErrCorrupt, "%s: expected a length, found a special string encoding (%d)", what, n)
	}
	return n, nil
}

// readLenOrSpecial reads an RDB length; special reports the 11xxxxxx form,
// with n holding the 6-bit encoding number.
func (r *Reader) readLenOrSpecial(what string) (n uint64, special bool, err error) {
	in := r.in
	var b byte
	if in.r < in.w {
		b = in.buf[in.r]
		in.r++
	} else if b, err = in.readByte(); err != nil {
		return 0, false, r.truncOrErr(err, what)
	}
	switch b >> 6 {
	case 0:
		return uint64(b & 0x3f), false, nil
	case 1:
		c, err := in.readByte()
		if err != nil {
			return 0, false, r.truncOrErr(err, what)
		}
		return uint64(b&0x3f)<<8 | uint64(c), false, nil
	case 3:
		return uint64(b & 0x3f), true, nil
	}
	switch b {
	case 0x80:
		p, err := in.next(4)
		if err != nil {
			return 0, false, r.truncOrErr(err, what)
		}
		return uint64(binary.BigEndian.Uint32(p)), false, nil
	case 0x81:
		p, err := in.next(8)
		if err != nil {
			return 0, false, r.truncOrErr(err, what)
		}
		return binary.BigEndian.Uint64(p), false, nil
	}
	return 0, false, r.errorAt(in.offset()-1, ErrCorrupt, "%s: invalid length prefix byte 0x%02X", what, b)
}

// Value encodings of the 11xxxxxx string form.
const (
	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// stringHeader describes an RDB string before its bytes are read.
type stringHeader struct {
	kind     uint8  // 0 raw, 1 integer, 2 LZF
	n        uint64 // raw: length; LZF: uncompressed length
	clen     uint64 // LZF: compressed length
	intValue int64
}

func (r *Reader) readStringHeader(what string) (stringHeader, error) {
	n, special, err := r.readLenOrSpecial(what)
	if err != nil {
		return stringHeader{}, err
	}
	if !special {
		if !r.in.fits(n) {
			return stringHeader{}, r.errorf(ErrCorrupt, "%s: length %d exceeds the %d bytes left in the input", what, n, r.in.remaining())
		}
		return stringHeader{kind: 0, n: n}, nil
	}
	switch n {
	case encInt8:
		b, err := r.in.readByte()
		if err != nil {
			return stringHeader{}, r.truncOrErr(err, what)
		}
		return stringHeader{kind: 1, intValue: int64(int8(b))}, nil
	case encInt16:
		b, err := r.in.next(2)
		if err != nil {
			return stringHeader{}, r.truncOrErr(err, what)
		}
		return stringHeader{kind: 1, intValue: int64(int16(binary.LittleEndian.Uint16(b)))}, nil
	case encInt32:
		b, err := r.in.next(4)
		if err != nil {
			return stringHeader{}, r.truncOrErr(err, what)
		}
		return stringHeader{kind: 1, intValue: int64(int32(binary.LittleEndian.Uint32(b)))}, nil
	case encLZF:
		clen, err := r.readLen(what) // an LZF compressed length
		if err != nil {
			return stringHeader{}, err
		}
		ulen, err := r.readLen(what) // an LZF uncompressed length
		if err != nil {
			return stringHeader{}, err
		}
		if !r.in.fits(clen) {
			return stringHeader{}, r.errorf(ErrCorrupt, "%s: compressed length %d exceeds the %d bytes left in the input", what, clen, r.in.remaining())
		}
		if clen == 0 || ulen > clen*lzfMaxRatio+8 {
			return stringHeader{}, r.errorf(ErrCorrupt, "%s: LZF lengths %d -> %d are impossible", what, clen, ulen)
		}
		return stringHeader{kind: 2, n: ulen, clen: clen}, nil
	}
	return stringHeader{}, r.errorAt(r.in.offset()-1, ErrCorrupt, "%s: unknown string encoding %d", what, n)
}

// lzfMaxRatio bounds LZF expansion: the longest back-reference is 3 bytes
// for 264 output bytes.
const lzfMaxRatio = 88

// len returns the decoded length of the string.
func (h stringHeader) len() uint64 {
	if h.kind == 1 {
		return intLen(h.intValue)
	}
	return h.n
}

// storedLen is the number of bytes after the header.
func (h stringHeader) storedLen() uint64 {
	switch h.kind {
	case 1:
		return 0
	case 2:
		return h.clen
	}
	return h.n
}

// readStringAppend reads an RDB string and appends its decoded bytes to dst.
func (r *Reader) readStringAppend(dst []byte, what string) ([]byte, error) {
	h, err := r.readStringHeader(what)
	if err != nil {
		return dst, err
	}
	return r.readStringBody(dst, h, what)
}

func (r *Reader) readStringBody(dst []byte, h stringHeader, what string) ([]byte, error) {
	switch h.kind {
	case 1:
		return appendInt(dst, h.intValue), nil
	case 2:
		return r.readLZF(dst, h, what)
	}
	out, err := r.in.appendN(dst, h.n)
	if err != nil {
		return dst, r.truncOrErr(err, what)
	}
	return out, nil
}

// readStringView reads an RDB string and returns its bytes without copying
// when it can: the result is valid only until the next read from the input.
// scratch is used for decoded integers, LZF output and long strings.
func (r *Reader) readStringView(scratch *[]byte, what string) ([]byte, error) {
	in := r.in
	// Fast path: short raw string fully in the buffer.
	if in.r < in.w {
		b := in.buf[in.r]
		if b < 0x40 {
			n := int(b)
			if in.r+1+n <= in.w {
				s := in.buf[in.r+1 : in.r+1+n : in.r+1+n]
				in.r += 1 + n
				return s, nil
			}
		}
	}
	h, err := r.readStringHeader(what)
	if err != nil {
		return nil, err
	}
	if h.kind == 0 && h.n <= uint64(len(in.buf)) {
		s, err := in.next(int(h.n))
		if err != nil {
			return nil, r.truncOrErr(err, what)
		}
		return s, nil
	}
	*scratch, err = r.readStringBody((*scratch)[:0], h, what)
	return *scratch, err
}

// skipString passes over an RDB string without decoding it and returns its
// decoded length.
func (r *Reader) skipString(what string) (uint64, error) {
	in := r.in
	if in.r < in.w {
		b := in.buf[in.r]
		if b < 0x40 && in.r+1+int(b) <= in.w {
			in.r += 1 + int(b)
			return uint64(b), nil
		}
	}
	h, err := r.readStringHeader(what)
	if err != nil {
		return 0, err
	}
	if n := h.storedLen(); n > 0 {
		if err := in.discard(n); err != nil {
			return 0, r.truncOrErr(err, what)
		}
	}
	return h.len(), nil
}

func (r *Reader) readLZF(dst []byte, h stringHeader, what string) ([]byte, error) {
	off := r.in.offset()
	var src []byte
	var err error
	if h.clen <= uint64(len(r.in.buf)) {
		src, err = r.in.next(int(h.clen))
	} else {
		r.val.lzfBuf, err = r.in.appendN(r.val.lzfBuf[:0], h.clen)
		src = r.val.lzfBuf
	}
	if err != nil {
		return dst, r.truncOrErr(err, what)
	}
	out, err := lzfDecompressAppend(dst, src, int(h.n))
	if err != nil {
		return dst, r.errorAt(off, ErrCorrupt, "%s: LZF data (%d bytes to %d): %v", what, h.clen, h.n, err)
	}
	if s := r.val.src; s != nil {
		s.lzf, s.comp = true, src // for Writer.CopyValue: see srcForms.keep
	}
	return out, nil
}

func appendInt(dst []byte, v int64) []byte {
	if v >= 0 && v < 10 {
		return append(dst, byte('0'+v))
	}
	var tmp [20]byte
	i := len(tmp)
	u := uint64(v)
	if v < 0 {
		u = uint64(-v)
	}
	for u >= 10 {
		i--
		tmp[i] = byte('0' + u%10)
		u /= 10
	}
	i--
	tmp[i] = byte('0' + u)
	if v < 0 {
		i--
		tmp[i] = '-'
	}
	return append(dst, tmp[i:]...)
}
