package salvage

import "encoding/binary"

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
		b := p[i]
		switch b >> 6 {
		case 0:
			i++
			return uint64(b), false, true, false
		case 1:
			if !need(2) {
				return 0, false, true, true
			}
			n = uint64(b&0x3f)<<8 | uint64(p[i+1])
			i += 2
			return n, false, true, false
		case 3:
			i++
			return uint64(b & 0x3f), true, true, false
		}
		switch b {
		case 0x80:
			if !need(5) {
				return 0, false, true, true
			}
			n = uint64(binary.BigEndian.Uint32(p[i+1:]))
			i += 5
			return n, false, true, false
		case 0x81:
			if !need(9) {
				return 0, false, true, true
			}
			n = binary.BigEndian.Uint64(p[i+1:])
			i += 9
			return n, false, true, false
		}
		return 0, false, false, false
	}
	// str checks an RDB string header; it reports (ok, short).
	str := func() (bool, bool) {
		n, special, ok, short := length()
		if !ok || short {
			return ok, short
		}
		if !special {
			if n > uint64(rem) {
				return false, false
			}
			i += int(n)
			return true, false
		}
		switch n {
		case 0:
			i++
		case 1:
			i += 2
		case 2:
			i += 4
		case 3:
			clen, sp, ok, short := length()
			if !ok || short || sp {
				return ok && !sp, short
			}
			ulen, sp, ok, short := length()
			if !ok || short || sp {
				return ok && !sp, short
			}
			if clen == 0 || clen > uint64(rem) || ulen > clen*88+8 {
				return false, false
			}
			i += int(clen)
		default:
			return false, false
		}
		return true, false
	}
	prefix := false
	for {
		if !need(1) {
			return true
		}
		b := p[i]
		switch b {
		case 252:
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
		case 253:
			i += 5
			prefix = true
			continue
		case 248:
			i++
			if _, sp, ok, short := length(); short {
				return true
			} else if !ok || sp {
				return false
			}
			prefix = true
			continue
		case 249:
			i += 2
			prefix = true
			continue
		}
		if b >= 243 {
			if prefix {
				return false
			}
			i++
			switch b {
			case 255:
				return off+9 == s.size || (s.version < 5 && off+1 == s.size)
			case 254:
				db, sp, ok, short := length()
				return short || (ok && !sp && db < 1<<20)
			case 251:
				for k := 0; k < 2; k++ {
					if _, sp, ok, short := length(); short {
						return true
					} else if !ok || sp {
						return false
					}
				}
				return true
			case 250:
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
