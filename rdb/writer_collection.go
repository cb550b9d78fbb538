package rdb

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb/compact"
)

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
	spare     *keydigest.Set // a finished member check, kept for reuse (Set.Reset)
	// collect: the members' digests go to digests, 8 bytes each, for the
	// Writer to check (KeyEncoder.CopyPart), rather than being checked.
	collect bool
	digests []byte

	// lists
	ql *qlBuilder
	// A list written in parts (writer_parallel.go): the last node of the
	// part before, held back (held), of heldCount elements in heldSize
	// bytes; replay once the Writer cuts the rest of the list itself.
	held                bool
	heldNode            []byte
	heldCount, heldSize int
	replay              bool

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
		return nil, fmt.Errorf("rdb: key %q: BeginCollection for a %s (lists, sets, sorted sets and hashes only)", h.Key, typ)
	}
	if err := w.checkKeyMeta(&h); err != nil {
		return nil, err
	}
	c := &w.cw
	*c = CollectionWriter{w: w, typ: typ, declared: info.Count, allInts: true, ttlHint: info.FieldTTLs, now: w.now(),
		sp: spool{mem: c.sp.mem[:0], limit: w.opt.SpoolMemory, dir: w.opt.SpoolDir}, fb: c.fb[:0], ints: c.ints[:0], spare: c.spare}
	w.inValue = true
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
	directType := w.directType(typ, info)
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

// directType is the plain encoding in which BeginCollection writes a
// collection of typ straight to the output, its count known and too large
// for any compact encoding; 0 when the encoding depends on the elements.
// Lists for RDB 7+ (quicklists) are never written straight.
func (w *Writer) directType(typ Type, info CollectionInfo) byte {
	if info.Count < 0 || typ == TypeList && w.t.at(7) {
		return 0
	}
	lim := &w.lim
	switch typ {
	case TypeList: // RDB 6
		if info.Count > int64(lim.ListMaxZiplistEntries) {
			return typeList
		}
	case TypeSet:
		if info.Count > int64(max(lim.SetMaxIntsetEntries, lim.SetMaxListpackEntries)) {
			return typeSet
		}
	case TypeZSet:
		if info.Count > int64(lim.ZSetMaxEntries) {
			return w.zsetPlainType()
		}
	case TypeHash:
		if info.Count > int64(lim.HashMaxEntries) && !info.FieldTTLs {
			return typeHash
		}
	}
	return 0
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
