package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb/compact"
)

// Target names the server format a Writer produces: the magic, the RDB
// version, and with them which value encodings exist.
type Target struct {
	Dialect Dialect // DialectRedis ("REDIS%04d") or DialectValkey ("VALKEY%03d")
	Version int     // 6 to 13 for Redis, 80 for Valkey 9
}

func (t Target) String() string {
	if t.Dialect == DialectValkey {
		return fmt.Sprintf("valkey RDB %d", t.Version)
	}
	return fmt.Sprintf("RDB %d", t.Version)
}

// TargetNames lists the release lines ParseTarget knows ("redis-7.0").
func TargetNames() []string {
	var out []string
	for _, r := range releases {
		out = append(out, r.Name())
	}
	return out
}

// targetNamed returns the target of a release line's name.
func targetNamed(name string) (Target, bool) {
	for _, r := range releases {
		if r.Name() == name {
			return r.Target, true
		}
	}
	return Target{}, false
}

// ParseTarget accepts a server release ("redis-7.0", "valkey-8.0", also
// with a patch level: "redis-7.0.15"), a bare RDB version ("10"), or
// "valkey-80" / "80" for Valkey's own RDB 80.
func ParseTarget(s string) (Target, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		return TargetVersion(n)
	}
	if t, ok := targetNamed(s); ok {
		return t, nil
	}
	// redis-7.0.15 -> redis-7.0
	if i := strings.LastIndexByte(s, '.'); i > 0 && strings.Count(s, ".") == 2 {
		if t, ok := targetNamed(s[:i]); ok {
			return t, nil
		}
	}
	if strings.HasPrefix(s, "valkey-") {
		if n, err := strconv.Atoi(s[7:]); err == nil && n >= 80 {
			return TargetVersion(n)
		}
	}
	return Target{}, fmt.Errorf("unknown target %q: use an RDB version (6-%d, %d) or a server such as redis-7.0 or valkey-8.0", s, MaxRedisVersion, MaxValkeyVersion)
}

// TargetVersion returns the target for a bare RDB version: 6 to 13 are
// Redis formats, 80 is Valkey's.
func TargetVersion(n int) (Target, error) {
	switch {
	case n >= 6 && n <= MaxRedisVersion:
		return Target{DialectRedis, n}, nil
	case n == MaxValkeyVersion:
		return Target{DialectValkey, n}, nil
	}
	return Target{}, fmt.Errorf("RDB version %d cannot be written: this writer produces 6-%d and Valkey %d", n, MaxRedisVersion, MaxValkeyVersion)
}

// TargetOf returns the target that matches what a Reader is reading, for
// writing a file of the same version.
func TargetOf(r *Reader) (Target, error) {
	return TargetVersion(r.Version()) // the version says the dialect: 80 and up are Valkey's
}

// at reports whether the target's format is at least Redis RDB version v;
// Valkey 80 counts as Redis 11 (it has every encoding of Redis 7.2 and
// none of 7.4's).
func (t Target) at(v int) bool {
	if t.Dialect == DialectValkey {
		return v <= 11
	}
	return t.Version >= v
}

func (t Target) valkey() bool { return t.Dialect == DialectValkey }

// Limits are the size thresholds under which a server keeps a collection
// in its compact encoding (the *-max-listpack-* / *-max-ziplist-*
// settings). The Writer uses the same ones so that a server loading the
// file ends up with the encoding the file has.
type Limits struct {
	HashMaxEntries, HashMaxValue               int // hash-max-listpack-entries/value (ziplist before 7.0)
	SetMaxIntsetEntries                        int // set-max-intset-entries
	SetMaxListpackEntries, SetMaxListpackValue int // set-max-listpack-* (7.2+; 0 disables)
	ZSetMaxEntries, ZSetMaxValue               int // zset-max-listpack-entries/value
	ListMaxSize                                int // list-max-listpack-size (3.2+): <0 size class, >0 entry count
	ListMaxZiplistEntries, ListMaxZiplistValue int // list-max-ziplist-* (RDB 6 only)
	ListCompressDepth                          int // list-compress-depth: quicklist nodes kept LZF-compressed
	ListPackedThreshold                        int // quicklist-packed-threshold (7.0+): larger elements get PLAIN nodes
	StreamNodeMaxBytes, StreamNodeMaxEntries   int // stream-node-max-bytes / -entries
}

