package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb/compact"
)

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

// ---- spool ----

// spool holds encoded bytes in memory up to a limit, then in a temp file.
type spool struct {
	mr    bytes.Reader
	mem   []byte
	limit int
	dir   string
	f     *os.File
	bw    *bufio.Writer
	size  int64
}

func (s *spool) write(p []byte) error {
	s.size += int64(len(p))
	if s.f == nil {
		if len(s.mem)+len(p) <= s.limit {
			s.mem = append(s.mem, p...)
			return nil
		}
		f, err := os.CreateTemp(s.dir, "rdbtool-spool-*")
		if err != nil {
			return fmt.Errorf("rdb: spooling a large value: %w", err)
		}
		os.Remove(f.Name()) // unlinked: the file goes away with its descriptor
		s.f = f
		s.bw = bufio.NewWriterSize(f, 1<<20)
		if _, err := s.bw.Write(s.mem); err != nil {
			return err
		}
		s.mem = s.mem[:0]
	}
	_, err := s.bw.Write(p)
	return err
}

// reader returns the spooled bytes from the start.
func (s *spool) reader() (spoolReader, error) {
	if s.f == nil {
		s.mr.Reset(s.mem)
		return &s.mr, nil
	}
	if err := s.bw.Flush(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(s.f, 1<<20), nil
}

// copyTo writes the spooled bytes to o.
func (s *spool) copyTo(o *out) error {
	if s.f == nil {
		o.raw(s.mem)
		return o.err
	}
	r, err := s.reader()
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			o.raw(buf[:n])
		}
		if err == io.EOF {
			return o.err
		}
		if err != nil {
			return err
		}
	}
}

func (s *spool) release() {
	if s.f != nil {
		s.f.Close()
		s.f, s.bw = nil, nil
	}
	s.mem = s.mem[:0]
	s.size = 0
}

type spoolReader interface {
	io.Reader
	io.ByteReader
}

// element framing inside a spool: member, value (hash), score (zset) and
// field expiry (hash), with uvarint lengths.
func appendFramed(b []byte, e *Element, typ Type) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.Member)))
	b = append(b, e.Member...)
	switch typ {
	case TypeHash:
		b = binary.AppendUvarint(b, uint64(len(e.Value)))
		b = append(b, e.Value...)
		b = binary.AppendVarint(b, e.ExpireAt)
	case TypeZSet:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Score))
	}
	return b
}

type framedReader struct {
	r        spoolReader
	typ      Type
	mem, val []byte
}

func (fr *framedReader) next() (Element, error) {
	var e Element
	n, err := binary.ReadUvarint(fr.r)
	if err != nil {
		return e, err
	}
	fr.mem = slices.Grow(fr.mem[:0], int(n))[:n]
	if _, err := io.ReadFull(fr.r, fr.mem); err != nil {
		return e, err
	}
	e.Member = fr.mem
	switch fr.typ {
	case TypeHash:
		n, err := binary.ReadUvarint(fr.r)
		if err != nil {
			return e, err
		}
		fr.val = slices.Grow(fr.val[:0], int(n))[:n]
		if _, err := io.ReadFull(fr.r, fr.val); err != nil {
			return e, err
		}
		e.Value = fr.val
		if e.ExpireAt, err = binary.ReadVarint(fr.r); err != nil {
			return e, err
		}
	case TypeZSet:
		fr.val = slices.Grow(fr.val[:0], 8)[:8]
		if _, err := io.ReadFull(fr.r, fr.val); err != nil {
			return e, err
		}
		e.Score = math.Float64frombits(binary.LittleEndian.Uint64(fr.val))
	}
	return e, nil
}

// ---- collections ----

// CollectionWriter receives the elements of one list, set, sorted set or
// hash. Get one from Writer.BeginList and friends; call Add for every
// element, then Close. Element slices are copied: the caller may reuse them.
type CollectionWriter struct {
	w        *Writer
	typ      Type
	h        KeyHeader
	declared int64 // element count given up front, -1 if unknown
	n        int64
	direct   bool // header and count written; elements go straight out
	err      error

	maxLen   int
	allInts  bool
	intsDone bool // a non-integer was seen (set insertion order emulation)
	ints     []int64
	nInts    int // leading integer members
	anyTTL   bool
	minTTL   int64
	// expiredFields counts fields dropped because their TTL had passed.
	expiredFields int64
	ttlHint       bool
	now           int64

	sp spool
	fb []byte

	// digests of the members written in a plain encoding (writer_dup.go)
	members   *keydigest.Set
	memberPos int64

	// lists
	ql *qlBuilder

	// memInt, set by Writer.CopyValue for the element being added, reports
	// that its Member is the canonical decimal text of memIntV (the reader's
	// valueState.memInt): the integer need not be parsed back from it.
	memInt  bool
	memIntV int64
}

// CollectionInfo describes a collection before its elements.
type CollectionInfo struct {
	// Count is the number of elements that will be added, or -1 when not
	// known. When it is known and large enough to rule out the compact
	// encoding, elements are written through without spooling; Close then
	// fails if a different number was added.
	Count int64
	// FieldTTLs says a hash may carry field TTLs (Element.ExpireAt). Such
	// hashes are spooled, as the smallest TTL is stored before the fields.
	FieldTTLs bool
}

// BeginCollection starts a list, set, sorted set or hash key.
func (w *Writer) BeginCollection(h KeyHeader, typ Type, info CollectionInfo) (*CollectionWriter, error) {
	if err := w.begin(); err != nil {
		return nil, err
	}
	switch typ {
	case TypeList, TypeSet, TypeZSet, TypeHash:
	default:
		return nil, fmt.Errorf("rdb: BeginCollection for a %s", typ)
	}
	if err := w.checkKeyMeta(&h); err != nil {
		return nil, err
	}
	c := &w.cw
	*c = CollectionWriter{w: w, typ: typ, declared: info.Count, allInts: true, ttlHint: info.FieldTTLs, now: w.now(),
		sp: spool{mem: c.sp.mem[:0], limit: w.opt.SpoolMemory, dir: w.opt.SpoolDir}, fb: c.fb[:0], ints: c.ints[:0]}
	w.inValue = true
	lim := &w.lim
	if typ == TypeList && w.t.at(7) {
		if w.ql == nil {
			w.ql = newQLBuilder(w)
		} else {
			w.ql.reset()
		}
		c.ql = w.ql
		c.h = w.copyHeaderKeep(h)
		return c, nil
	}
	var directType byte
	if info.Count >= 0 {
		switch typ {
		case TypeList: // RDB 6
			if info.Count > int64(lim.ListMaxZiplistEntries) {
				directType = typeList
			}
		case TypeSet:
			if info.Count > int64(max(lim.SetMaxIntsetEntries, lim.SetMaxListpackEntries)) {
				directType = typeSet
			}
		case TypeZSet:
			if info.Count > int64(lim.ZSetMaxEntries) {
				directType = w.zsetPlainType()
			}
		case TypeHash:
			if info.Count > int64(lim.HashMaxEntries) && !info.FieldTTLs {
				directType = typeHash
			}
		}
	}
	if directType != 0 {
		c.direct = true
		c.h.Key = h.Key // for errors only: not kept past the call's caller
		if err := w.keyHeader(&h, directType); err != nil {
			return nil, err
		}
		w.o.len(uint64(info.Count))
		return c, w.o.err
	}
	c.h = w.copyHeaderKeep(h)
	return c, nil
}

