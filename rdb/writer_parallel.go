package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/internal/keydigest"
)

// KeyEncoder encodes key records as its Writer would write them, into
// memory: so that the workers of ReadParallel can encode the keys they
// read, and the sink write them in file order with Writer.WriteEncoded.
// Each worker needs a KeyEncoder of its own; one is not safe for
// concurrent use.
type KeyEncoder struct {
	w        *Writer
	hashKeys bool // the Writer checks keys: hash their names here
}

// NewKeyEncoder returns a KeyEncoder for w's target and options. It reads
// only w's settings, which do not change, so it may be called from any
// goroutine.
func (w *Writer) NewKeyEncoder() *KeyEncoder {
	e := &Writer{t: w.t, opt: w.opt, lim: w.lim, started: true}
	e.opt.AllowDuplicateKeys = true // checked in WriteEncoded, in file order
	e.o.compress = w.o.compress     // no io.Writer: the output stays in e.o.buf
	return &KeyEncoder{w: e, hashKeys: !w.payload && !w.opt.AllowDuplicateKeys}
}

// EncodedKey is one key record a KeyEncoder encoded.
type EncodedKey struct {
	Bytes []byte // the whole record; valid until the KeyEncoder's next call
	// Key is the key's name, for WriteEncoded's check that no key is
	// written twice in one database; a caller keeping Bytes keeps it too
	// (a copy of the same bytes: Bytes holds the name as well).
	Key []byte
	// Stats is what writing it adds to the Writer's Stats. StoredCopies
	// can be lower than with CopyKey: a KeyEncoder learns from the keys it
	// encodes whether it may copy a verbatim string as stored, and the
	// bytes are the same either way.
	Stats WriterStats
	// hash is Key's keydigest.Hash, when hashed: computed on the worker,
	// so that the duplicate check in file order only adds it.
	hash   uint64
	hashed bool
}

// CopyKey encodes the current key of r as Writer.CopyKey writes it.
func (e *KeyEncoder) CopyKey(r *Reader, rec *Record) (EncodedKey, error) {
	w := e.w
	w.o.buf = w.o.buf[:0]
	before := w.stats
	if err := w.CopyKey(r, rec); err != nil {
		return EncodedKey{}, err
	}
	k := EncodedKey{Bytes: w.o.buf, Key: rec.Key, Stats: w.stats.since(before)}
	if e.hashKeys {
		k.hash, k.hashed = keydigest.Hash(keySeed, rec.Key), true
	}
	return k, w.o.err
}

// WriteEncoded writes a key record that a KeyEncoder of w encoded, where
// CopyKey would have written it: it fails as CopyKey would for a key the
// current database already has (ErrDuplicateKey), writing nothing.
func (w *Writer) WriteEncoded(k EncodedKey) error {
	if err := w.begin(); err != nil {
		return err
	}
	var err error
	if k.hashed {
		err = w.checkKeyHash(k.Key, k.hash)
	} else {
		err = w.checkKey(k.Key)
	}
	if err != nil {
		return err
	}
	w.o.raw(k.Bytes)
	w.stats.add(k.Stats)
	return w.o.err
}

// Values in parts. A value too large for ReadParallel to batch is handed
// to its workers in parts (ParallelHandler.Split): runs of elements, each
// read as a value of its own. A set, sorted set or hash too large for a
// compact encoding (or a list for RDB 6) is written straight, its count
// first, so each part is encoded on a worker (CopyPart) and the Writer
// writes them in order (WriteEncodedPart). The members' repeats are
// checked by the Writer, in order, from digests the workers computed, so
// that a member repeated in two parts is refused as CopyKey refuses it.
// A value whose encoding depends on all its elements (a small count) is
// read on the workers and built by the Writer, as CopyKey builds it.
//
// A list for RDB 7+ is cut into quicklist nodes, as the target server
// cuts it, and its node count is written before them: each part is cut
// on a worker, and the Writer spools the nodes (as CopyKey does) and
// writes the count at the last part. A part's last node may be one the
// server would have gone on filling with the next part's first element:
// the Writer holds it back until it knows, and if so it cuts the rest of
// the list itself from the parts' nodes, read back (which a file written
// by a server with the target's settings never needs).

