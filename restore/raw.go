package restore

import (
	"encoding/binary"
	"io"

	"github.com/rdbtool/rdbtool/rdb"
)

// recorder keeps the bytes the RDB reader pulled from its input, from the
// current key's first byte on, so that a value can be sent as stored: when
// the target loads the file's own RDB version, a DUMP payload is the
// record's type byte and value, the version and a CRC-64, with nothing
// decoded or re-encoded.
type recorder struct {
	r        io.Reader
	buf      []byte
	base     int64 // offset of buf[0]
	keepFrom int64
}

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	if n > 0 {
		if drop := int(rc.keepFrom - rc.base); drop > 0 && drop >= len(rc.buf)/2 && drop <= len(rc.buf) {
			m := copy(rc.buf, rc.buf[drop:])
			rc.buf = rc.buf[:m]
			rc.base += int64(drop)
		}
		rc.buf = append(rc.buf, p[:n]...)
	}
	return n, err
}

// span returns recorded bytes [from, to), or nil when not (all) recorded.
func (rc *recorder) span(from, to int64) []byte {
	if from < rc.base || to > rc.base+int64(len(rc.buf)) || from > to {
		return nil
	}
	return rc.buf[from-rc.base : to-rc.base]
}

// rawStart parses the prefix of a key record (expiry, LRU, LFU opcodes,
// type byte, key name) recorded at b and returns the index of the type
// byte, or -1 when the record holds anything else (module key metadata,
// vendor opcodes): then the value is transcoded instead.
func rawStart(b []byte) int {
	i := 0
	for i < len(b) {
		switch b[i] {
		case 252: // expire ms
			i += 9
			continue
		case 253: // expire s
			i += 5
			continue
		case 249: // freq
			i += 2
			continue
		case 248: // idle: a length
			n := lenSize(b[i+1:])
			if n == 0 {
				return -1
			}
			i += 1 + n
			continue
		}
		break
	}
	if i >= len(b) || b[i] >= 243 {
		return -1
	}
	t := i
	n := strSize(b[i+1:])
	if n == 0 {
		return -1
	}
	return t
}

// lenSize is the byte size of an RDB length at b, 0 if unknown.
func lenSize(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch b[0] >> 6 {
	case 0:
		return 1
	case 1:
		return 2
	case 2:
		switch b[0] {
		case 0x80:
			return 5
		case 0x81:
			return 9
		}
	}
	return 0
}

func lenValue(b []byte) (uint64, int) {
	n := lenSize(b)
	switch n {
	case 1:
		return uint64(b[0] & 0x3f), 1
	case 2:
		if len(b) < 2 {
			return 0, 0
		}
		return uint64(b[0]&0x3f)<<8 | uint64(b[1]), 2
	case 5:
		if len(b) < 5 {
			return 0, 0
		}
		return uint64(binary.BigEndian.Uint32(b[1:])), 5
	case 9:
		if len(b) < 9 {
			return 0, 0
		}
		return binary.BigEndian.Uint64(b[1:]), 9
	}
	return 0, 0
}

// strSize is the byte size of an RDB string at b, 0 if not parseable.
func strSize(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	if b[0]>>6 == 3 {
		switch b[0] & 0x3f {
		case 0:
			return 2
		case 1:
			return 3
		case 2:
			return 5
		case 3:
			clen, a := lenValue(b[1:])
			if a == 0 {
				return 0
			}
			_, c := lenValue(b[1+a:])
			if c == 0 {
				return 0
			}
			return 1 + a + c + int(clen)
		}
		return 0
	}
	n, a := lenValue(b)
	if a == 0 {
		return 0
	}
	return a + int(n)
}

// rawPayload builds a DUMP payload from a whole key record: the type byte
// and the value as stored, then version and CRC-64.
func rawPayload(record []byte, version int) []byte {
	t := rawStart(record)
	if t < 0 {
		return nil
	}
	ks := strSize(record[t+1:])
	body := len(record) - t - ks
	out := make([]byte, 0, body+10)
	out = append(out, record[t])
	out = append(out, record[t+1+ks:]...)
	out = binary.LittleEndian.AppendUint16(out, uint16(version))
	return binary.LittleEndian.AppendUint64(out, rdb.CRC64(0, out))
}