// copyHeaderKeep is copyHeader with the key copied into a buffer the
// Writer reuses (one collection is open at a time).
func (w *Writer) copyHeaderKeep(h KeyHeader) KeyHeader {
	if len(h.KeyMeta) > 0 {
		return copyHeader(h)
	}
	w.keyBuf = append(w.keyBuf[:0], h.Key...)
	h.Key = w.keyBuf
	return h
}

// BeginList starts a list key: BeginCollection for TypeList. count is
// the element count, or -1 when not known.
func (w *Writer) BeginList(h KeyHeader, count int64) (*CollectionWriter, error) {
	return w.BeginCollection(h, TypeList, CollectionInfo{Count: count})
}

// BeginSet starts a set key: BeginCollection for TypeSet. count is the
// element count, or -1 when not known.
func (w *Writer) BeginSet(h KeyHeader, count int64) (*CollectionWriter, error) {
	return w.BeginCollection(h, TypeSet, CollectionInfo{Count: count})
}

// BeginZSet starts a sorted set key: BeginCollection for TypeZSet. count
// is the element count, or -1 when not known.
func (w *Writer) BeginZSet(h KeyHeader, count int64) (*CollectionWriter, error) {
	return w.BeginCollection(h, TypeZSet, CollectionInfo{Count: count})
}

// BeginHash starts a hash key whose fields have no TTLs: BeginCollection
// for TypeHash. count is the field count, or -1 when not known. A field
// added with an ExpireAt is refused; see BeginHashWithFieldTTLs.
func (w *Writer) BeginHash(h KeyHeader, count int64) (*CollectionWriter, error) {
	return w.BeginCollection(h, TypeHash, CollectionInfo{Count: count})
}

// BeginHashWithFieldTTLs starts a hash key whose fields may carry TTLs
// (Element.ExpireAt; Redis 7.4 and later, or Policy DropFieldTTLs). Such
// a hash is spooled until Close, as the smallest TTL is stored before the
// fields.
func (w *Writer) BeginHashWithFieldTTLs(h KeyHeader, count int64) (*CollectionWriter, error) {
	return w.BeginCollection(h, TypeHash, CollectionInfo{Count: count, FieldTTLs: true})
}

func copyHeader(h KeyHeader) KeyHeader {
	h.Key = slices.Clone(h.Key)
	if h.Key == nil {
		h.Key = []byte{}
	}
	if len(h.KeyMeta) > 0 {
		m := make([]KeyMeta, len(h.KeyMeta))
		for i, k := range h.KeyMeta {
			m[i] = KeyMeta{Class: k.Class, Raw: slices.Clone(k.Raw)}
		}
		h.KeyMeta = m
	}
	return h
}

func (w *Writer) zsetPlainType() byte {
	if w.t.at(8) {
		return typeZSet2
	}
	return typeZSet
}

func (w *Writer) hasFieldTTLs() bool { return w.t.valkey() || w.t.at(12) }

// Add adds one element: Member for lists and sets, Member and Score for
// sorted sets, Member, Value and optionally ExpireAt for hashes.
func (c *CollectionWriter) Add(e Element) error {
	if c.err != nil {
		return c.err
	}
	c.err = c.add(&e)
	return c.err
}

func (c *CollectionWriter) add(e *Element) error {
	w := c.w
	if c.typ == TypeZSet && math.IsNaN(e.Score) {
		return fmt.Errorf("rdb: key %q: sorted set member %q has a NaN score", c.h.Key, e.Member)
	}
	if c.typ == TypeHash && e.ExpireAt != 0 {
		if !w.hasFieldTTLs() {
			if w.opt.Policy&DropFieldTTLs == 0 {
				return fmt.Errorf("rdb: key %q: hash field %q: %w: %v has no hash field TTLs (RDB 12+; DropFieldTTLs keeps the fields without TTL)", c.h.Key, e.Member, ErrUnsupported, w.t)
			}
			if e.ExpireAt <= c.now {
				if c.direct {
					return fmt.Errorf("rdb: key %q: hash field %q has expired and would be dropped, but the hash's field count was already written: begin the hash with BeginHashWithFieldTTLs", c.h.Key, e.Member)
				}
				w.stats.DroppedExpiredFields++
				c.expiredFields++
				return nil
			}
			w.stats.DroppedFieldTTLs++
			e.ExpireAt = 0
		} else {
			if c.direct {
				return fmt.Errorf("rdb: key %q: hash field %q has a TTL but the hash was begun without field TTLs (BeginHashWithFieldTTLs, CollectionInfo.FieldTTLs)", c.h.Key, e.Member)
			}
			if !c.anyTTL || e.ExpireAt < c.minTTL {
				c.minTTL = e.ExpireAt
			}
			c.anyTTL = true
		}
	}
	c.n++
	if c.ql != nil {
		return c.ql.add(e.Member, c.memInt, c.memIntV)
	}
	if c.direct {
		if err := c.checkMember(e.Member); err != nil {
			return err
		}
		o := &w.o
		switch c.typ {
		case TypeList, TypeSet:
			c.memberStr(e.Member)
		case TypeZSet:
			c.memberStr(e.Member)
			if w.t.at(8) {
				var b [8]byte
				binary.LittleEndian.PutUint64(b[:], math.Float64bits(e.Score))
				o.small(b[:])
			} else {
				o.buf = appendTextScore(o.buf, e.Score)
			}
		case TypeHash:
			c.memberStr(e.Member)
			w.strFrom(e.Value, &w.src.elem[1])
		}
		return o.err
	}
	l := len(e.Member)
	if c.typ == TypeHash && len(e.Value) > l {
		l = len(e.Value)
	}
	c.maxLen = max(c.maxLen, l)
	if c.typ == TypeSet && (c.allInts || !c.intsDone) {
		v, ok := c.memIntV, c.memInt
		if !ok {
			v, ok = compact.ParseRedisInt(e.Member)
		}
		if c.allInts {
			if ok && c.n <= int64(c.w.lim.SetMaxIntsetEntries) {
				c.ints = append(c.ints, v)
			} else {
				c.allInts = false
			}
		}
		if !c.intsDone {
			if ok {
				c.nInts++
			} else {
				c.intsDone = true
			}
		}
	}
	c.fb = appendFramed(c.fb[:0], e, c.typ)
	return c.sp.write(c.fb)
}

// memberStr writes the member m of the element being added as an RDB
// string, as w.strFrom(m, &w.src.elem[0]) does. When c.memInt says m is the
// canonical decimal text of c.memIntV, the integer is used without parsing
// m: such text is at most 20 bytes, so never copied in a stored form
// (storedOK), and out.str gives it the 32-bit integer form exactly when the
// value fits 32 bits (its text then being at most 11 bytes).
func (c *CollectionWriter) memberStr(m []byte) {
	w := c.w
	if c.memInt {
		if v := c.memIntV; v >= -(1<<31) && v <= 1<<31-1 {
			o := &w.o
			o.buf = appendIntEnc(o.buf, v)
			o.maybeFlush()
			return
		}
	}
	w.strFrom(m, &w.src.elem[0])
}