// SplitsValue reports whether the key rec (as ReadParallel's Split sees
// it) can be written in parts, with the bytes CopyKey writes: a plain
// set, sorted set, hash or list, or a quicklist for a target of RDB 7 or
// later. (For RDB 6 a quicklist's element count, which decides its
// encoding, is known only after its last node.)
func (w *Writer) SplitsValue(rec *Record) bool {
	switch rec.RDBType {
	case typeSet, typeZSet, typeZSet2, typeHash, typeList:
		return true
	case typeListQuicklist, typeListQuicklist2:
		return w.t.at(7)
	}
	return false
}

// EncodedPart is one part of a key's value that a KeyEncoder encoded
// (CopyPart), for Writer.WriteEncodedPart.
type EncodedPart struct {
	Key  []byte // the key's name
	Part ValuePart
	// Stats is what writing the part adds to the Writer's Stats.
	Stats WriterStats
	// Err ended the part early (reading or encoding an element).
	// WriteEncodedPart returns it once it has written and checked what
	// came before it, in the order CopyKey meets errors.
	Err error

	typ Type
	// direct is the plain encoding the value is written in, its count
	// first; 0 when its encoding depends on all its elements, which the
	// Writer then builds (h is the header, for part 0).
	direct byte
	h      KeyHeader
	header bool   // direct, part 0: bytes begin with the key header and count
	bytes  []byte // direct: the elements as written; else framed (appendFramed)
	elems  int    // where the elements begin in bytes
	n      int64  // elements in the part
	// A list for RDB 7+ (list): bytes holds nodes quicklist nodes, the
	// last one from lastAt, holding lastCount elements in lastSize bytes
	// (0: the part ended with a node the next element cannot join).
	list                bool
	nodes               int
	lastAt              int
	lastCount, lastSize int
	// digests of the members (direct): 8 bytes each, in order, checked by
	// WriteEncodedPart.
	digests []byte
}

// CopyPart encodes the part of the current key's value that wk was given
// (ParallelHandler.Split, for a key SplitsValue accepts) on a worker of
// ReadParallel: the key header first in part 0, then the elements as the
// target stores them; or, when the encoding depends on all of them, the
// elements as read. The result's memory is wk's (Worker.Keep): it is
// valid until Sink returns.
func (e *KeyEncoder) CopyPart(wk *Worker, rec *Record) EncodedPart {
	w := e.w
	w.o.buf = w.o.buf[:0]
	w.cw.digests = w.cw.digests[:0]
	before := w.stats
	p := EncodedPart{Part: *wk.Part(), typ: rec.Type}
	p.Err = e.copyPart(wk.Reader, rec, &p)
	p.Stats = w.stats.since(before)
	p.Key = wk.Keep(rec.Key)
	p.bytes = wk.Keep(w.o.buf)
	p.digests = wk.Keep(w.cw.digests)
	if p.Part.Index == 0 && p.direct == 0 {
		p.h = rec.KeyHeader()
		p.h.Key = p.Key
		if len(p.h.KeyMeta) > 0 {
			p.h.KeyMeta = copyHeader(p.h).KeyMeta
		}
	}
	if p.Err == nil {
		p.Err = w.o.err
	}
	return p
}

func (e *KeyEncoder) copyPart(r *Reader, rec *Record, p *EncodedPart) error {
	w := e.w
	if rec.Type == TypeList && w.t.at(7) {
		return e.copyListPart(r, rec, p)
	}
	// As CopyValue: the count as stored decides.
	info := CollectionInfo{Count: int64(p.Part.Count)}
	if p.direct = w.directType(rec.Type, info); p.direct == 0 {
		for {
			el, err := r.NextElement()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			w.o.buf = appendFramed(w.o.buf, &el, rec.Type)
			p.n++
		}
	}
	w.beginCopy(r)
	defer func() {
		w.copying, r.val.src, w.cw.memInt = false, nil, false
		r.val.lazyInt, r.val.memInt = false, false
	}()
	c := &w.cw
	*c = CollectionWriter{w: w, typ: rec.Type, declared: info.Count, direct: true, allInts: true, now: w.now(),
		collect: true, digests: c.digests[:0], fb: c.fb[:0], ints: c.ints[:0], spare: c.spare}
	c.h.Key = rec.Key // for errors only
	if p.Part.Index == 0 {
		h := rec.KeyHeader()
		if err := w.checkKeyMeta(&h); err != nil {
			return err
		}
		if err := w.keyHeader(&h, p.direct); err != nil {
			return err
		}
		w.o.len(uint64(info.Count))
		p.header = true
	}
	p.elems = len(w.o.buf)
	r.val.src = &w.src
	w.inValue = true
	err := w.copyElements(r, c)
	w.inValue = false
	p.n = c.n
	c.releaseMembers()
	return err
}

