package diff

import (
	"encoding/binary"
	"hash/maphash"
	"io"
	"math"

	"github.com/rdbtool/rdbtool/rdb"
)

// A value's digest is 128 bits: two 64-bit maphash values under two
// independent random seeds, over a canonical form that does not depend on
// how the value was encoded (listpack, ziplist, intset, quicklist,
// hashtable, skiplist, any RDB version or dialect):
//
//   - string: the bytes (the type is compared apart from the digest);
//   - list: each element, length-prefixed, in order;
//   - set, hash, sorted set: the element count and the sum (per 64-bit
//     lane, modulo 2^64) of the 128-bit hash of each element, so file order
//     does not matter; a hash element is field and value, a sorted-set
//     element member and score (as float64 bits, -0 folded into 0);
//   - stream: entries in ID order, then length, last ID and every consumer
//     group (last delivered ID, pending entries with consumer, delivery time
//     and count, consumers with seen time and pending IDs);
//   - module: the module type name and the bytes it wrote.
//
// A second digest, aux, holds what only some versions store, so that it is
// compared only when both sides have it: hash field TTLs (the sum over
// field and expiry) and stream metadata of RDB type 19 and later (first ID,
// max deleted ID, entries added, groups' entries read).
//
// The seeds are drawn when the process starts, so digests mean nothing
// outside it (spill files are read back by the same process).
type digest struct {
	typ    rdb.Type
	hasAux bool
	sum    sum128
	aux    sum128
}

// sum128 is a 128-bit digest.
type sum128 [2]uint64

var digestSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hash128(b []byte) sum128 {
	return sum128{maphash.Bytes(digestSeeds[0], b), maphash.Bytes(digestSeeds[1], b)}
}

func (s *sum128) add(x sum128) { s[0] += x[0]; s[1] += x[1] }

// stream128 hashes a canonical form written piece by piece: small writes
// gather in buf, which goes to the two hashes in large blocks.
type stream128 struct {
	h   [2]maphash.Hash
	buf []byte
}

const streamBuf = 16 << 10

func (s *stream128) reset(tag byte) {
	if s.buf == nil {
		s.buf = make([]byte, 0, streamBuf)
		s.h[0].SetSeed(digestSeeds[0])
		s.h[1].SetSeed(digestSeeds[1])
	}
	s.h[0].Reset()
	s.h[1].Reset()
	s.buf = append(s.buf[:0], tag)
}

func (s *stream128) flush() {
	s.h[0].Write(s.buf)
	s.h[1].Write(s.buf)
	s.buf = s.buf[:0]
}

func (s *stream128) write(b []byte) {
	if len(s.buf)+len(b) > streamBuf {
		s.flush()
		if len(b) > streamBuf/2 {
			s.h[0].Write(b)
			s.h[1].Write(b)
			return
		}
	}
	s.buf = append(s.buf, b...)
}

func (s *stream128) writeLen(b []byte) {
	if len(s.buf)+binary.MaxVarintLen64 > streamBuf {
		s.flush()
	}
	s.buf = binary.AppendUvarint(s.buf, uint64(len(b)))
	s.write(b)
}

func (s *stream128) writeU64(v uint64) {
	if len(s.buf)+8 > streamBuf {
		s.flush()
	}
	s.buf = binary.LittleEndian.AppendUint64(s.buf, v)
}

func (s *stream128) writeID(id rdb.StreamID) { s.writeU64(id.Ms); s.writeU64(id.Seq) }

func (s *stream128) sum() sum128 {
	if len(s.buf) > 0 {
		s.flush()
	}
	return sum128{s.h[0].Sum64(), s.h[1].Sum64()}
}

type digester struct {
	st  stream128
	buf []byte
	// cutoff: hash fields whose TTL is at or before it are left out (they
	// are expired as of the comparison time). 0 keeps every field.
	cutoff int64
}

func newDigester() *digester { return &digester{} }

// finishSet folds an order-independent accumulator, its element count and
// a tag into one digest.
func finishSet(tag byte, n uint64, acc sum128) sum128 {
	var b [1 + 8 + 16]byte
	b[0] = tag
	binary.LittleEndian.PutUint64(b[1:], n)
	binary.LittleEndian.PutUint64(b[9:], acc[0])
	binary.LittleEndian.PutUint64(b[17:], acc[1])
	return hash128(b[:])
}

func scoreBits(f float64) uint64 {
	if f == 0 {
		f = 0
	}
	if math.IsNaN(f) {
		return 0x7ff8000000000001
	}
	return math.Float64bits(f)
}

// fieldExpired tells whether a hash field counts as gone at the cutoff.
func (d *digester) fieldExpired(at int64) bool {
	return at != 0 && d.cutoff != 0 && at <= d.cutoff
}