// DefaultLimits returns a target server's default thresholds.
func DefaultLimits(t Target) Limits {
	l := Limits{
		HashMaxEntries: 512, HashMaxValue: 64,
		SetMaxIntsetEntries: 512,
		ZSetMaxEntries:      128, ZSetMaxValue: 64,
		ListMaxSize:           -2,
		ListMaxZiplistEntries: 512, ListMaxZiplistValue: 64,
		ListPackedThreshold: 1 << 30,
		StreamNodeMaxBytes:  4096, StreamNodeMaxEntries: 100,
	}
	if t.at(11) {
		l.SetMaxListpackEntries, l.SetMaxListpackValue = 128, 64
	}
	return l
}

// Policy chooses what the Writer may leave out when the target format
// cannot hold something. Without the matching flag it fails instead.
type Policy uint

const (
	// DropFieldTTLs: hash fields keep their values and lose their TTLs on
	// targets without field expiry (before RDB 12). Fields whose TTL has
	// already passed are dropped, as the source server would have done,
	// and a hash all of whose fields have expired is left out (in a DUMP
	// payload, which must hold a value, the error wraps ErrAllFieldsExpired).
	DropFieldTTLs Policy = 1 << iota
	// DowngradeStreams: stream metadata the target's stream layout lacks
	// is left out: consumer active times (before RDB 11), first/max-deleted
	// IDs, entries-added and group entries-read (before RDB 10), and
	// idempotent-producer state (before RDB 13).
	DowngradeStreams
	// DropKeyMeta: module key metadata (RDB 13) is left out on older targets.
	DropKeyMeta
	// DropFunctions: function libraries are left out on targets before RDB 10.
	DropFunctions
)

// WriterOptions configures a Writer.
type WriterOptions struct {
	Target Target // the format written: dialect and RDB version
	// NoCompression writes strings verbatim (rdbcompression no). By
	// default strings longer than 20 bytes are LZF-compressed when that
	// saves at least 4 bytes, byte-identical to Redis.
	NoCompression bool
	// NoChecksum writes 8 zero bytes instead of the CRC-64 (rdbchecksum no).
	NoChecksum bool
	// Limits overrides the target's default encoding thresholds.
	Limits *Limits
	Policy Policy // what may be left out that the target cannot hold (default: nothing)
	// SpoolMemory is how many bytes of one collection are held in memory
	// before the rest goes to a temporary file (default 32 MiB). See
	// Writer for when a collection is spooled.
	SpoolMemory int
	SpoolDir    string // directory for spool files (default os.TempDir())
	// Now gives the time against which field TTLs are judged expired
	// (DropFieldTTLs); default time.Now.
	Now func() time.Time
	// AllowDuplicateKeys turns off the check that no key is written twice
	// in one database (see ErrDuplicateKey), for a caller that guarantees
	// it: a server refuses a file with a repeated key.
	AllowDuplicateKeys bool
	// KeyDigestMemory bounds the memory of the duplicate checks, for keys
	// and for the members of one collection each (default 32 MiB; past
	// it, digests go to temporary files in SpoolDir).
	KeyDigestMemory int64
	// Recompress makes CopyValue compress every string afresh instead of
	// copying the source's stored form where that gives the same bytes
	// (see CopyValue). The output is the same; this is for verifying that.
	Recompress bool
}

// ErrUnsupported is wrapped by Writer errors for content the target
// format cannot represent (and no Policy allows leaving out).
var ErrUnsupported = errors.New("not representable in the target format")

// ErrAllFieldsExpired is wrapped by the error of a DUMP payload for a hash
// every field of which had expired (DropFieldTTLs): there is no value to
// restore, as the server would have deleted the key.
var ErrAllFieldsExpired = errors.New("every hash field has expired")

