package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// DUMP payloads are what the DUMP command returns and RESTORE accepts: one
// value in RDB object form (type byte, value), then the RDB version as two
// little-endian bytes, then the CRC-64 of everything before it.

// NewDumpReader returns a Reader positioned before the single value of a
// DUMP payload, after verifying the payload's checksum and version. Its
// first Next returns a KindKey record with a nil Key; the value is read as
// from any Reader; the second Next returns io.EOF (or an error if the
// value did not use up the payload).
func NewDumpReader(payload []byte, opts ...Option) (*Reader, error) {
	if len(payload) < 11 {
		return nil, &Error{Offset: 0, What: fmt.Sprintf("DUMP payload of %d bytes is too short (type, value, 2-byte version, 8-byte CRC)", len(payload)), Err: ErrTruncated}
	}
	body := payload[:len(payload)-10]
	ver := int(binary.LittleEndian.Uint16(payload[len(payload)-10:]))
	stored := binary.LittleEndian.Uint64(payload[len(payload)-8:])
	r := NewReader(bytes.NewReader(body), opts...)
	r.payload = true
	r.headerDone = true
	r.version = ver
	r.dialect = DialectRedis
	if ver >= 80 {
		r.dialect = DialectValkey
	}
	maxVer := MaxRedisVersion
	if r.dialect == DialectValkey {
		maxVer = MaxValkeyVersion
	}
	if ver < 1 || (ver > maxVer && !r.opts.allowNewer) {
		return nil, &Error{Name: r.opts.name, Offset: int64(len(body)), What: fmt.Sprintf("DUMP payload of RDB version %d (this reader knows up to %d)", ver, maxVer), Err: ErrUnsupportedVersion}
	}
	if !r.opts.skipChecksum {
		if sum := CRC64(0, payload[:len(payload)-8]); sum != stored {
			return nil, &Error{Name: r.opts.name, Offset: int64(len(payload) - 8), What: fmt.Sprintf("DUMP payload CRC-64 %016x, computed %016x", stored, sum), Err: ErrChecksum}
		}
		r.checksum, r.checksumOK = stored, int(ChecksumVerified)
	}
	r.in.crcOn = false
	return r, nil
}

// nextPayload is Next for a DUMP payload.
func (r *Reader) nextPayload() (*Record, error) {
	rec := &r.rec
	if r.payloadStarted {
		if rem := r.in.remaining(); rem != 0 {
			return nil, r.errorf(ErrCorrupt, "%d bytes left in the DUMP payload after its value", rem)
		}
		return nil, io.EOF
	}
	r.payloadStarted = true
	*rec = Record{Idle: -1, Freq: -1, KeyMeta: r.metaBuf[:0]}
	t, err := r.in.readByte()
	if err != nil {
		return nil, r.truncOrErr(err, "the value type")
	}
	if t == opKeyMeta && r.dialect == DialectRedis {
		if err := r.readKeyMeta(rec); err != nil {
			return nil, err
		}
		if t, err = r.in.readByte(); err != nil {
			return nil, r.truncOrErr(err, "the value type")
		}
	}
	typ, ok := r.logicalType(t)
	if !ok {
		return nil, r.errorAt(0, ErrCorrupt, "unknown value type %d in a DUMP payload of RDB version %d", t, r.version)
	}
	rec.Kind, rec.RDBType, rec.Type = KindKey, t, typ
	r.inKey = true
	if r.dialect == DialectValkey && t == valkeyTypeHash2 {
		r.val.reset(typeValkeyHash2)
	} else {
		r.val.reset(int(t))
	}
	rec.Encoding, err = r.encodingOf(t)
	return rec, err
}
