package export

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// CommandOptions configures how a value is turned into Redis commands.
type CommandOptions struct {
	// MaxElements caps the elements (list items, members, field/value
	// pairs, ...) one command carries; default 512.
	MaxElements int
	// MaxBytes caps the payload bytes one command carries (a string longer
	// than this is written with SET then APPENDs); default 1 MiB.
	MaxBytes int
	// Now is the time in Unix ms against which hash field TTLs are judged:
	// fields already expired are left out. 0 means time.Now().
	Now int64
	// FieldTTLs: the target knows hash field expiry (Redis 7.4+), so field
	// TTLs are written with HPEXPIREAT. Without it a field with a TTL is an
	// error wrapping ErrFieldTTL, unless DropFieldTTLs.
	FieldTTLs bool
	// DropFieldTTLs keeps fields with a TTL without their TTL.
	DropFieldTTLs bool
	// StreamMeta70: the target is Redis 7.0+ and takes XSETID ENTRIESADDED /
	// MAXDELETEDID and XGROUP CREATE ... ENTRIESREAD.
	StreamMeta70 bool
}

// ErrFieldTTL is wrapped by errors for hash field TTLs a target cannot hold.
var ErrFieldTTL = errors.New("hash field TTLs need Redis 7.4 or later")

// ErrModule is wrapped by errors for module values, which only RESTORE can
// recreate.
var ErrModule = errors.New("module values can only be restored with RESTORE")

// CommandStats tells what ValueCommands could not reproduce exactly.
type CommandStats struct {
	Commands        int
	Elements        int64
	ExpiredFields   int64 // hash fields left out because their TTL had passed
	DroppedFieldTTL int64 // fields written without their TTL (DropFieldTTLs)
	LostPending     int64 // stream PEL entries whose entry was deleted: XCLAIM cannot recreate them
}

func (o *CommandOptions) defaults() CommandOptions {
	c := *o
	if c.MaxElements <= 0 {
		c.MaxElements = 512
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 1 << 20
	}
	if c.Now == 0 {
		c.Now = time.Now().UnixMilli()
	}
	return c
}

// cmdBuilder accumulates one command's arguments in an arena.
type cmdBuilder struct {
	arena []byte
	ends  []int
	args  [][]byte
	bytes int
	elems int
}

func (b *cmdBuilder) reset() { b.arena, b.ends, b.bytes, b.elems = b.arena[:0], b.ends[:0], 0, 0 }

func (b *cmdBuilder) add(p []byte) {
	b.arena = append(b.arena, p...)
	b.ends = append(b.ends, len(b.arena))
	b.bytes += len(p)
}

func (b *cmdBuilder) addStr(s string) {
	b.arena = append(b.arena, s...)
	b.ends = append(b.ends, len(b.arena))
	b.bytes += len(s)
}

func (b *cmdBuilder) view() [][]byte {
	b.args = b.args[:0]
	start := 0
	for _, e := range b.ends {
		b.args = append(b.args, b.arena[start:e:e])
		start = e
	}
	return b.args
}

// ValueCommands emits commands that create the current value of r (rec is
// what r.Next returned) under key, which must not exist yet: SET/APPEND,
// RPUSH, SADD, ZADD, HSET (+ HPEXPIREAT), XADD + XSETID + XGROUP + XCLAIM.
// Big collections are cut into commands of at most MaxElements elements
// and about MaxBytes bytes. Key expiry is not emitted (see RESPWriter, and
// restore, which add it). emit may not keep args after it returns.
// The returned count is of the commands emitted; 0 means the value came
// out empty (every hash field expired) and no key was created.
func ValueCommands(r *rdb.Reader, rec *rdb.Record, key []byte, opts CommandOptions, emit func(args [][]byte) error) (CommandStats, error) {
	o := opts.defaults()
	var st CommandStats
	var b cmdBuilder
	send := func() error {
		st.Commands++
		err := emit(b.view())
		return err
	}
	switch rec.Type {
	case rdb.TypeString:
		return stringCommands(r, key, &o, &st, &b, send)
	case rdb.TypeModule:
		return st, fmt.Errorf("%w", ErrModule)
	case rdb.TypeStream:
		return streamCommands(r, key, &o, &st, &b, send)
	}
	return collectionCommands(r, rec.Type, key, &o, &st, &b, send)
}

