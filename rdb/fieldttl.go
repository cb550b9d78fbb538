package rdb

import "encoding/binary"

// Valkey's hash type with per-field TTLs shares code 22 with Redis 7.4's
// pre-release hash-metadata type; the magic decides.
const valkeyTypeHash2 = 22

// typeValkeyHash2 is how valueState tells Valkey's 22 from Redis's 22.
const typeValkeyHash2 = 1000 + valkeyTypeHash2

// Redis Enterprise opcodes in the type range (see redis/librdb).
const (
	opEnterpriseRAMLRU  = 107
	opEnterpriseSlotNum = 121
)

// readFieldTTL reads the per-field expiry that precedes each field of the
// hash-metadata types (22 and 24 in Redis files).
// readMinExpire reads the smallest field expiry that types 24 and 25 store
// before their fields (8 little-endian bytes, Unix ms).
func (r *Reader) readMinExpire() error {
	b, err := r.in.next(8)
	if err != nil {
		return r.truncOrErr(err, "the minimum field expiry")
	}
	r.val.minExpire = int64(binary.LittleEndian.Uint64(b))
	return nil
}

// Type 24 stores it relative to the value's smallest expiry (0 = none,
// else minExpire + ttl - 1); the 7.4 pre-release type 22 stores it absolute.
func (r *Reader) readFieldTTL() (int64, error) {
	ttl, err := r.readLen("a hash field TTL")
	if err != nil || ttl == 0 {
		return 0, err
	}
	if r.val.typ == typeHashMetadata {
		return r.val.minExpire + int64(ttl) - 1, nil
	}
	return int64(ttl), nil
}

// nextValkeyHash2 reads one field of Valkey's type 22: field, value, then
// the absolute expiry as 8 little-endian bytes (-1 = none).
func (r *Reader) nextValkeyHash2() (Element, error) {
	v := &r.val
	var e Element
	var err error
	if v.scratch[0], err = r.readStringAppend(v.scratch[0][:0], "a hash field"); err != nil {
		return e, err
	}
	if v.scratch[1], err = r.readStringAppend(v.scratch[1][:0], "a hash value"); err != nil {
		return e, err
	}
	b, err := r.in.next(8)
	if err != nil {
		return e, r.truncOrErr(err, "a hash field expiry")
	}
	e.Member, e.Value = v.scratch[0], v.scratch[1]
	if at := int64(binary.LittleEndian.Uint64(b)); at > 0 {
		e.ExpireAt = at
	}
	return e, nil
}

// readKeyMeta reads Redis 8.6's opcode 243: a count of metadata classes,
// then for each a 4-byte class spec (little-endian) and a module opcode
// stream ending in EOF.
func (r *Reader) readKeyMeta(rec *Record) error {
	n, err := r.readLen("the key metadata class count")
	if err != nil {
		return err
	}
	if n == 0 || n > 64 {
		return r.errorf(ErrCorrupt, "key metadata with %d classes (servers write 1 to 7)", n)
	}
	for i := uint64(0); i < n; i++ {
		b, err := r.in.next(4)
		if err != nil {
			return r.truncOrErr(err, "a key metadata class spec")
		}
		m := KeyMeta{Class: binary.LittleEndian.Uint32(b)}
		r.in.startTee()
		err = r.skipModuleOpcodes(uint64(m.Class), "key metadata")
		m.Raw = r.in.stopTee(nil)
		if err != nil {
			return err
		}
		rec.KeyMeta = append(rec.KeyMeta, m)
	}
	r.metaBuf = rec.KeyMeta
	return nil
}

// readFunctionPreGA reads opcode 246, written only by Redis 7.0 release
// candidates: name, engine, an optional description, then the code.
func (r *Reader) readFunctionPreGA(rec *Record) error {
	var err error
	rec.Kind = KindFunction
	if rec.FunctionName, err = r.readStringAppend(nil, "a function name"); err != nil {
		return err
	}
	if rec.FunctionEngine, err = r.readStringAppend(nil, "a function engine"); err != nil {
		return err
	}
	hasDesc, err := r.readLen("a function description flag")
	if err != nil {
		return err
	}
	switch hasDesc {
	case 0:
	case 1:
		if _, err = r.skipString("a function description"); err != nil {
			return err
		}
	default:
		return r.errorf(ErrCorrupt, "function description flag %d, expected 0 or 1", hasDesc)
	}
	rec.Function, err = r.readStringAppend(nil, "a function body")
	return err
}

