package rdb

import "encoding/binary"

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