// copyListPart cuts a part of a list into quicklist nodes, as the
// target server would if the part were a list of its own (but for the
// first-node rule of RDB 11+, which holds only for part 0).
func (e *KeyEncoder) copyListPart(r *Reader, rec *Record, p *EncodedPart) error {
	w := e.w
	p.list = true
	w.beginCopy(r)
	if w.ql == nil {
		w.ql = newQLBuilder(w)
	} else {
		w.ql.reset()
	}
	q := w.ql
	q.first = w.t.at(11) && p.Part.Index == 0
	defer func() {
		q.first = w.t.at(11)
		w.copying, r.val.src, w.cw.memInt = false, nil, false
		r.val.lazyInt, r.val.memInt = false, false
	}()
	c := &w.cw
	*c = CollectionWriter{w: w, typ: TypeList, declared: -1, allInts: true, now: w.now(), ql: q, fb: c.fb[:0], ints: c.ints[:0], spare: c.spare}
	c.h.Key = rec.Key // for errors only
	r.val.src = &w.src
	r.val.lazyInt = true
	w.inValue = true
	var err error
	if copyFastPaths && (r.val.typ == typeListQuicklist || r.val.typ == typeListQuicklist2) {
		err = w.addListNodes(r, c)
	} else {
		err = w.copyElements(r, c)
	}
	w.inValue = false
	if err != nil {
		return err
	}
	p.n = c.n
	p.lastCount, p.lastSize = q.count, q.nodeSz
	p.lastAt = int(q.sp.size)
	if err := q.flushNode(); err != nil {
		return err
	}
	p.nodes = int(q.nodes)
	err = q.sp.copyTo(&w.o)
	q.sp.release()
	return err
}

// listPart adds a part of a list for RDB 7+ to c (see "Values in parts").
func (w *Writer) listPart(c *CollectionWriter, p *EncodedPart) error {
	q := c.ql
	c.n += p.n
	if c.replay {
		return w.feedNodes(q, p.bytes, p.nodes)
	}
	if c.held {
		if w.joins(c, p) {
			// The server would have put this part's first element in the
			// node held back: from here on the Writer cuts the list.
			c.replay, c.held = true, false
			if err := w.feedNodes(q, c.heldNode, 1); err != nil {
				return err
			}
			return w.feedNodes(q, p.bytes, p.nodes)
		}
		if err := c.commitHeld(); err != nil {
			return err
		}
	}
	w.stats.add(p.Stats)
	if p.lastCount == 0 {
		q.nodes += uint64(p.nodes)
		return q.sp.write(p.bytes)
	}
	q.nodes += uint64(p.nodes - 1)
	if err := q.sp.write(p.bytes[:p.lastAt]); err != nil {
		return err
	}
	c.held, c.heldCount, c.heldSize = true, p.lastCount, p.lastSize
	c.heldNode = append(c.heldNode[:0], p.bytes[p.lastAt:]...)
	if p.Part.Last {
		return c.commitHeld()
	}
	return nil
}

// commitHeld spools the node held back.
func (c *CollectionWriter) commitHeld() error {
	c.held = false
	c.ql.nodes++
	return c.ql.sp.write(c.heldNode)
}

// joins reports whether the target server would have added the first
// element of p to the node c holds back, rather than begin a new one.
func (w *Writer) joins(c *CollectionWriter, p *EncodedPart) bool {
	q := c.ql
	n := -1
	w.eachNodeElement(p.bytes, p.nodes, func(m []byte) error {
		n = len(m)
		return io.EOF
	})
	if n < 0 || q.v2 && n >= w.lim.ListPackedThreshold {
		return false
	}
	t := qlBuilder{w: w, v2: q.v2, first: q.first, count: c.heldCount, nodeSz: c.heldSize, nodes: q.nodes}
	return t.allow(n)
}

