package salvage

// hashSet is an open-addressing set of 64-bit hashes: 8 bytes a slot, no
// per-entry allocation. Zero is stored out of band.
type hashSet struct {
	slots   []uint64
	n       int
	hasZero bool
}

// add inserts h and reports whether it was new.
func (s *hashSet) add(h uint64) bool {
	if h == 0 {
		if s.hasZero {
			return false
		}
		s.hasZero = true
		return true
	}
	if (s.n+1)*2 > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			return true
		case h:
			return false
		}
	}
}

// has reports whether h is in the set.
func (s *hashSet) has(h uint64) bool {
	if h == 0 {
		return s.hasZero
	}
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case 0:
			return false
		case h:
			return true
		}
	}
}

func (s *hashSet) grow() {
	old := s.slots
	n := len(old) * 2
	if n < 64 {
		n = 64
	}
	s.slots = make([]uint64, n)
	s.n = 0
	mask := uint64(n - 1)
	for _, h := range old {
		if h == 0 {
			continue
		}
		for i := h & mask; ; i = (i + 1) & mask {
			if s.slots[i] == 0 {
				s.slots[i] = h
				s.n++
				break
			}
		}
	}
}

// reset empties the set, keeping small tables for reuse.
func (s *hashSet) reset() {
	if len(s.slots) > 1<<16 {
		s.slots = nil
	} else {
		clear(s.slots)
	}
	s.n = 0
	s.hasZero = false
}