// readSlotImport reads Valkey 9's opcode 243: an import job's name and its
// slot ranges.
func (r *Reader) readSlotImport(rec *Record) error {
	var err error
	rec.Kind = KindSlotImport
	if rec.SlotImportJob, err = r.readStringAppend(nil, "a slot import job name"); err != nil {
		return err
	}
	n, err := r.readLen("a slot range count")
	if err != nil {
		return err
	}
	if n > 16384 {
		return r.errorf(ErrCorrupt, "slot import with %d ranges", n)
	}
	for i := uint64(0); i < n; i++ {
		a, err := r.readLen("a slot range start")
		if err != nil {
			return err
		}
		b, err := r.readLen("a slot range end")
		if err != nil {
			return err
		}
		if a > 16383 || b > 16383 || a > b {
			return r.errorf(ErrCorrupt, "slot range %d-%d is invalid", a, b)
		}
		rec.SlotRanges = append(rec.SlotRanges, [2]int{int(a), int(b)})
	}
	return nil
}

const keyMetaCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// ClassName returns the 4-character metadata class name.
func (m KeyMeta) ClassName() string {
	var b [4]byte
	for i := range b {
		b[i] = keyMetaCharset[(m.Class>>(32-6*(i+1)))&63]
	}
	return string(b[:])
}

// ClassVersion returns the class's encoding version (0-31).
func (m KeyMeta) ClassVersion() int { return int(m.Class>>3) & 31 }

// ClassFlags returns the class flags; bit 0 means a server without the
// class may drop the metadata and keep the key.
func (m KeyMeta) ClassFlags() int { return int(m.Class & 7) }

// StreamIDMP is Redis 8.6's idempotent-producer state of a stream (XADD
// IDMP/IDMPAUTO, limits set with XCFGSET).
type StreamIDMP struct {
	Duration       uint64 // seconds an IID is remembered
	MaxEntries     uint64 // IIDs remembered per producer
	Producers      []StreamProducer
	IIDsAdded      uint64
	IIDsDuplicates uint64
}

// StreamProducer is one producer's remembered idempotency IDs, oldest first.
type StreamProducer struct {
	PID     []byte
	Entries []StreamIIDEntry
}

// StreamIIDEntry maps an idempotency ID to the entry it created.
type StreamIIDEntry struct {
	IID []byte
	ID  StreamID
}

func (r *Reader) readStreamIDMP(keep bool) (*StreamIDMP, error) {
	m := &StreamIDMP{}
	var err error
	lens := func(dst ...*uint64) {
		for _, d := range dst {
			if err == nil {
				*d, err = r.readLen("stream idempotency state")
			}
		}
	}
	var nprod uint64
	lens(&m.Duration, &m.MaxEntries, &nprod)
	if err != nil {
		return nil, err
	}
	if !r.in.fits(nprod) {
		return nil, r.errorf(ErrCorrupt, "stream producer count %d exceeds the input", nprod)
	}
	for i := uint64(0); i < nprod; i++ {
		var p StreamProducer
		if p.PID, err = r.readStringAppend(nil, "a stream producer id"); err != nil {
			return nil, err
		}
		var n uint64
		lens(&n)
		if err != nil {
			return nil, err
		}
		if !r.in.fits(n) {
			return nil, r.errorf(ErrCorrupt, "stream producer %q: IID count %d exceeds the input", p.PID, n)
		}
		for j := uint64(0); j < n; j++ {
			var e StreamIIDEntry
			if e.IID, err = r.readStringAppend(nil, "a stream idempotency id"); err != nil {
				return nil, err
			}
			lens(&e.ID.Ms, &e.ID.Seq)
			if err != nil {
				return nil, err
			}
			p.Entries = append(p.Entries, e)
		}
		if keep {
			m.Producers = append(m.Producers, p)
		}
	}
	lens(&m.IIDsAdded, &m.IIDsDuplicates)
	return m, err
}