// Close writes the collection and releases its spool.
func (c *CollectionWriter) Close() error {
	defer c.sp.release()
	defer c.releaseMembers()
	w := c.w
	w.inValue = false
	if c.err != nil {
		return c.err
	}
	if c.direct && c.n != c.declared {
		return fmt.Errorf("rdb: key %q: %d elements declared, %d added: the file would be corrupt", c.h.Key, c.declared, c.n)
	}
	if c.direct {
		if err := c.finishMembers(); err != nil {
			return err
		}
		return w.o.err
	}
	if c.n == 0 {
		if c.expiredFields > 0 {
			// Every field had expired: the server would have deleted the
			// hash, so the key is left out. A DUMP payload must hold a
			// value: the caller skips the key.
			if w.payload {
				return fmt.Errorf("rdb: key %q: %w", c.h.Key, ErrAllFieldsExpired)
			}
			w.stats.DroppedExpiredKeys++
			return nil
		}
		// A server skips an empty collection when it loads a file (with
		// a log line) and loads the rest: so is it left out here, and
		// counted. A DUMP payload must hold a value: the caller skips it.
		if w.payload {
			return fmt.Errorf("rdb: key %q: empty %s: %w", c.h.Key, c.typ, ErrEmptyCollection)
		}
		w.stats.EmptyKeys++
		return nil
	}
	if c.ql != nil {
		return c.ql.finish(&c.h)
	}
	switch c.typ {
	case TypeList:
		return c.closeList6()
	case TypeSet:
		return c.closeSet()
	case TypeZSet:
		return c.closeZSet()
	}
	return c.closeHash()
}