// ErrEmptyCollection is wrapped by the error of a DUMP payload for a
// collection without elements: servers do not store empty collections
// (a Writer writing a file leaves such a key out and counts it in
// WriterStats.EmptyKeys, as a server loading the file skips it).
var ErrEmptyCollection = errors.New("servers do not store empty collections")

// WriterStats counts what a Writer wrote and what a Policy left out.
type WriterStats struct {
	Keys                 int64
	DroppedFieldTTLs     int64 // fields that lost their TTL
	DroppedExpiredFields int64 // fields dropped because their TTL had passed
	DroppedExpiredKeys   int64 // hashes left out because every field had expired (DropFieldTTLs)
	DowngradedStreams    int64
	DroppedKeyMeta       int64
	DroppedFunctions     int64
	DroppedLRU           int64 // idle/freq values the target cannot store (before RDB 9)
	EmptyKeys            int64 // collections without elements, left out (a server skips them)
	// StoredCopies counts strings, compact blobs and quicklist nodes that
	// CopyValue wrote in the source's stored form instead of compressing
	// them again (see CopyValue).
	StoredCopies int64
}

// KeyHeader is what precedes a value: the key and its optional expiry,
// LRU idle time and LFU counter.
type KeyHeader struct {
	Key      []byte
	ExpireAt int64 // Unix ms; 0 for none
	// The LRU idle time (seconds) is written only when HasIdle, the LFU
	// frequency only when HasFreq: the zero value writes neither. A
	// server writes the one its maxmemory-policy keeps, never both.
	Idle    int64
	HasIdle bool
	Freq    uint8
	HasFreq bool
	KeyMeta []KeyMeta
}

// KeyHeader returns the header of a key record, for writing the key again
// as it was read (Writer.CopyValue).
func (rec *Record) KeyHeader() KeyHeader {
	return KeyHeader{Key: rec.Key, ExpireAt: rec.ExpireAt,
		Idle: max(rec.Idle, 0), HasIdle: rec.Idle >= 0,
		Freq: uint8(max(rec.Freq, 0)), HasFreq: rec.Freq >= 0,
		KeyMeta: rec.KeyMeta}
}

// Writer writes an RDB file for a chosen target. Records are written in
// the order the methods are called; Close writes the end-of-file opcode and
// the checksum. A Writer is not safe for concurrent use.
//
// It writes nothing a server refuses to load: a key written twice in one
// database fails (ErrDuplicateKey; see WriterOptions.AllowDuplicateKeys),
// so does a member given twice to a set, sorted set or hash
// (ErrDuplicateMember), in bounded memory (WriterOptions.KeyDigestMemory); an empty
// collection, which a server skips, is left out and counted
// (WriterStats.EmptyKeys).
//
// Values are written in the encoding the target server would itself choose
// for them under its default thresholds (see Limits): intset, ziplist or
// listpack when small enough, otherwise the plain form, and quicklists cut
// into nodes by the server's own node-size rule.
//
// Memory: RDB stores a collection's element count (or quicklist node
// count) before its elements, and the encoding choice depends on the
// element sizes. Collections are therefore written through a
// CollectionWriter that is told the element count up front when it is
// known (Reader.Len gives it for plain encodings). When the count is known
// and already rules out the compact encoding, elements go straight to the
// output. Otherwise (small collections, quicklists whose node count is only
// known at the end, streams, hashes with field TTLs that need their
// smallest TTL first) the encoded elements are spooled: in memory up to
// SpoolMemory bytes, then in a temporary file, so memory stays flat however
// large the value.
//
// Goroutines: the Writer calls the io.Writer given to NewWriter from a
// goroutine of its own, so that a full 256 KiB buffer is checksummed and
// written while the next one fills. The calls are never concurrent with
// each other, and none is made once Close has returned, whether it
// succeeded or not: call Close after any error before using that
// io.Writer again. A write error is returned by a later method or by
// Close.
type Writer struct {
	o        out
	t        Target
	lim      Limits
	opt      WriterOptions
	payload  bool // DUMP payload: no header, no key, no trailer
	started  bool
	closed   bool
	inValue  bool
	stats    WriterStats
	scratch  []byte
	cw       CollectionWriter // reused: one collection is open at a time
	seen     map[string]bool
	lb       compact.ListpackBuilder
	zb       compact.ZiplistBuilder
	ql       *qlBuilder // reused by every list
	keyBuf   []byte     // the open collection's key
	zsAll    []scored   // small sorted sets being sorted
	zsArena  []byte     // and their members
	scoreBuf []byte
	cs       compactScratch // CopyValue's fast paths (writer_copy_fast.go)

	db       int            // the current database (SelectDB)
	keys     *keydigest.Set // digests of the keys written (writer_dup.go)
	prefetch []uint64       // PrefetchKeys' digests (writer_dup.go)

	// CopyValue: the stored forms of the value being copied.
	copying    bool
	src        srcForms
	srcReader  *Reader
	srcTrusted bool // the source's LZF output is byte-identical to ours
}