// stringCommands emits SET, then APPEND for each further MaxBytes.
func stringCommands(r *rdb.Reader, key []byte, o *CommandOptions, st *CommandStats, b *cmdBuilder, send func() error) (CommandStats, error) {
	s, err := r.ReadString()
	if err != nil {
		return *st, err
	}
	first := true
	for first || len(s) > 0 {
		n := min(len(s), o.MaxBytes)
		b.reset()
		if first {
			b.addStr("SET")
		} else {
			b.addStr("APPEND")
		}
		b.add(key)
		b.add(s[:n])
		if err := send(); err != nil {
			return *st, err
		}
		s, first = s[n:], false
	}
	st.Elements = 1
	return *st, nil
}

// collectionCommands emits a list, set, sorted set or hash as RPUSH, SADD,
// ZADD or HSET commands, each hash field's TTL as an HPEXPIREAT after the
// command that created the field.
func collectionCommands(r *rdb.Reader, typ rdb.Type, key []byte, o *CommandOptions, st *CommandStats, b *cmdBuilder, send func() error) (CommandStats, error) {
	var name string
	switch typ {
	case rdb.TypeList:
		name = "RPUSH"
	case rdb.TypeSet:
		name = "SADD"
	case rdb.TypeZSet:
		name = "ZADD"
	case rdb.TypeHash:
		name = "HSET"
	default:
		return *st, fmt.Errorf("key %q: type %v has no command form", key, typ)
	}
	start := func() {
		b.reset()
		b.addStr(name)
		b.add(key)
	}
	start()
	var ttls []fieldTTL
	var num []byte
	flushTTLs := func() error {
		for _, t := range ttls {
			b.reset()
			b.addStr("HPEXPIREAT")
			b.add(key)
			num = strconv.AppendInt(num[:0], t.at, 10)
			b.add(num)
			b.addStr("FIELDS")
			b.addStr("1")
			b.add(t.field)
			if err := send(); err != nil {
				return err
			}
		}
		ttls = ttls[:0]
		return nil
	}
	for {
		e, err := r.NextElement()
		if err == io.EOF {
			break
		}
		if err != nil {
			return *st, err
		}
		switch typ {
		case rdb.TypeList, rdb.TypeSet:
			b.add(e.Member)
		case rdb.TypeZSet:
			num = AppendScore(num[:0], e.Score)
			b.add(num)
			b.add(e.Member)
		case rdb.TypeHash:
			if e.ExpireAt != 0 {
				if e.ExpireAt <= o.Now {
					st.ExpiredFields++
					continue
				}
				switch {
				case o.FieldTTLs:
					ttls = append(ttls, fieldTTL{append([]byte(nil), e.Member...), e.ExpireAt})
				case o.DropFieldTTLs:
					st.DroppedFieldTTL++
				default:
					return *st, fmt.Errorf("field %q has a TTL: %w", e.Member, ErrFieldTTL)
				}
			}
			b.add(e.Member)
			b.add(e.Value)
		}
		b.elems++
		st.Elements++
		if b.elems >= o.MaxElements || b.bytes >= o.MaxBytes {
			if err := send(); err != nil {
				return *st, err
			}
			if err := flushTTLs(); err != nil {
				return *st, err
			}
			start()
		}
	}
	if b.elems > 0 {
		if err := send(); err != nil {
			return *st, err
		}
	}
	// Read st after the last HPEXPIREATs are counted.
	err := flushTTLs()
	return *st, err
}

func appendID(dst []byte, id rdb.StreamID) []byte {
	dst = strconv.AppendUint(dst, id.Ms, 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Seq, 10)
}