func (c *CollectionWriter) elements(fn func(e Element) error) error {
	r, err := c.sp.reader()
	if err != nil {
		return err
	}
	fr := framedReader{r: r, typ: c.typ}
	for i := int64(0); i < c.n; i++ {
		e, err := fr.next()
		if err != nil {
			return fmt.Errorf("rdb: key %q: reading back spooled elements: %w", c.h.Key, err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (c *CollectionWriter) plainBody(typ byte) error {
	w := c.w
	if err := w.keyHeader(&c.h, typ); err != nil {
		return err
	}
	o := &w.o
	o.len(uint64(c.n))
	return c.plainElements(func(e Element) error {
		o.str(e.Member)
		return o.err
	})
}

// plainElements is elements for a value written in a plain encoding: the
// members of sets, sorted sets and hashes are checked for repeats.
func (c *CollectionWriter) plainElements(fn func(e Element) error) error {
	err := c.elements(func(e Element) error {
		if err := c.checkMember(e.Member); err != nil {
			return err
		}
		return fn(e)
	})
	if err != nil {
		return err
	}
	return c.finishMembers()
}

func (c *CollectionWriter) blob(typ byte, b []byte) error {
	w := c.w
	if err := w.keyHeader(&c.h, typ); err != nil {
		return err
	}
	w.strFrom(b, &w.src.blob)
	return w.o.err
}

func (c *CollectionWriter) closeList6() error {
	lim := &c.w.lim
	if c.n <= int64(lim.ListMaxZiplistEntries) && c.maxLen <= lim.ListMaxZiplistValue {
		var zb compact.ZiplistBuilder
		if err := c.elements(func(e Element) error { zb.Append(e.Member); return nil }); err != nil {
			return err
		}
		return c.blob(typeListZiplist, zb.Bytes())
	}
	return c.plainBody(typeList)
}

func (c *CollectionWriter) closeSet() error {
	w := c.w
	lim := &w.lim
	if c.allInts && c.n <= int64(lim.SetMaxIntsetEntries) {
		s := slices.Clone(c.ints)
		slices.Sort(s)
		for i := 1; i < len(s); i++ {
			if s[i] == s[i-1] {
				return fmt.Errorf("rdb: key %q: duplicate set member %d", c.h.Key, s[i])
			}
		}
		return c.blob(typeSetIntset, compact.BuildIntset(s))
	}
	if w.t.at(11) && c.n <= int64(lim.SetMaxListpackEntries) && c.maxLen <= lim.SetMaxListpackValue {
		// A server adding members one by one keeps an intset while they
		// are integers, then converts it (sorted) to a listpack.
		var ints []int64
		var rest [][]byte
		seen := w.seenMap()
		i := 0
		err := c.elements(func(e Element) error {
			if seen[string(e.Member)] {
				return fmt.Errorf("rdb: key %q: duplicate set member %q", c.h.Key, e.Member)
			}
			seen[string(e.Member)] = true
			if i < c.nInts && c.nInts <= lim.SetMaxIntsetEntries {
				v, _ := compact.ParseRedisInt(e.Member)
				ints = append(ints, v)
			} else {
				rest = append(rest, slices.Clone(e.Member))
			}
			i++
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(ints)
		var lb compact.ListpackBuilder
		for _, v := range ints {
			lb.AppendInt(v)
		}
		for _, m := range rest {
			lb.Append(m)
		}
		return c.blob(typeSetListpack, lb.Bytes())
	}
	return c.plainBody(typeSet)
}

type scored struct {
	m      []byte
	s      float64
	off, n int
}

func (c *CollectionWriter) closeZSet() error {
	w := c.w
	lim := &w.lim
	if c.n <= int64(lim.ZSetMaxEntries) && c.maxLen <= lim.ZSetMaxValue {
		// Members go to one reused arena; they are sliced once it is full.
		all, arena := w.zsAll[:0], w.zsArena[:0]
		if err := c.elements(func(e Element) error {
			all = append(all, scored{s: e.Score, off: len(arena), n: len(e.Member)})
			arena = append(arena, e.Member...)
			return nil
		}); err != nil {
			return err
		}
		for i := range all {
			all[i].m = arena[all[i].off : all[i].off+all[i].n : all[i].off+all[i].n]
		}
		w.zsAll, w.zsArena = all, arena
		slices.SortFunc(all, func(a, b scored) int {
			if a.s != b.s {
				if a.s < b.s {
					return -1
				}
				return 1
			}
			return bytes.Compare(a.m, b.m)
		})
		// By score first: one member given twice with two scores is not
		// in neighbouring places.
		seen := w.seenMap()
		for _, e := range all {
			if seen[string(e.m)] {
				return fmt.Errorf("rdb: key %q: duplicate sorted set member %q", c.h.Key, e.m)
			}
			seen[string(e.m)] = true
		}
		if w.t.at(10) {
			var lb compact.ListpackBuilder
			for _, e := range all {
				lb.Append(e.m)
				if v, ok := double2ll(e.s); ok {
					lb.AppendInt(v)
				} else {
					w.scoreBuf = w.appendScoreText(w.scoreBuf[:0], e.s)
					lb.Append(w.scoreBuf)
				}
			}
			return c.blob(typeZSetListpack, lb.Bytes())
		}
		var zb compact.ZiplistBuilder
		for _, e := range all {
			zb.Append(e.m)
			zb.Append(d2stringOld(e.s))
		}
		return c.blob(typeZSetZiplist, zb.Bytes())
	}
	typ := w.zsetPlainType()
	if err := w.keyHeader(&c.h, typ); err != nil {
		return err
	}
	o := &w.o
	o.len(uint64(c.n))
	return c.plainElements(func(e Element) error {
		o.str(e.Member)
		if typ == typeZSet2 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(e.Score))
			o.small(b[:])
		} else {
			o.buf = appendTextScore(o.buf, e.Score)
		}
		return o.err
	})
}

type hfield struct {
	f, v []byte
	at   int64
}

func (c *CollectionWriter) closeHash() error {
	w := c.w
	lim := &w.lim
	compactOK := c.n <= int64(lim.HashMaxEntries) && c.maxLen <= lim.HashMaxValue
	o := &w.o
	if c.anyTTL && w.t.valkey() {
		// Valkey 9: field, value, absolute expiry (-1 for none).
		if err := w.keyHeader(&c.h, valkeyTypeHash2); err != nil {
			return err
		}
		o.len(uint64(c.n))
		return c.plainElements(func(e Element) error {
			o.str(e.Member)
			o.str(e.Value)
			at := e.ExpireAt
			if at == 0 {
				at = -1
			}
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], uint64(at))
			o.small(b[:])
			return o.err
		})
	}
	if c.anyTTL {
		var minb [8]byte
		binary.LittleEndian.PutUint64(minb[:], uint64(c.minTTL))
		if compactOK {
			// listpackex: fields with a TTL ordered by it (each inserted
			// before the first field whose TTL is not smaller), then the
			// fields without one.
			var withTTL, without []hfield
			if err := c.elements(func(e Element) error {
				f := hfield{slices.Clone(e.Member), slices.Clone(e.Value), e.ExpireAt}
				if f.at == 0 {
					without = append(without, f)
				} else {
					withTTL = append(withTTL, f)
				}
				return nil
			}); err != nil {
				return err
			}
			// A stable sort keeps a listpackex read from a file (already in
			// the server's order, ties included) unchanged.
			sorted := withTTL
			slices.SortStableFunc(sorted, func(a, b hfield) int {
				switch {
				case a.at < b.at:
					return -1
				case a.at > b.at:
					return 1
				}
				return 0
			})
			sorted = append(sorted, without...)
			var lb compact.ListpackBuilder
			seen := map[string]bool{}
			for _, f := range sorted {
				if seen[string(f.f)] {
					return fmt.Errorf("rdb: key %q: duplicate hash field %q", c.h.Key, f.f)
				}
				seen[string(f.f)] = true
				lb.Append(f.f)
				lb.Append(f.v)
				lb.AppendInt(f.at)
			}
			if err := w.keyHeader(&c.h, typeHashListpackEx); err != nil {
				return err
			}
			o.small(minb[:])
			w.strFrom(lb.Bytes(), &w.src.blob)
			return o.err
		}
		if err := w.keyHeader(&c.h, typeHashMetadata); err != nil {
			return err
		}
		o.small(minb[:])
		o.len(uint64(c.n))
		return c.plainElements(func(e Element) error {
			if e.ExpireAt == 0 {
				o.len(0)
			} else {
				o.len(uint64(e.ExpireAt-c.minTTL) + 1)
			}
			o.str(e.Member)
			o.str(e.Value)
			return o.err
		})
	}
	if compactOK {
		seen := w.seenMap()
		lb, zb := &w.lb, &w.zb
		lb.Reset()
		zb.Reset()
		lp := w.t.at(10)
		if err := c.elements(func(e Element) error {
			if seen[string(e.Member)] {
				return fmt.Errorf("rdb: key %q: duplicate hash field %q", c.h.Key, e.Member)
			}
			seen[string(e.Member)] = true
			if lp {
				lb.Append(e.Member)
				lb.Append(e.Value)
			} else {
				zb.Append(e.Member)
				zb.Append(e.Value)
			}
			return nil
		}); err != nil {
			return err
		}
		if lp {
			return c.blob(typeHashListpack, lb.Bytes())
		}
		return c.blob(typeHashZiplist, zb.Bytes())
	}
	if err := w.keyHeader(&c.h, typeHash); err != nil {
		return err
	}
	o.len(uint64(c.n))
	return c.plainElements(func(e Element) error {
		o.str(e.Member)
		o.str(e.Value)
		return o.err
	})
}

// ---- scores ----

// double2ll is Redis 7's double2ll: integral values within ±LLONG_MAX/2.
func double2ll(d float64) (int64, bool) {
	if d < float64(-math.MaxInt64/2) || d > float64(math.MaxInt64/2) {
		return 0, false
	}
	ll := int64(d)
	if float64(ll) == d {
		return ll, true
	}
	return 0, false
}

// d2stringOld is d2string of Redis 2.8 to 6.2.
func d2stringOld(d float64) []byte {
	switch {
	case math.IsNaN(d):
		return []byte("nan")
	case math.IsInf(d, 1):
		return []byte("inf")
	case math.IsInf(d, -1):
		return []byte("-inf")
	case d == 0:
		if math.Signbit(d) {
			return []byte("-0")
		}
		return []byte("0")
	}
	if d > -4503599627370495 && d < 4503599627370496 && d == float64(int64(d)) {
		return strconv.AppendInt(nil, int64(d), 10)
	}
	return []byte(strconv.FormatFloat(d, 'g', 17, 64))
}

// appendScoreText appends scoreText(d).
func (w *Writer) appendScoreText(dst []byte, d float64) []byte {
	if !w.t.at(11) && !math.IsInf(d, 0) {
		return strconv.AppendFloat(dst, d, 'g', 17, 64)
	}
	return append(dst, w.scoreText(d)...)
}

// scoreText is the d2string of the target for scores that are not integral.
func (w *Writer) scoreText(d float64) []byte {
	switch {
	case math.IsInf(d, 1):
		return []byte("inf")
	case math.IsInf(d, -1):
		return []byte("-inf")
	}
	if w.t.at(11) {
		return fpconvDtoa(d)
	}
	return []byte(strconv.FormatFloat(d, 'g', 17, 64))
}

// fpconvDtoa formats like Redis 7.2's fpconv_dtoa: shortest digits, plain
// notation for moderate exponents, else d.ddde±x with no exponent padding.
func fpconvDtoa(d float64) []byte {
	if d == 0 {
		if math.Signbit(d) {
			return []byte("-0")
		}
		return []byte("0")
	}
	var out []byte
	if math.Signbit(d) {
		out = append(out, '-')
		d = -d
	}
	if math.IsInf(d, 0) {
		return append(out, "inf"...)
	}
	if math.IsNaN(d) {
		return append(out, "nan"...)
	}
	e := strconv.FormatFloat(d, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := bytes.Cut([]byte(e), []byte("e"))
	digits := bytes.Replace(mant, []byte("."), nil, 1)
	x, _ := strconv.Atoi(string(exps))
	nd := len(digits)
	K := x - (nd - 1)
	exp := K + nd - 1
	if exp < 0 {
		exp = -exp
	}
	if K >= 0 && exp < nd+7 {
		out = append(out, digits...)
		for i := 0; i < K; i++ {
			out = append(out, '0')
		}
		return out
	}
	if K < 0 && (K > -7 || exp < 4) {
		offset := nd + K
		if offset <= 0 {
			out = append(out, '0', '.')
			for i := 0; i < -offset; i++ {
				out = append(out, '0')
			}
			return append(out, digits...)
		}
		out = append(out, digits[:offset]...)
		out = append(out, '.')
		return append(out, digits[offset:]...)
	}
	out = append(out, digits[0])
	if nd > 1 {
		out = append(out, '.')
		out = append(out, digits[1:]...)
	}
	out = append(out, 'e')
	if K+nd-1 < 0 {
		out = append(out, '-')
	} else {
		out = append(out, '+')
	}
	return strconv.AppendInt(out, int64(exp), 10)
}

// appendTextScore is rdbSaveDoubleValue (RDB < 8 sorted sets).
func appendTextScore(b []byte, d float64) []byte {
	switch {
	case math.IsNaN(d):
		return append(b, 253)
	case math.IsInf(d, 1):
		return append(b, 254)
	case math.IsInf(d, -1):
		return append(b, 255)
	}
	var s []byte
	if d > -4503599627370495 && d < 4503599627370496 && d == float64(int64(d)) {
		s = strconv.AppendInt(nil, int64(d), 10)
	} else {
		s = strconv.AppendFloat(nil, d, 'g', 17, 64)
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}

// ---- quicklists ----

// qlBuilder cuts a list into quicklist nodes as the target server does when
// elements are pushed at the tail, and spools the encoded nodes.
type qlBuilder struct {
	w      *Writer
	v2     bool // RDB 10+: listpack nodes with a container byte
	lb     compact.ListpackBuilder
	zb     compact.ZiplistBuilder
	count  int
	nodes  uint64
	first  bool // still the first node of a 7.2+ list (a plain listpack)
	sp     spool
	enc    []byte
	lzf    []byte
	nodeSz int
}

func newQLBuilder(w *Writer) *qlBuilder {
	q := &qlBuilder{w: w, v2: w.t.at(10), first: w.t.at(11)}
	q.sp.limit, q.sp.dir = w.opt.SpoolMemory, w.opt.SpoolDir
	return q
}

func (q *qlBuilder) reset() {
	q.lb.Reset()
	q.zb.Reset()
	q.count, q.nodes, q.nodeSz = 0, 0, 0
	q.sp.release()
}

var optimizationLevel = [...]int{4096, 8192, 16384, 32768, 65536}

func sizeLimit(fill int) int {
	off := -fill - 1
	if off >= len(optimizationLevel) {
		off = len(optimizationLevel) - 1
	}
	return optimizationLevel[off]
}

// allow reports whether an element of sz bytes joins the current node.
func (q *qlBuilder) allow(sz int) bool {
	if q.count == 0 {
		return false
	}
	fill := q.w.lim.ListMaxSize
	cur := q.nodeSz
	switch {
	case q.w.t.at(11):
		if q.first && q.nodes == 0 {
			// listTypeTryConvertListpack: the list is still one listpack.
			return !exceedsLimit(fill, cur+sz, q.count+1)
		}
		return !exceedsLimit(fill, cur+sz+8, q.count+1)
	case q.v2:
		newSz := cur + sz + 8
		if fill < 0 && newSz <= sizeLimit(fill) {
			return true
		}
		if newSz > 8192 {
			return false
		}
		return q.count < fill
	}
	ov := 1
	if sz >= 254 {
		ov = 5
	}
	switch {
	case sz < 64:
		ov++
	case sz < 16384:
		ov += 2
	default:
		ov += 5
	}
	newSz := cur + sz + ov
	if fill < 0 && newSz <= sizeLimit(fill) {
		return true
	}
	if newSz > 8192 {
		return false
	}
	return q.count < fill
}

func exceedsLimit(fill, newSz, newCount int) bool {
	if fill < 0 {
		return newSz > sizeLimit(fill)
	}
	if newSz > 8192 {
		return true
	}
	cl := fill
	if cl == 0 {
		cl = 1
	}
	return newCount > cl
}

// add adds the list element elem. When isInt, elem is the canonical decimal
// text of iv (see CollectionWriter.memInt), or nil for that text (the
// reader's valueState.lazyInt): Append would parse it back to iv and store
// it with AppendInt, which is called directly.
func (q *qlBuilder) add(elem []byte, isInt bool, iv int64) error {
	n := len(elem)
	if isInt && elem == nil {
		n = decLen(iv)
		if q.v2 && n >= q.w.lim.ListPackedThreshold {
			var tmp [20]byte
			elem = appendInt(tmp[:0], iv)
		}
	}
	if q.v2 && n >= q.w.lim.ListPackedThreshold {
		if err := q.flushNode(); err != nil {
			return err
		}
		q.enc = appendLen(q.enc[:0], 1) // PLAIN
		q.enc = encStr(q.enc, elem, q.w.o.compress, &q.lzf)
		q.nodes++
		return q.sp.write(q.enc)
	}
	if !q.allow(n) {
		if err := q.flushNode(); err != nil {
			return err
		}
	}
	switch {
	case q.v2 && isInt:
		q.lb.AppendInt(iv)
		q.nodeSz = len(q.lb.Bytes())
	case q.v2:
		q.lb.Append(elem)
		q.nodeSz = len(q.lb.Bytes())
	case isInt:
		q.zb.AppendInt(iv)
		q.nodeSz = len(q.zb.Bytes())
	default:
		q.zb.Append(elem)
		q.nodeSz = len(q.zb.Bytes())
	}
	q.count++
	return nil
}

// decLen returns the length of v's decimal text, len(appendInt(nil, v)).
func decLen(v int64) int {
	n, u := 0, uint64(v)
	if v < 0 {
		n, u = 1, -u
	}
	d := 1
	for d < len(pow10) && u >= pow10[d] {
		d++
	}
	return n + d
}

// pow10[i] is 10^i, up to the largest power of ten below 2^64.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func (q *qlBuilder) flushNode() error {
	if q.count == 0 {
		return nil
	}
	q.enc = q.enc[:0]
	var blob []byte
	if q.v2 {
		q.enc = appendLen(q.enc, 2) // PACKED
		blob = q.lb.Bytes()
	} else {
		blob = q.zb.Bytes()
	}
	if st := q.w.storedNode(blob); st != nil {
		q.enc = appendStored(q.enc, blob, st)
	} else {
		q.enc = encStr(q.enc, blob, q.w.o.compress, &q.lzf)
	}
	q.lb.Reset()
	q.zb.Reset()
	q.count, q.nodeSz = 0, 0
	q.nodes++
	return q.sp.write(q.enc)
}

func (q *qlBuilder) finish(h *KeyHeader) error {
	defer q.sp.release()
	if err := q.flushNode(); err != nil {
		return err
	}
	w := q.w
	typ := byte(typeListQuicklist)
	if q.v2 {
		typ = typeListQuicklist2
	}
	if err := w.keyHeader(h, typ); err != nil {
		return err
	}
	w.o.len(q.nodes)
	return q.sp.copyTo(&w.o)
}

// ---- streams ----

// StreamWriter receives the entries of one stream: Add each entry in ID
// order, then Close with the stream's metadata.
type StreamWriter struct {
	w     *Writer
	h     KeyHeader
	n     uint64
	last  StreamID
	first StreamID
	err   error

	master       StreamID
	masterFields [][]byte
	body         compact.ListpackBuilder
	nodeCount    int
	open         bool
	nodes        uint64
	sp           spool
	enc, lzf     []byte
}

// BeginStream starts a stream key (RDB 9+).
func (w *Writer) BeginStream(h KeyHeader) (*StreamWriter, error) {
	if err := w.begin(); err != nil {
		return nil, err
	}
	if !w.t.at(9) {
		return nil, fmt.Errorf("rdb: key %q: %w: streams need RDB 9+", h.Key, ErrUnsupported)
	}
	if err := w.checkKeyMeta(&h); err != nil {
		return nil, err
	}
	s := &StreamWriter{w: w, h: copyHeader(h)}
	s.sp.limit, s.sp.dir = w.opt.SpoolMemory, w.opt.SpoolDir
	w.inValue = true
	return s, nil
}

// masterSize is the byte size of a node's master entry for count entries.
func (s *StreamWriter) nodeBytes() int {
	var lb compact.ListpackBuilder
	s.masterInto(&lb)
	return len(lb.Bytes()) - 7 + len(s.body.Bytes())
}

func (s *StreamWriter) masterInto(lb *compact.ListpackBuilder) {
	lb.AppendInt(int64(s.nodeCount))
	lb.AppendInt(0)
	lb.AppendInt(int64(len(s.masterFields)))
	for _, f := range s.masterFields {
		lb.Append(f)
	}
	lb.AppendInt(0)
}

// Add appends an entry; IDs must increase.
func (s *StreamWriter) Add(e StreamEntry) error {
	if s.err != nil {
		return s.err
	}
	s.err = s.add(e)
	return s.err
}

func (s *StreamWriter) add(e StreamEntry) error {
	if len(e.Fields)%2 != 0 {
		return fmt.Errorf("rdb: stream %q: entry %s has an odd number of field/value strings", s.h.Key, e.ID)
	}
	if s.n > 0 && (e.ID.Ms < s.last.Ms || (e.ID.Ms == s.last.Ms && e.ID.Seq <= s.last.Seq)) {
		return fmt.Errorf("rdb: stream %q: entry %s does not follow %s", s.h.Key, e.ID, s.last)
	}
	lim := &s.w.lim
	tot := 0
	for _, f := range e.Fields {
		tot += len(f)
	}
	if s.open {
		maxBytes := lim.StreamNodeMaxBytes
		if maxBytes == 0 || maxBytes > 1<<30 {
			maxBytes = 1 << 30
		}
		if s.nodeBytes()+tot >= maxBytes || (lim.StreamNodeMaxEntries > 0 && s.nodeCount >= lim.StreamNodeMaxEntries) {
			if err := s.flushNode(); err != nil {
				return err
			}
		}
	}
	nf := len(e.Fields) / 2
	flags := int64(0)
	if !s.open {
		s.open = true
		s.master = e.ID
		s.masterFields = s.masterFields[:0]
		for i := 0; i < nf; i++ {
			s.masterFields = append(s.masterFields, slices.Clone(e.Fields[2*i]))
		}
		flags = streamFlagSameFields
	} else if nf == len(s.masterFields) {
		same := true
		for i := 0; i < nf; i++ {
			if !bytes.Equal(e.Fields[2*i], s.masterFields[i]) {
				same = false
				break
			}
		}
		if same {
			flags = streamFlagSameFields
		}
	}
	b := &s.body
	b.AppendInt(flags)
	b.AppendInt(int64(e.ID.Ms - s.master.Ms))
	b.AppendInt(int64(e.ID.Seq - s.master.Seq))
	if flags == 0 {
		b.AppendInt(int64(nf))
	}
	for i := 0; i < nf; i++ {
		if flags == 0 {
			b.Append(e.Fields[2*i])
		}
		b.Append(e.Fields[2*i+1])
	}
	lpCount := int64(nf) + 3 // values, and flags, ms and seq deltas
	if flags == 0 {
		lpCount += int64(nf) + 1
	}
	b.AppendInt(lpCount)
	s.nodeCount++
	if s.n == 0 {
		s.first = e.ID
	}
	s.n++
	s.last = e.ID
	return nil
}

// streamFieldsSet names a metadata field of layout 2 or later that info
// sets, or returns "".
func streamFieldsSet(info *StreamInfo) string {
	switch {
	case info.FirstID != StreamID{}:
		return "FirstID"
	case info.MaxDeletedID != StreamID{}:
		return "MaxDeletedID"
	case info.EntriesAdded != 0:
		return "EntriesAdded"
	case info.IDMP != nil:
		return "IDMP"
	}
	for _, g := range info.Groups {
		if g.EntriesRead > 0 {
			return "a group's EntriesRead"
		}
		for _, c := range g.Consumers {
			if c.ActiveTime > 0 {
				return "a consumer's ActiveTime"
			}
		}
	}
	return ""
}

func (s *StreamWriter) flushNode() error {
	if !s.open {
		return nil
	}
	var lb compact.ListpackBuilder
	s.masterInto(&lb)
	head := lb.Bytes()
	body := s.body.Bytes()
	node := make([]byte, 0, len(head)+len(body))
	node = append(node, head[:len(head)-1]...)
	node = append(node, body[6:]...)
	binary.LittleEndian.PutUint32(node, uint32(len(node)))
	cnt := lb.Len() + s.body.Len()
	if cnt >= 65535 {
		cnt = 65535
	}
	binary.LittleEndian.PutUint16(node[4:], uint16(cnt))
	var key [16]byte
	binary.BigEndian.PutUint64(key[:], s.master.Ms)
	binary.BigEndian.PutUint64(key[8:], s.master.Seq)
	s.enc = encStr(s.enc[:0], key[:], s.w.o.compress, &s.lzf)
	s.enc = encStr(s.enc, node, s.w.o.compress, &s.lzf)
	s.body.Reset()
	s.nodeCount = 0
	s.open = false
	s.nodes++
	return s.sp.write(s.enc)
}

// streamLayout returns the stream version (1-4) the target writes.
func (w *Writer) streamLayout(info *StreamInfo) int {
	switch {
	case w.t.valkey():
		return 3
	case w.t.at(13) && info.IDMP != nil:
		return 4
	case w.t.at(11):
		return 3
	case w.t.at(10):
		return 2
	}
	return 1
}

// Close writes the stream with info's metadata (LastID, groups, ...).
// Length is taken from the entries added. info.Version says which layout
// the metadata comes from: fields that layout lacks (FirstID,
// MaxDeletedID, EntriesAdded and the groups' EntriesRead before layout 2,
// consumers' ActiveTime before 3) are derived as a server loading it does.
// Version 0 means layout 1 and is refused when any of those fields is set,
// rather than silently replacing them.
func (s *StreamWriter) Close(info *StreamInfo) error {
	defer s.sp.release()
	w := s.w
	w.inValue = false
	if s.err != nil {
		return s.err
	}
	if info == nil {
		info = &StreamInfo{Version: 1, LastID: s.last}
	}
	if err := s.flushNode(); err != nil {
		return err
	}
	layout := w.streamLayout(info)
	src := info.Version
	if src == 0 {
		if f := streamFieldsSet(info); f != "" {
			return fmt.Errorf("rdb: stream %q: StreamInfo.Version is 0 but %s is set: give the layout the metadata comes from (1 to 4), or leave it zero to have it derived as a server loading layout 1 does", s.h.Key, f)
		}
		src = 1
	}
	lossy := src > layout && !(src == 4 && info.IDMP == nil && layout == 3)
	if src == 4 && info.IDMP != nil && layout < 4 {
		lossy = true
	}
	if lossy {
		if w.opt.Policy&DowngradeStreams == 0 {
			return fmt.Errorf("rdb: stream %q: %w: its layout %d carries metadata that %v's layout %d lacks (DowngradeStreams leaves it out)", s.h.Key, ErrUnsupported, src, w.t, layout)
		}
		w.stats.DowngradedStreams++
	}
	typ := [...]byte{0, typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3, typeStreamListpacks4}[layout]
	if err := w.keyHeader(&s.h, typ); err != nil {
		return err
	}
	o := &w.o
	o.len(s.nodes)
	if err := s.sp.copyTo(o); err != nil {
		return err
	}
	last := info.LastID
	if last.Compare(s.last) < 0 {
		last = s.last
	}
	o.len(s.n)
	o.len(last.Ms)
	o.len(last.Seq)
	// Metadata of layouts 2+, derived as a server loading layout 1 does.
	first, maxDel, added := info.FirstID, info.MaxDeletedID, info.EntriesAdded
	if src < 2 {
		first, maxDel, added = StreamID{}, StreamID{}, s.n
		if s.n > 0 {
			first = s.first
		}
	}
	if layout >= 2 {
		o.len(first.Ms)
		o.len(first.Seq)
		o.len(maxDel.Ms)
		o.len(maxDel.Seq)
		o.len(added)
	}
	o.len(uint64(len(info.Groups)))
	for _, g := range info.Groups {
		o.str(g.Name)
		o.len(g.LastID.Ms)
		o.len(g.LastID.Seq)
		if layout >= 2 {
			er := g.EntriesRead
			if src < 2 {
				er = estimateEntriesRead(s.n, added, last, first, maxDel, g.LastID)
			}
			o.len(uint64(er))
		}
		o.len(uint64(len(g.Pending)))
		for _, p := range g.Pending {
			var b [24]byte
			binary.BigEndian.PutUint64(b[:], p.ID.Ms)
			binary.BigEndian.PutUint64(b[8:], p.ID.Seq)
			binary.LittleEndian.PutUint64(b[16:], uint64(p.DeliveryTime))
			o.small(b[:])
			o.len(p.DeliveryCount)
		}
		o.len(uint64(len(g.Consumers)))
		for _, c := range g.Consumers {
			o.str(c.Name)
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], uint64(c.SeenTime))
			o.small(b[:])
			if layout >= 3 {
				at := c.ActiveTime
				if src < 3 {
					at = c.SeenTime
				}
				binary.LittleEndian.PutUint64(b[:], uint64(at))
				o.small(b[:])
			}
			o.len(uint64(len(c.Pending)))
			for _, id := range c.Pending {
				var k [16]byte
				binary.BigEndian.PutUint64(k[:], id.Ms)
				binary.BigEndian.PutUint64(k[8:], id.Seq)
				o.small(k[:])
			}
		}
	}
	if layout == 4 {
		m := info.IDMP
		o.len(m.Duration)
		o.len(m.MaxEntries)
		o.len(uint64(len(m.Producers)))
		for _, p := range m.Producers {
			o.str(p.PID)
			o.len(uint64(len(p.Entries)))
			for _, e := range p.Entries {
				o.str(e.IID)
				o.len(e.ID.Ms)
				o.len(e.ID.Seq)
			}
		}
		o.len(m.IIDsAdded)
		o.len(m.IIDsDuplicates)
	}
	return o.err
}

// estimateEntriesRead is streamEstimateDistanceFromFirstEverEntry.
func estimateEntriesRead(length, added uint64, last, first, maxDel, id StreamID) int64 {
	if added == 0 {
		return 0
	}
	if length == 0 && id.Compare(last) < 1 {
		return int64(added)
	}
	switch c := id.Compare(last); {
	case c == 0:
		return int64(added)
	case c > 0:
		return -1
	}
	cmpFirst := id.Compare(first)
	if (maxDel == StreamID{}) || maxDel.Compare(first) < 0 {
		if cmpFirst < 0 {
			return int64(added - length)
		} else if cmpFirst == 0 {
			return int64(added - length + 1)
		}
	}
	return -1
}

// ---- whole values and transcoding ----

// WriteValue writes a whole value held in memory.
func (w *Writer) WriteValue(h KeyHeader, v *Value) error {
	switch v.Type {
	case TypeString:
		return w.WriteString(h, v.String)
	case TypeModule:
		return w.WriteModule(h, v.Module)
	case TypeStream:
		sw, err := w.BeginStream(h)
		if err != nil {
			return err
		}
		for _, e := range v.Stream.Entries {
			if err := sw.Add(e); err != nil {
				w.inValue = false
				return err
			}
		}
		info := v.Stream.StreamInfo
		return sw.Close(&info)
	}
	var n int64
	ttl := false
	switch v.Type {
	case TypeList, TypeSet:
		n = int64(len(v.Items))
	case TypeZSet:
		n = int64(len(v.ZSet))
	case TypeHash:
		n = int64(len(v.Hash))
		for _, f := range v.Hash {
			ttl = ttl || f.ExpireAt != 0
		}
	}
	cw, err := w.BeginCollection(h, v.Type, CollectionInfo{Count: n, FieldTTLs: ttl})
	if err != nil {
		return err
	}
	switch v.Type {
	case TypeList, TypeSet:
		for _, it := range v.Items {
			cw.Add(Element{Member: it})
		}
	case TypeZSet:
		for _, z := range v.ZSet {
			cw.Add(Element{Member: z.Member, Score: z.Score})
		}
	case TypeHash:
		for _, f := range v.Hash {
			cw.Add(Element{Member: f.Field, Value: f.Value, ExpireAt: f.ExpireAt})
		}
	}
	return cw.Close()
}

// CopyValue transcodes the current key of r (rec is what r.Next returned)
// into the target format under the header h, streaming its elements: the
// value is re-encoded element by element in the encoding the target would
// choose. Where a string, compact blob or quicklist node comes out
// byte-identical to what the source stored, the source's stored form
// (LZF-compressed or verbatim) is copied instead of being compressed
// again, when that provably gives the same bytes: the source's LZF output
// is known to match ours (RDB 7 and later) and, for a string stored
// verbatim, the source shows it saved with compression on.
// WriterOptions.Recompress turns this off; the output is the same.
//
// CopyKey is CopyValue with the key's own header; CopyRecord and Copy
// handle the records around keys.
func (w *Writer) CopyValue(r *Reader, rec *Record, h KeyHeader) error {
	w.beginCopy(r)
	defer func() {
		w.copying, r.val.src, w.cw.memInt = false, nil, false
		r.val.lazyInt, r.val.memInt = false, false
	}()
	switch rec.Type {
	case TypeString:
		var st storedStr
		r.val.src = &w.src // see srcForms
		s, err := r.ReadString()
		if err != nil {
			return err
		}
		w.src.keep(&st, s, false)
		if st.lzf {
			w.src.lzfSeen = true
		}
		if err := w.begin(); err != nil {
			return err
		}
		if err := w.checkKeyMeta(&h); err != nil {
			return err
		}
		if err := w.keyHeader(&h, typeString); err != nil {
			return err
		}
		w.strFrom(s, &st)
		return w.o.err
	case TypeModule:
		m, err := r.Module()
		if err != nil {
			return err
		}
		return w.WriteModule(h, m)
	case TypeStream:
		sw, err := w.BeginStream(h)
		if err != nil {
			return err
		}
		for {
			e, err := r.NextStreamEntry()
			if err == io.EOF {
				break
			}
			if err == nil {
				err = sw.Add(e)
			}
			if err != nil {
				w.inValue = false
				sw.sp.release()
				return err
			}
		}
		info, err := r.Stream()
		if err != nil {
			w.inValue = false
			sw.sp.release()
			return err
		}
		return sw.Close(info)
	}
	info := CollectionInfo{Count: -1}
	if n, ok := r.Len(); ok {
		info.Count = int64(n)
	}
	switch rec.RDBType {
	case typeHashMetadataPreGA, typeHashListpackExPreGA, typeHashMetadata, typeHashListpackEx:
		// Redis 7.4 hashes with field TTLs; Valkey's code 22 too.
		info.FieldTTLs = rec.Type == TypeHash
	}
	cw, err := w.BeginCollection(h, rec.Type, info)
	if err != nil {
		return err
	}
	// The reader records the stored forms of the strings it reads in
	// w.src, for cw.Add and cw.Close.
	r.val.src = &w.src
	// Integers of a list's compact entries go to the quicklist builder as
	// such; see qlBuilder.add.
	r.val.lazyInt = cw.ql != nil
	if copyFastPaths {
		if handled, err := w.copyCompact(r, cw); handled {
			return err
		}
	}
	for {
		if cw.direct && copyFastPaths && r.val.started {
			w.copyPlainRun(r, cw)
		}
		e, err := r.NextElement()
		if err == io.EOF {
			break
		}
		if err == nil {
			cw.memInt, cw.memIntV = r.val.memInt, r.val.memIntV
			if err = cw.err; err == nil {
				err = cw.add(&e)
				cw.err = err
			}
		}
		if err != nil {
			w.inValue = false
			cw.sp.release()
			cw.releaseMembers()
			if cw.ql != nil {
				cw.ql.sp.release()
			}
			return err
		}
	}
	return cw.Close()
}

// beginCopy prepares for copying the current value of r.
func (w *Writer) beginCopy(r *Reader) {
	if w.srcReader != r {
		w.srcReader = r
		w.src.lzfSeen = false
		// Redis 2.8 (and so RDB 6) bundles a liblzf whose output differs.
		w.srcTrusted = r.dialect == DialectValkey || r.version >= 7
	}
	w.src.reset()
	w.copying = !w.opt.Recompress
}

// storedOK reports whether b, about to be written as an RDB string, may be
// written in the form st in which the source stored the same bytes, the
// result being byte-identical to encoding b here:
//
//   - only while CopyValue copies a value, with compression on, for strings
//     longer than 20 bytes (shorter ones are never compressed: the ordinary
//     path is as cheap) whose bytes equal what the source stored;
//   - the source's LZF output must be byte-identical to ours: files of RDB
//     7 or later (Redis 3.2+) and Valkey's (Redis 2.8 bundles another
//     liblzf). Then a string the source stored LZF-compressed within Redis's
//     bound (at most 4 bytes less than the string) is what compressing it
//     here gives, LZF being deterministic;
//   - a string the source stored verbatim is one its compression could not
//     shrink by 4 bytes, provided the source compressed at all: a server
//     saves a whole snapshot under one rdbcompression setting, so this is
//     taken as shown once the source has stored a string LZF-compressed
//     that was not a quicklist node (those can be LZF from
//     list-compress-depth with rdbcompression off).
func (w *Writer) storedOK(b []byte, st *storedStr) bool {
	if !w.copying || !st.ok || !w.o.compress || len(b) <= 20 || len(st.dec) != len(b) || !w.srcTrusted {
		return false
	}
	if st.lzf {
		if len(st.comp) > len(b)-4 {
			return false
		}
	} else if !w.src.lzfSeen {
		return false
	}
	return bytes.Equal(st.dec, b)
}

// strFrom writes b as an RDB string, in the source's stored form st when
// storedOK allows.
func (w *Writer) strFrom(b []byte, st *storedStr) {
	if !w.storedOK(b, st) {
		w.o.str(b)
		return
	}
	w.stats.StoredCopies++
	o := &w.o
	if st.lzf {
		o.lzfBlob(st.comp, len(b))
		return
	}
	o.buf = appendLen(o.buf, uint64(len(b)))
	o.raw(b)
}

// storedNode returns the stored form of a quicklist node of the source
// with the bytes blob, if storedOK allows copying it.
func (w *Writer) storedNode(blob []byte) *storedStr {
	for _, i := range [2]int{w.src.cur, 1 - w.src.cur} {
		if st := &w.src.nodes[i]; w.storedOK(blob, st) {
			w.stats.StoredCopies++
			return st
		}
	}
	return nil
}

// appendStored appends the stored form st of b.
func appendStored(dst, b []byte, st *storedStr) []byte {
	if st.lzf {
		dst = append(dst, 0xC0|encLZF)
		dst = appendLen(dst, uint64(len(st.comp)))
		dst = appendLen(dst, uint64(len(b)))
		return append(dst, st.comp...)
	}
	dst = appendLen(dst, uint64(len(b)))
	return append(dst, b...)
}

// CopyKey writes the current key of r with its header.
func (w *Writer) CopyKey(r *Reader, rec *Record) error {
	return w.CopyValue(r, rec, rec.KeyHeader())
}

func (w *Writer) seenMap() map[string]bool {
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	clear(w.seen)
	return w.seen
}

func (w *Writer) now() int64 {
	if w.opt.Now != nil {
		return w.opt.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}