// NewWriter returns a Writer for opts.Target (required) writing to w.
// Nothing is written until the first record (or Close).
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	if _, err := TargetVersion(opts.Target.Version); err != nil {
		return nil, err
	}
	if (opts.Target.Dialect == DialectValkey) != (opts.Target.Version >= 80) {
		return nil, fmt.Errorf("target %v: dialect and version do not match", opts.Target)
	}
	wr := &Writer{t: opts.Target, opt: opts}
	wr.o.w = w
	wr.o.compress = !opts.NoCompression
	if opts.Limits != nil {
		wr.lim = *opts.Limits
	} else {
		wr.lim = DefaultLimits(opts.Target)
	}
	if wr.opt.SpoolMemory <= 0 {
		wr.opt.SpoolMemory = 32 << 20
	}
	return wr, nil
}

// Target returns the format being written.
func (w *Writer) Target() Target { return w.t }

// Stats returns counts of what was written and left out so far.
func (w *Writer) Stats() WriterStats { return w.stats }

// Written returns the number of bytes produced so far.
func (w *Writer) Written() int64 { return w.o.n + int64(len(w.o.buf)) }

func (w *Writer) begin() error {
	if w.closed {
		return errors.New("rdb: Writer is closed")
	}
	if w.inValue {
		return errors.New("rdb: the previous collection or stream was not closed")
	}
	if !w.started && !w.payload {
		w.started = true
		if w.t.Dialect == DialectValkey {
			w.o.raw([]byte(fmt.Sprintf("VALKEY%03d", w.t.Version)))
		} else {
			w.o.raw([]byte(fmt.Sprintf("REDIS%04d", w.t.Version)))
		}
	}
	return w.o.err
}

// WriteAux writes an auxiliary field (redis-ver, ctime, ...).
func (w *Writer) WriteAux(key, value []byte) error {
	if err := w.begin(); err != nil {
		return err
	}
	w.o.byte1(opAux)
	w.o.str(key)
	w.o.str(value)
	return w.o.err
}

// WriteDefaultAux writes the aux fields a server of the target writes
// first: redis-ver, redis-bits, ctime, used-mem and aof-base. ver is
// the server version to claim; "" picks one matching the target.
func (w *Writer) WriteDefaultAux(ver string, ctime int64, usedMem int64) error {
	if ver == "" {
		ver = DefaultServerVersion(w.t)
	}
	for _, kv := range [][2]string{
		{"redis-ver", ver}, {"redis-bits", "64"}, {"ctime", strconv.FormatInt(ctime, 10)},
		{"used-mem", strconv.FormatInt(usedMem, 10)}, {"aof-base", "0"},
	} {
		if err := w.WriteAux([]byte(kv[0]), []byte(kv[1])); err != nil {
			return err
		}
	}
	return nil
}

// DefaultServerVersion returns a server release that writes the target
// format, for the redis-ver aux field.
func DefaultServerVersion(t Target) string {
	if t.Dialect == DialectValkey {
		return "7.2.4" // Valkey writes redis-ver 7.2.4 for compatibility
	}
	return map[int]string{6: "2.8.24", 7: "3.2.13", 8: "4.0.14", 9: "6.2.16", 10: "7.0.15", 11: "7.2.6", 12: "7.4.1", 13: "8.6.3"}[t.Version]
}

