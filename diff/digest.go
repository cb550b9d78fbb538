package diff

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"io"
	"math"

	"github.com/rdbtool/rdbtool/rdb"
)

// A value's digest is SHA-256 over a canonical form that does not depend
// on how the value was encoded (listpack, ziplist, intset, quicklist,
// hashtable, skiplist, any RDB version or dialect):
//
//   - string: the bytes (the type is compared apart from the digest);
//   - list: each element, length-prefixed, in order;
//   - set, hash, sorted set: the element count and the sum (per 64-bit
//     lane, modulo 2^64) of the SHA-256 of each element, so file order does
//     not matter; a hash element is field and value, a sorted-set element
//     member and score (as float64 bits, -0 folded into 0);
//   - stream: entries in ID order, then length, last ID and every consumer
//     group (last delivered ID, pending entries with consumer, delivery time
//     and count, consumers with seen time and pending IDs);
//   - module: the module type name and the bytes it wrote.
//
// A second digest, aux, holds what only some versions store, so that it is
// compared only when both sides have it: hash field TTLs (the sum of
// SHA-256 over field and expiry) and stream metadata of RDB type 19 and
// later (first ID, max deleted ID, entries added, groups' entries read).
type digest struct {
	typ    rdb.Type
	hasAux bool
	sum    [32]byte
	aux    [32]byte
}

type digester struct {
	h   hash.Hash
	buf []byte
	// cutoff: hash fields whose TTL is at or before it are left out (they
	// are expired as of the comparison time). 0 keeps every field.
	cutoff int64
}

func newDigester() *digester { return &digester{h: sha256.New()} }

type lanes [4]uint64

func (l *lanes) add(s [32]byte) {
	for i := range l {
		l[i] += binary.LittleEndian.Uint64(s[i*8:])
	}
}

func (d *digester) finishSet(tag byte, n uint64, acc *lanes) (out [32]byte) {
	var b [1 + 8 + 32]byte
	b[0] = tag
	binary.LittleEndian.PutUint64(b[1:], n)
	for i, v := range acc {
		binary.LittleEndian.PutUint64(b[9+8*i:], v)
	}
	return sha256.Sum256(b[:])
}

func (d *digester) writeLen(b []byte) {
	d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(b)))
	d.h.Write(d.buf)
	d.h.Write(b)
}

func (d *digester) writeU64(v uint64) {
	d.buf = binary.LittleEndian.AppendUint64(d.buf[:0], v)
	d.h.Write(d.buf)
}

func (d *digester) writeID(id rdb.StreamID) { d.writeU64(id.Ms); d.writeU64(id.Seq) }

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
		dg.sum = sha256.Sum256(s)
	case rdb.TypeList:
		d.h.Reset()
		d.h.Write([]byte{'l'})
		for {
			e, err := r.NextElement()
			if err == io.EOF {
				break
			}
			if err != nil {
				return dg, err
			}
			d.writeLen(e.Member)
		}
		d.h.Sum(dg.sum[:0])
	case rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash:
		var acc, auxAcc lanes
		var n, nAux uint64
		for {
			e, err := r.NextElement()
			if err == io.EOF {
				break
			}
			if err != nil {
				return dg, err
			}
			switch rec.Type {
			case rdb.TypeSet:
				acc.add(sha256.Sum256(e.Member))
			case rdb.TypeZSet:
				d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(e.Member)))
				d.buf = append(d.buf, e.Member...)
				d.buf = binary.LittleEndian.AppendUint64(d.buf, scoreBits(e.Score))
				acc.add(sha256.Sum256(d.buf))
			case rdb.TypeHash:
				if d.fieldExpired(e.ExpireAt) {
					continue
				}
				d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(e.Member)))
				d.buf = append(d.buf, e.Member...)
				d.buf = append(d.buf, e.Value...)
				acc.add(sha256.Sum256(d.buf))
				if e.ExpireAt != 0 {
					d.buf = binary.AppendUvarint(d.buf[:0], uint64(len(e.Member)))
					d.buf = append(d.buf, e.Member...)
					d.buf = binary.LittleEndian.AppendUint64(d.buf, uint64(e.ExpireAt))
					auxAcc.add(sha256.Sum256(d.buf))
					nAux++
				}
			}
			n++
		}
		dg.sum = d.finishSet(byte(rec.Type), n, &acc)
		if rec.Type == rdb.TypeHash {
			dg.hasAux = true
			if nAux > 0 {
				dg.aux = d.finishSet('T', nAux, &auxAcc)
			}
		}
	case rdb.TypeStream:
		d.h.Reset()
		d.h.Write([]byte{'x'})
		for {
			e, err := r.NextStreamEntry()
			if err == io.EOF {
				break
			}
			if err != nil {
				return dg, err
			}
			d.writeID(e.ID)
			d.writeU64(uint64(len(e.Fields)))
			for _, f := range e.Fields {
				d.writeLen(f)
			}
		}
		info, err := r.Stream()
		if err != nil {
			return dg, err
		}
		d.writeU64(0xffffffffffffffff) // end of entries
		d.writeU64(info.Length)
		d.writeID(info.LastID)
		d.writeU64(uint64(len(info.Groups)))
		for _, g := range info.Groups {
			d.writeLen(g.Name)
			d.writeID(g.LastID)
			d.writeU64(uint64(len(g.Pending)))
			for _, p := range g.Pending {
				d.writeID(p.ID)
				d.writeLen(p.Consumer)
				d.writeU64(uint64(p.DeliveryTime))
				d.writeU64(p.DeliveryCount)
			}
			d.writeU64(uint64(len(g.Consumers)))
			for _, c := range g.Consumers {
				d.writeLen(c.Name)
				d.writeU64(uint64(c.SeenTime))
				d.writeU64(uint64(len(c.Pending)))
				for _, id := range c.Pending {
					d.writeID(id)
				}
			}
		}
		d.h.Sum(dg.sum[:0])
		if info.Version >= 2 {
			dg.hasAux = true
			d.h.Reset()
			d.writeID(info.FirstID)
			d.writeID(info.MaxDeletedID)
			d.writeU64(info.EntriesAdded)
			for _, g := range info.Groups {
				d.writeLen(g.Name)
				d.writeU64(uint64(g.EntriesRead))
			}
			d.h.Sum(dg.aux[:0])
		}
	case rdb.TypeModule:
		m, err := r.Module()
		if err != nil {
			return dg, err
		}
		d.h.Reset()
		d.h.Write([]byte{'m'})
		d.writeLen([]byte(m.Name))
		d.h.Write(m.Raw)
		d.h.Sum(dg.sum[:0])
	default:
		if err := r.Skip(); err != nil {
			return dg, err
		}
	}
	return dg, nil
}