// value digests the current key's value, reading it to the end.
func (d *digester) value(rec *rdb.Record, r *rdb.Reader) (digest, error) {
	dg := digest{typ: rec.Type}
	switch rec.Type {
	case rdb.TypeString:
		s, err := r.ReadString()
		if err != nil {
			return dg, err
		}
		dg.sum = hash128(s)
	case rdb.TypeList:
		st := &d.st
		st.reset('l')
		for {
			e, err := r.NextElement()
			if err == io.EOF {
				break
			}
			if err != nil {
				return dg, err
			}
			st.writeLen(e.Member)
		}
		dg.sum = st.sum()
	case rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash:
		if err := d.collectionDigest(rec, r, &dg); err != nil {
			return dg, err
		}
	case rdb.TypeStream:
		if err := d.streamDigest(r, &dg); err != nil {
			return dg, err
		}
	case rdb.TypeModule:
		m, err := r.Module()
		if err != nil {
			return dg, err
		}
		st := &d.st
		st.reset('m')
		st.writeLen([]byte(m.Name))
		st.write(m.Raw)
		dg.sum = st.sum()
	default:
		if err := r.Skip(); err != nil {
			return dg, err
		}
	}
	return dg, nil
}

// collectionDigest digests a set, sorted set or hash: each element is
// hashed alone and the hashes are summed, so that the order the encoding
// holds them in does not count. A hash's field TTLs go to the aux digest.
func (d *digester) collectionDigest(rec *rdb.Record, r *rdb.Reader, dg *digest) error {
	var acc, auxAcc sum128
	var n, nAux uint64
	for {
		e, err := r.NextElement()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch rec.Type {
		case rdb.TypeSet:
			acc.add(hash128(e.Member))
		case rdb.TypeZSet:
			d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(e.Member)))
			d.buf = append(d.buf, e.Member...)
			d.buf = binary.LittleEndian.AppendUint64(d.buf, scoreBits(e.Score))
			acc.add(hash128(d.buf))
		case rdb.TypeHash:
			if d.fieldExpired(e.ExpireAt) {
				continue
			}
			d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(e.Member)))
			d.buf = append(d.buf, e.Member...)
			d.buf = append(d.buf, e.Value...)
			acc.add(hash128(d.buf))
			if e.ExpireAt != 0 {
				d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(e.Member)))
				d.buf = append(d.buf, e.Member...)
				d.buf = binary.LittleEndian.AppendUint64(d.buf, uint64(e.ExpireAt))
				auxAcc.add(hash128(d.buf))
				nAux++
			}
		}
		n++
	}
	if cap(d.buf) > 1<<20 {
		d.buf = nil // do not keep one huge element's buffer
	}
	dg.sum = finishSet(byte(rec.Type), n, acc)
	if rec.Type == rdb.TypeHash {
		dg.hasAux = true
		if nAux > 0 {
			dg.aux = finishSet('T', nAux, auxAcc)
		}
	}
	return nil
}

// streamDigest digests a stream's entries, then its metadata and groups;
// what only stream layout 2 and later hold goes to the aux digest.
func (d *digester) streamDigest(r *rdb.Reader, dg *digest) error {
	st := &d.st
	st.reset('x')
	for {
		e, err := r.NextStreamEntry()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		st.writeID(e.ID)
		st.writeU64(uint64(len(e.Fields)))
		for _, f := range e.Fields {
			st.writeLen(f)
		}
	}
	info, err := r.Stream()
	if err != nil {
		return err
	}
	st.writeU64(0xffffffffffffffff) // end of entries
	st.writeU64(info.Length)
	st.writeID(info.LastID)
	st.writeU64(uint64(len(info.Groups)))
	for _, g := range info.Groups {
		st.writeLen(g.Name)
		st.writeID(g.LastID)
		st.writeU64(uint64(len(g.Pending)))
		for _, p := range g.Pending {
			st.writeID(p.ID)
			st.writeLen(p.Consumer)
			st.writeU64(uint64(p.DeliveryTime))
			st.writeU64(p.DeliveryCount)
		}
		st.writeU64(uint64(len(g.Consumers)))
		for _, c := range g.Consumers {
			st.writeLen(c.Name)
			st.writeU64(uint64(c.SeenTime))
			st.writeU64(uint64(len(c.Pending)))
			for _, id := range c.Pending {
				st.writeID(id)
			}
		}
	}
	dg.sum = st.sum()
	if info.Version >= 2 {
		dg.hasAux = true
		st.reset('X')
		st.writeID(info.FirstID)
		st.writeID(info.MaxDeletedID)
		st.writeU64(info.EntriesAdded)
		for _, g := range info.Groups {
			st.writeLen(g.Name)
			st.writeU64(uint64(g.EntriesRead))
		}
		dg.aux = st.sum()
	}
	return nil
}