// SelectDB starts database db.
func (w *Writer) SelectDB(db int) error {
	if err := w.begin(); err != nil {
		return err
	}
	if db < 0 {
		return fmt.Errorf("rdb: database number %d", db)
	}
	w.o.byte1(opSelectDB)
	w.o.len(uint64(db))
	w.db = db
	return w.o.err
}

// ResizeDB writes the size hints of the current database (RDB 7+; ignored
// for older targets).
func (w *Writer) ResizeDB(dbSize, expiresSize uint64) error {
	if err := w.begin(); err != nil {
		return err
	}
	if !w.t.at(7) {
		return nil
	}
	w.o.byte1(opResizeDB)
	w.o.len(dbSize)
	w.o.len(expiresSize)
	return w.o.err
}

// WriteFunction writes a function library's source (RDB 10+).
func (w *Writer) WriteFunction(code []byte) error {
	if err := w.begin(); err != nil {
		return err
	}
	if !w.t.at(10) {
		if w.opt.Policy&DropFunctions != 0 {
			w.stats.DroppedFunctions++
			return nil
		}
		return fmt.Errorf("rdb: function library: %w: %v has no functions (RDB 10+; DropFunctions leaves them out)", ErrUnsupported, w.t)
	}
	w.o.byte1(opFunction2)
	w.o.str(code)
	return w.o.err
}

// WriteModuleAux writes module aux data: raw is Record.ModuleAux of a
// KindModuleAux record (module id, when, opcode stream). RDB 9+.
func (w *Writer) WriteModuleAux(raw []byte) error {
	if err := w.begin(); err != nil {
		return err
	}
	if !w.t.at(9) {
		return fmt.Errorf("rdb: module aux data: %w: %v has no module aux opcode (RDB 9+)", ErrUnsupported, w.t)
	}
	w.o.byte1(opModuleAux)
	w.o.raw(raw)
	return w.o.err
}

// WriteSlotInfo writes cluster slot statistics (Redis RDB 12+); other
// targets get nothing, as the statistics are only a sizing hint.
func (w *Writer) WriteSlotInfo(slot int, keys, expires uint64) error {
	if err := w.begin(); err != nil {
		return err
	}
	if w.t.valkey() || !w.t.at(12) {
		return nil
	}
	w.o.byte1(opSlotInfo)
	w.o.len(uint64(slot))
	w.o.len(keys)
	w.o.len(expires)
	return w.o.err
}

// keyHeader writes the opcodes before the type byte, the type, and the key.
func (w *Writer) keyHeader(h *KeyHeader, typ byte) error {
	if w.payload {
		if len(h.KeyMeta) > 0 && w.keyMetaOK(h) {
			w.writeKeyMeta(h.KeyMeta)
		}
		w.o.byte1(typ)
		return w.o.err
	}
	if err := w.checkKey(h.Key); err != nil {
		return err
	}
	if h.ExpireAt != 0 {
		w.o.byte1(opExpireTimeMS)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(h.ExpireAt))
		w.o.small(b[:])
	}
	if h.HasIdle || h.HasFreq {
		if !w.t.at(9) {
			w.stats.DroppedLRU++
		} else {
			if h.HasIdle {
				w.o.byte1(opIdle)
				w.o.len(uint64(h.Idle))
			}
			if h.HasFreq {
				w.o.byte1(opFreq)
				w.o.byte1(h.Freq)
			}
		}
	}
	if len(h.KeyMeta) > 0 && w.keyMetaOK(h) {
		w.writeKeyMeta(h.KeyMeta)
	}
	w.o.byte1(typ)
	w.o.str(h.Key)
	w.stats.Keys++
	return w.o.err
}

func (w *Writer) keyMetaOK(h *KeyHeader) bool {
	if !w.t.valkey() && w.t.at(13) {
		return true
	}
	return false
}