func streamCommands(r *rdb.Reader, key []byte, o *CommandOptions, st *CommandStats, b *cmdBuilder, send func() error) (CommandStats, error) {
	var num []byte
	entries := 0
	exists := map[rdb.StreamID]bool{}
	for {
		e, err := r.NextStreamEntry()
		if err == io.EOF {
			break
		}
		if err != nil {
			return *st, err
		}
		b.reset()
		b.addStr("XADD")
		b.add(key)
		num = appendID(num[:0], e.ID)
		b.add(num)
		for _, f := range e.Fields {
			b.add(f)
		}
		if err := send(); err != nil {
			return *st, err
		}
		exists[e.ID] = true
		entries++
		st.Elements++
	}
	info, err := r.Stream()
	if err != nil {
		return *st, err
	}
	created := entries > 0
	if !created {
		// An empty stream: MKSTREAM creates it through a group.
		b.reset()
		b.addStr("XGROUP")
		b.addStr("CREATE")
		b.add(key)
		b.addStr("rdbtool-mkstream")
		b.addStr("0")
		b.addStr("MKSTREAM")
		if err := send(); err != nil {
			return *st, err
		}
		b.reset()
		b.addStr("XGROUP")
		b.addStr("DESTROY")
		b.add(key)
		b.addStr("rdbtool-mkstream")
		if err := send(); err != nil {
			return *st, err
		}
	}
	if info.LastID != (rdb.StreamID{}) || (o.StreamMeta70 && info.Version >= 2) {
		b.reset()
		b.addStr("XSETID")
		b.add(key)
		num = appendID(num[:0], info.LastID)
		b.add(num)
		if o.StreamMeta70 && info.Version >= 2 {
			b.addStr("ENTRIESADDED")
			num = strconv.AppendUint(num[:0], info.EntriesAdded, 10)
			b.add(num)
			b.addStr("MAXDELETEDID")
			num = appendID(num[:0], info.MaxDeletedID)
			b.add(num)
		}
		if err := send(); err != nil {
			return *st, err
		}
	}
	return streamGroupCommands(key, info.Groups, exists, o, st, b, send)
}

// streamGroupCommands emits a stream's consumer groups: XGROUP CREATE and
// CREATECONSUMER, and an XCLAIM for each pending entry that exists (the
// others are counted in LostPending).
func streamGroupCommands(key []byte, groups []rdb.StreamGroup, exists map[rdb.StreamID]bool, o *CommandOptions, st *CommandStats, b *cmdBuilder, send func() error) (CommandStats, error) {
	var num []byte
	for _, g := range groups {
		b.reset()
		b.addStr("XGROUP")
		b.addStr("CREATE")
		b.add(key)
		b.add(g.Name)
		num = appendID(num[:0], g.LastID)
		b.add(num)
		if o.StreamMeta70 && g.EntriesRead >= 0 {
			b.addStr("ENTRIESREAD")
			num = strconv.AppendInt(num[:0], g.EntriesRead, 10)
			b.add(num)
		}
		if err := send(); err != nil {
			return *st, err
		}
		for _, c := range g.Consumers {
			b.reset()
			b.addStr("XGROUP")
			b.addStr("CREATECONSUMER")
			b.add(key)
			b.add(g.Name)
			b.add(c.Name)
			if err := send(); err != nil {
				return *st, err
			}
		}
		for _, p := range g.Pending {
			if !exists[p.ID] {
				st.LostPending++
				continue
			}
			b.reset()
			b.addStr("XCLAIM")
			b.add(key)
			b.add(g.Name)
			b.add(p.Consumer)
			b.addStr("0")
			num = appendID(num[:0], p.ID)
			b.add(num)
			b.addStr("TIME")
			num = strconv.AppendInt(num[:0], p.DeliveryTime, 10)
			b.add(num)
			b.addStr("RETRYCOUNT")
			num = strconv.AppendUint(num[:0], p.DeliveryCount, 10)
			b.add(num)
			b.addStr("FORCE")
			b.addStr("JUSTID")
			if err := send(); err != nil {
				return *st, err
			}
		}
	}
	return *st, nil
}

// AppendScore formats a sorted-set score so that the server parses back
// the same float64: the shortest exact decimal form, "inf" or "-inf".
func AppendScore(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "inf"...)
	case math.IsInf(f, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}

// AppendCommand appends args as a RESP array of bulk strings.
func AppendCommand(dst []byte, args ...[]byte) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}

// RESPOptions configures a RESPWriter.
type RESPOptions struct {
	CommandOptions
	// Replace emits DEL before each key, so that replaying the stream over
	// existing data (or twice) does not append to lists, sets, ...
	Replace bool
	// IncludeExpired writes keys whose expiry has already passed (with their
	// past PEXPIREAT, which deletes them at once). By default they are
	// skipped.
	IncludeExpired bool
	// Target is used for module values (RESTORE payloads) only; zero means
	// the input's own format.
	Target rdb.Target
}

// RESPStats counts what a RESPWriter wrote and left out.
type RESPStats struct {
	Keys, Commands   int64
	SkippedExpired   int64
	ExpiredFields    int64
	DroppedFieldTTLs int64
	LostPending      int64
	Functions        int64
}