// feedNodes adds the elements of quicklist nodes this Writer encoded to
// q, as CopyKey adds a list's elements.
func (w *Writer) feedNodes(q *qlBuilder, b []byte, nodes int) error {
	return w.eachNodeElement(b, nodes, func(m []byte) error { return q.add(m, false, 0) })
}

// eachNodeElement calls fn with each element of the quicklist nodes b
// (nodes of them) that this Writer encoded, until fn returns an error.
func (w *Writer) eachNodeElement(b []byte, nodes int, fn func(m []byte) error) error {
	rd := NewReader(bytes.NewReader(nil)).batchReader()
	rd.dialect, rd.version = w.t.Dialect, w.t.Version
	rd.startBatch(b, 0, int64(len(b)), 0, "", "")
	typ := byte(typeListQuicklist)
	if w.t.at(10) {
		typ = typeListQuicklist2
	}
	rd.startPart(&Record{Kind: KindKey, Type: TypeList, RDBType: typ}, uint64(nodes))
	for {
		e, err := rd.NextElement()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("rdb: reading back a list's nodes: %w", err)
		}
		if err := fn(e.Member); err != nil {
			return err
		}
	}
}

// WriteEncodedPart writes a part of a value that a KeyEncoder of w
// encoded (CopyPart). The parts of a value come in order with nothing
// between them. Part 0 fails as CopyKey would for a key the current
// database already has (ErrDuplicateKey, nothing written); every member
// is checked against the value's earlier members, with the error CopyKey
// gives for a repeat (ErrDuplicateMember); the last part completes the
// value. After an error the value is abandoned.
func (w *Writer) WriteEncodedPart(p *EncodedPart) error {
	err := w.writeEncodedPart(p)
	if err == nil {
		err = p.Err
	}
	if err != nil {
		w.AbandonParts()
		return err
	}
	if p.Part.Last {
		return w.cw.Close()
	}
	return nil
}

func (w *Writer) writeEncodedPart(p *EncodedPart) error {
	c := &w.cw
	if p.Part.Index == 0 {
		if err := w.begin(); err != nil {
			return err
		}
		if p.direct == 0 {
			// As CopyValue: the Writer builds the value from the elements.
			if _, err := w.BeginCollection(p.h, p.typ, CollectionInfo{Count: int64(p.Part.Count)}); err != nil {
				return err
			}
		} else {
			if !p.header {
				return nil // p.Err, met before the header
			}
			if err := w.checkKey(p.Key); err != nil {
				return err
			}
			*c = CollectionWriter{w: w, typ: p.typ, declared: int64(p.Part.Count), direct: true, allInts: true, now: w.now(),
				sp: spool{mem: c.sp.mem[:0], limit: w.opt.SpoolMemory, dir: w.opt.SpoolDir}, fb: c.fb[:0], ints: c.ints[:0], spare: c.spare}
			c.h = w.copyHeaderKeep(KeyHeader{Key: p.Key})
			w.inValue = true
		}
	} else if !w.inValue {
		return errors.New("rdb: WriteEncodedPart: a part of a value without its first part")
	}
	if p.list {
		return w.listPart(c, p)
	}
	if p.direct == 0 {
		fr := framedReader{r: bytes.NewReader(p.bytes), typ: p.typ}
		for range p.n {
			e, err := fr.next()
			if err != nil {
				return err
			}
			if err := c.Add(e); err != nil {
				return err
			}
		}
		w.stats.add(p.Stats)
		return nil
	}
	if c.memberSet() {
		// In batches, as memberRun: their slots loaded together.
		var ds [memberBatch]uint64
		n := len(p.digests) / 8
		for i := 0; i < n; i += memberBatch {
			k := min(memberBatch, n-i)
			for j := range k {
				ds[j] = binary.LittleEndian.Uint64(p.digests[8*(i+j):])
			}
			c.members.Touch(ds[:k])
			for j := range k {
				if err := c.addMember(ds[j], nil); err != nil {
					if errors.Is(err, ErrDuplicateMember) {
						err = c.dupMember(w.partMember(p, i+j))
					}
					return err
				}
			}
		}
	}
	w.o.raw(p.bytes)
	c.n += p.n
	w.stats.add(p.Stats)
	return w.o.err
}