func (w *Writer) checkKeyMeta(h *KeyHeader) error {
	if len(h.KeyMeta) == 0 || w.keyMetaOK(h) {
		return nil
	}
	if w.opt.Policy&DropKeyMeta != 0 {
		w.stats.DroppedKeyMeta++
		return nil
	}
	return fmt.Errorf("rdb: key %q: %w: module key metadata needs Redis RDB 13 (DropKeyMeta leaves it out)", h.Key, ErrUnsupported)
}

func (w *Writer) writeKeyMeta(m []KeyMeta) {
	w.o.byte1(opKeyMeta)
	w.o.len(uint64(len(m)))
	for _, km := range m {
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], km.Class)
		w.o.small(b[:])
		w.o.raw(km.Raw)
	}
}

// WriteString writes a string key.
func (w *Writer) WriteString(h KeyHeader, value []byte) error {
	if err := w.begin(); err != nil {
		return err
	}
	if err := w.checkKeyMeta(&h); err != nil {
		return err
	}
	if err := w.keyHeader(&h, typeString); err != nil {
		return err
	}
	w.o.str(value)
	return w.o.err
}

// WriteModule writes a module value as the bytes its module wrote
// (ModuleValue.Raw). Module types exist from RDB 8 on; the server that
// loads the file needs the module.
func (w *Writer) WriteModule(h KeyHeader, m *ModuleValue) error {
	if err := w.begin(); err != nil {
		return err
	}
	if !w.t.at(8) {
		return fmt.Errorf("rdb: key %q: %w: module type %s needs RDB 8+", h.Key, ErrUnsupported, m.Name)
	}
	if err := w.checkKeyMeta(&h); err != nil {
		return err
	}
	if err := w.keyHeader(&h, typeModule2); err != nil {
		return err
	}
	w.o.raw(m.Raw)
	return w.o.err
}

// Close writes the end-of-file opcode and the checksum, and flushes. It
// does not close the underlying writer.
func (w *Writer) Close() error {
	// Whatever the outcome, no write of ours is in flight once Close
	// returns: the caller may then reuse or close the io.Writer.
	defer w.o.wait()
	if w.closed {
		return w.o.err
	}
	if err := w.begin(); err != nil {
		return err
	}
	w.closed = true
	if err := w.finishKeys(); err != nil {
		return err
	}
	w.o.byte1(opEOF)
	sum := w.o.sum()
	if w.opt.NoChecksum {
		sum = 0
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], sum)
	w.o.small(b[:])
	return w.o.flush()
}

// Abort ends the Writer without completing the file, after an error that
// makes the output worthless: no end-of-file opcode or checksum is
// written (a reader of the partial output finds it truncated), nothing
// buffered is flushed, and once Abort returns no write to the io.Writer is
// in flight or will be made. Later calls fail.
func (w *Writer) Abort() {
	w.o.wait()
	w.closed = true
	w.o.buf = w.o.buf[:0]
	if w.o.err == nil {
		w.o.err = errors.New("rdb: Writer was aborted")
	}
}

// out is a buffered output that keeps the CRC-64 of everything written.
// When it writes to an io.Writer, a full buffer is checksummed and written
// on another goroutine while the next one fills (see handoff).
type out struct {
	w        io.Writer // nil: keep everything in buf
	buf      []byte
	spare    []byte // the buffer being written in the background, when busy
	crc      uint64 // of everything handed off (once the job in flight is collected)
	n        int64  // bytes handed off
	err      error
	compress bool
	lzf      []byte
	busy     bool
	done     chan outResult
}

type outResult struct {
	crc uint64
	err error
}

const outFlushAt = 256 << 10

// handoff starts checksumming and writing buf in the background and
// continues in the spare buffer.
func (o *out) handoff() {
	if o.w == nil || len(o.buf) == 0 {
		return
	}
	o.wait()
	if o.err != nil {
		o.buf = o.buf[:0]
		return
	}
	if o.done == nil {
		o.done = make(chan outResult, 1)
	}
	p := o.buf
	o.n += int64(len(p))
	go func(crc uint64, p []byte, w io.Writer, done chan<- outResult) {
		crc = CRC64(crc, p)
		_, err := w.Write(p)
		done <- outResult{crc, err}
	}(o.crc, p, o.w, o.done)
	o.busy = true
	o.buf, o.spare = o.spare[:0], p
}