// RESPWriter writes keys as RESP commands, the input redis-cli --pipe
// takes: SELECT when the database changes, the value's commands (chunked
// for big collections, see ValueCommands), PEXPIREAT for keys with a TTL.
// Module values are written as RESTORE with a DUMP payload, function
// libraries as FUNCTION LOAD REPLACE.
type RESPWriter struct {
	w     *bufio.Writer
	o     RESPOptions
	db    int
	buf   []byte
	num   []byte
	stats RESPStats
}

// DefaultRESPOptions is for current servers (Redis 7.4 and later): field
// TTLs as HPEXPIREAT, full stream metadata.
func DefaultRESPOptions() RESPOptions {
	return RESPOptions{CommandOptions: CommandOptions{FieldTTLs: true, StreamMeta70: true}}
}

// NewRESPWriter returns a RESPWriter writing to w. Call Flush at the end.
func NewRESPWriter(w io.Writer, o RESPOptions) *RESPWriter {
	return &RESPWriter{w: bufio.NewWriterSize(w, 256<<10), o: o, db: 0}
}

// Stats returns what was written so far.
func (w *RESPWriter) Stats() RESPStats { return w.stats }

func (w *RESPWriter) cmd(args ...[]byte) error {
	w.buf = AppendCommand(w.buf[:0], args...)
	w.stats.Commands++
	_, err := w.w.Write(w.buf)
	return err
}

func (w *RESPWriter) selectDB(db int) error {
	if db == w.db {
		return nil
	}
	w.db = db
	return w.cmd([]byte("SELECT"), strconv.AppendInt(nil, int64(db), 10))
}

// WriteRecord writes what a record needs: keys (WriteKey) and function
// libraries; other records are ignored.
func (w *RESPWriter) WriteRecord(r *rdb.Reader, rec *rdb.Record) error {
	switch rec.Kind {
	case rdb.KindKey:
		return w.WriteKey(r, rec)
	case rdb.KindFunction:
		w.stats.Functions++
		return w.cmd([]byte("FUNCTION"), []byte("LOAD"), []byte("REPLACE"), FunctionCode(rec))
	}
	return nil
}

// FunctionCode returns the library source of a function record as
// FUNCTION LOAD takes it: rec.FunctionCode, whose home is package rdb.
func FunctionCode(rec *rdb.Record) []byte { return rec.FunctionCode() }

// WriteKey writes the current key of r.
func (w *RESPWriter) WriteKey(r *rdb.Reader, rec *rdb.Record) error {
	now := w.o.Now
	if now == 0 {
		now = time.Now().UnixMilli()
	}
	if rec.ExpireAt != 0 && rec.ExpireAt <= now && !w.o.IncludeExpired {
		w.stats.SkippedExpired++
		return nil
	}
	if err := w.selectDB(rec.DB); err != nil {
		return err
	}
	key := rec.Key
	if rec.Type == rdb.TypeModule {
		t := w.o.Target
		if t.Version == 0 {
			var err error
			if t, err = rdb.TargetOf(r); err != nil {
				return err
			}
		}
		keyCopy := append([]byte(nil), key...)
		exp := rec.ExpireAt
		p, err := rdb.EncodeDumpFrom(r, rec, rdb.WriterOptions{Target: t, Policy: rdb.DropKeyMeta})
		if err != nil {
			return fmt.Errorf("key %q: %w", keyCopy, err)
		}
		w.stats.Keys++
		return w.cmd([]byte("RESTORE"), keyCopy, strconv.AppendInt(nil, exp, 10), p, []byte("ABSTTL"), []byte("REPLACE"))
	}
	keyCopy := append([]byte(nil), key...)
	exp := rec.ExpireAt
	if w.o.Replace {
		if err := w.cmd([]byte("DEL"), keyCopy); err != nil {
			return err
		}
	}
	co := w.o.CommandOptions
	co.Now = now
	st, err := ValueCommands(r, rec, keyCopy, co, func(args [][]byte) error { return w.cmd(args...) })
	w.stats.ExpiredFields += st.ExpiredFields
	w.stats.DroppedFieldTTLs += st.DroppedFieldTTL
	w.stats.LostPending += st.LostPending
	if err != nil {
		return fmt.Errorf("key %q: %w", keyCopy, err)
	}
	if st.Commands == 0 {
		return nil
	}
	w.stats.Keys++
	if exp != 0 {
		w.num = strconv.AppendInt(w.num[:0], exp, 10)
		return w.cmd([]byte("PEXPIREAT"), keyCopy, w.num)
	}
	return nil
}

// Flush writes buffered output.
func (w *RESPWriter) Flush() error { return w.w.Flush() }