// partMember returns the text of member i of a part written straight, for
// the error naming it: the part's elements read back.
func (w *Writer) partMember(p *EncodedPart, i int) []byte {
	rd := NewReader(bytes.NewReader(nil)).batchReader()
	rd.dialect, rd.version = w.t.Dialect, w.t.Version
	b := p.bytes[p.elems:]
	rd.startBatch(b, 0, int64(len(b)), 0, "", "")
	rd.startPart(&Record{Kind: KindKey, Type: p.typ, RDBType: p.direct, Key: p.Key}, uint64(p.n))
	for k := 0; ; k++ {
		e, err := rd.NextElement()
		if err != nil {
			return nil
		}
		if k == i {
			return e.Member
		}
	}
}

// AbandonParts drops a value whose parts WriteEncodedPart was writing
// when the read stopped before its last part (it was canceled): its
// spool and member check, with their temporary files. The output is then
// incomplete: end it with Abort. It does nothing when no value is open.
func (w *Writer) AbandonParts() {
	if !w.inValue {
		return
	}
	w.inValue = false
	w.cw.sp.release()
	w.cw.releaseMembers()
	if w.cw.ql != nil {
		w.cw.ql.sp.release()
	}
}

// CopyRest copies the rest of r's current value, whose earlier parts
// WriteEncodedPart wrote, and completes it: for the last part of a value
// that ReadParallel gives Work on the framing goroutine (Worker.Inline),
// an element being too large for its look-ahead.
func (w *Writer) CopyRest(r *Reader, rec *Record) error {
	if !w.inValue {
		return errors.New("rdb: CopyRest without the value's first part")
	}
	w.beginCopy(r)
	defer func() {
		w.copying, r.val.src, w.cw.memInt = false, nil, false
		r.val.lazyInt, r.val.memInt = false, false
	}()
	c := &w.cw
	if c.ql != nil && c.held {
		// The node held back is still open: the rest goes on from it.
		c.held = false
		if err := w.feedNodes(c.ql, c.heldNode, 1); err != nil {
			w.inValue = false
			c.ql.sp.release()
			return err
		}
	}
	r.val.src = &w.src
	r.val.lazyInt = c.ql != nil
	if err := w.copyElements(r, c); err != nil {
		return err
	}
	return c.Close()
}

// since returns what s counts beyond before.
func (s WriterStats) since(before WriterStats) WriterStats {
	return WriterStats{
		Keys:                 s.Keys - before.Keys,
		DroppedFieldTTLs:     s.DroppedFieldTTLs - before.DroppedFieldTTLs,
		DroppedExpiredFields: s.DroppedExpiredFields - before.DroppedExpiredFields,
		DroppedExpiredKeys:   s.DroppedExpiredKeys - before.DroppedExpiredKeys,
		DowngradedStreams:    s.DowngradedStreams - before.DowngradedStreams,
		DroppedKeyMeta:       s.DroppedKeyMeta - before.DroppedKeyMeta,
		DroppedFunctions:     s.DroppedFunctions - before.DroppedFunctions,
		DroppedLRU:           s.DroppedLRU - before.DroppedLRU,
		EmptyKeys:            s.EmptyKeys - before.EmptyKeys,
		StoredCopies:         s.StoredCopies - before.StoredCopies,
	}
}

func (s *WriterStats) add(d WriterStats) {
	s.Keys += d.Keys
	s.DroppedFieldTTLs += d.DroppedFieldTTLs
	s.DroppedExpiredFields += d.DroppedExpiredFields
	s.DroppedExpiredKeys += d.DroppedExpiredKeys
	s.DowngradedStreams += d.DowngradedStreams
	s.DroppedKeyMeta += d.DroppedKeyMeta
	s.DroppedFunctions += d.DroppedFunctions
	s.DroppedLRU += d.DroppedLRU
	s.EmptyKeys += d.EmptyKeys
	s.StoredCopies += d.StoredCopies
}