// wait collects the background job, if one is in flight.
func (o *out) wait() {
	if o.busy {
		res := <-o.done
		o.busy = false
		o.crc = res.crc
		if res.err != nil && o.err == nil {
			o.err = res.err
		}
	}
}

// flush writes everything buffered and waits for it.
func (o *out) flush() error {
	if o.w == nil {
		return o.err
	}
	o.handoff()
	o.wait()
	return o.err
}

func (o *out) sum() uint64 {
	if o.w == nil {
		return CRC64(0, o.buf)
	}
	o.wait()
	return CRC64(o.crc, o.buf)
}

func (o *out) maybeFlush() {
	if o.w != nil && len(o.buf) >= outFlushAt {
		o.handoff()
	}
}

func (o *out) raw(p []byte) {
	if o.w != nil && len(p) >= outFlushAt {
		// Large: written from the caller's memory, so not in the background.
		o.flush()
		if o.err == nil {
			o.crc = CRC64(o.crc, p)
			_, o.err = o.w.Write(p)
			o.n += int64(len(p))
		}
		return
	}
	o.buf = append(o.buf, p...)
	o.maybeFlush()
}

// small appends a few bytes (p does not escape, unlike with raw).
func (o *out) small(p []byte) {
	o.buf = append(o.buf, p...)
	o.maybeFlush()
}

func (o *out) byte1(b byte) { o.buf = append(o.buf, b) }

// len writes an RDB length (rdbSaveLen).
func (o *out) len(n uint64) { o.buf = appendLen(o.buf, n); o.maybeFlush() }

func appendLen(b []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(b, byte(n))
	case n < 1<<14:
		return append(b, 0x40|byte(n>>8), byte(n))
	case n <= 0xFFFFFFFF:
		return append(b, 0x80, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0x81), n)
}

// str writes a string as rdbSaveRawString does: a small integer form for
// canonical decimals that fit 32 bits, LZF when on and worth it, else
// verbatim.
func (o *out) str(s []byte) {
	if len(s) <= 11 {
		if v, ok := compact.ParseRedisInt(s); ok && v >= -(1<<31) && v <= 1<<31-1 {
			o.buf = appendIntEnc(o.buf, v)
			o.maybeFlush()
			return
		}
	}
	if o.compress && len(s) > 20 {
		var ok bool
		if o.lzf, ok = compact.LZFCompress(s, o.lzf); ok {
			o.lzfBlob(o.lzf, len(s))
			return
		}
	}
	o.buf = appendLen(o.buf, uint64(len(s)))
	o.raw(s)
}

// encStr appends s to dst in RDB string form (see out.str).
func encStr(dst, s []byte, compress bool, lzf *[]byte) []byte {
	if len(s) <= 11 {
		if v, ok := compact.ParseRedisInt(s); ok && v >= -(1<<31) && v <= 1<<31-1 {
			return appendIntEnc(dst, v)
		}
	}
	if compress && len(s) > 20 {
		var ok bool
		if *lzf, ok = compact.LZFCompress(s, *lzf); ok {
			dst = append(dst, 0xC0|encLZF)
			dst = appendLen(dst, uint64(len(*lzf)))
			dst = appendLen(dst, uint64(len(s)))
			return append(dst, *lzf...)
		}
	}
	dst = appendLen(dst, uint64(len(s)))
	return append(dst, s...)
}

func (o *out) lzfBlob(c []byte, ulen int) {
	o.buf = append(o.buf, 0xC0|encLZF)
	o.buf = appendLen(o.buf, uint64(len(c)))
	o.buf = appendLen(o.buf, uint64(ulen))
	o.raw(c)
}

func appendIntEnc(b []byte, v int64) []byte {
	switch {
	case v >= -128 && v <= 127:
		return append(b, 0xC0|encInt8, byte(v))
	case v >= -32768 && v <= 32767:
		return append(b, 0xC0|encInt16, byte(v), byte(v>>8))
	}
	return append(b, 0xC0|encInt32, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
}
