package salvage

import (
	"encoding/binary"

	"github.com/rdbtool/rdbtool/rdb"
)

// plausible is a quick look at the bytes at the start of p (which is at
// file offset off) that rejects most offsets where no record can start,
// before the cost of a trial read. It reports true when p is too short
// to tell.
func (s *scanner) plausible(p []byte, off int64) bool {
	rem := s.size - off
	i := 0
	need := func(n int) bool { return i+n <= len(p) }
	// length reads an RDB length; ok false when invalid, short when p ends.
	length := func() (n uint64, special, ok, short bool) {
		if !need(1) {
			return 0, false, true, true
		}
		n, special, size := rdb.DecodeLength(p[i:])
		if size <= 0 {
			return 0, false, size == 0, size == 0
		}
		i += size
		return n, special, true, false
	}
	// str checks an RDB string header; it reports (ok, short).
	str := func() (bool, bool) {
		if !need(1) {
			return true, true
		}
		f, size := rdb.DecodeStringFrame(p[i:])
		if size <= 0 {
			return size == 0, size == 0
		}
		if !f.Int && f.Stored > uint64(rem) {
			return false, false
		}
		i += f.HeaderSize + int(f.Stored)
		return true, false
	}
	prefix := false
	for {
		if !need(1) {
			return true
		}
		b := p[i]
		switch b {
		case rdb.OpcodeExpireTimeMS:
			if !need(9) {
				return true
			}
			ms := int64(binary.LittleEndian.Uint64(p[i+1:]))
			if ms <= 0 || ms > 1e14 {
				return false
			}
			i += 9
			prefix = true
			continue
		case rdb.OpcodeExpireTime:
			i += 5
			prefix = true
			continue
		case rdb.OpcodeIdle:
			i++
			if _, sp, ok, short := length(); short {
				return true
			} else if !ok || sp {
				return false
			}
			prefix = true
			continue
		case rdb.OpcodeFreq:
			i += 2
			prefix = true
			continue
		}
		if b >= rdb.OpcodeKeyMeta {
			if prefix {
				return false
			}
			i++
			switch b {
			case rdb.OpcodeEOF:
				return off+9 == s.size || (s.version < 5 && off+1 == s.size)
			case rdb.OpcodeSelectDB:
				db, sp, ok, short := length()
				return short || (ok && !sp && db < 1<<20)
			case rdb.OpcodeResizeDB:
				for k := 0; k < 2; k++ {
					if _, sp, ok, short := length(); short {
						return true
					} else if !ok || sp {
						return false
					}
				}
				return true
			case rdb.OpcodeAux:
				if ok, short := str(); short {
					return true
				} else if !ok {
					return false
				}
				ok, short := str()
				return ok || short
			}
			return true
		}
		if !s.types[b] {
			return false
		}
		i++
		if ok, short := str(); short {
			return true
		} else if !ok {
			return false
		}
		if b == 0 {
			if !prefix && i == 2 && need(1) && p[1] == 0 && p[2] == 0 {
				// An empty key with an empty string (zeroed bytes read
				// so): what tryWindow rejects first.
				return false
			}
			ok, short := str()
			return ok || short
		}
		return true
	}
}
