package salvage

// hashSet is an open-addressing set of 64-bit hashes: 8 bytes a slot, no
// per-entry allocation. Zero is stored out of band.
type hashSet struct {
	slots   []uint64
	n       int
	hasZero bool
	spare   []uint64 // a large table kept for reuse, not cleared yet
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
	if (s.n+1)*4 > len(s.slots)*3 {
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

// touch reads the slots where hs would go first, so that their cache
// misses overlap (the caller keeps the result so the reads are not
// dropped); add then finds them in the cache.
func (s *hashSet) touch(hs []uint64) (x uint64) {
	if len(s.slots) == 0 {
		return 0
	}
	mask := uint64(len(s.slots) - 1)
	for _, h := range hs {
		x ^= s.slots[h&mask]
	}
	return x
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
	s.resize(max(64, len(s.slots)*2))
}

// reserve makes room for n more entries without growing on the way.
func (s *hashSet) reserve(n int) {
	want := 64
	for (s.n+n)*4 > want*3 {
		want *= 2
	}
	if want > len(s.slots) {
		// The spare only when it is about the size wanted: clearing a
		// table of millions of slots for a small set cost more than
		// filling it.
		if s.n == 0 && len(s.spare) >= want && len(s.spare) <= 4*want {
			s.slots, s.spare = s.spare, nil
			clear(s.slots)
			return
		}
		s.resize(want)
	}
}

func (s *hashSet) resize(n int) {
	old := s.slots
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

// reset empties the set. A large table is kept aside for the next large
// set (reserve clears it then): clearing it for every small one would cost
// more than filling it.
func (s *hashSet) reset() {
	if len(s.slots) > 1<<16 {
		if len(s.slots) <= 1<<22 {
			s.spare = s.slots
		}
		s.slots = nil
	} else if s.n > 0 && s.n*64 < len(s.slots) {
		// A few entries in a large table (a trial read of a bogus
		// collection): a fresh small table is cheaper than clearing.
		s.slots = nil
	} else if s.n > 0 {
		clear(s.slots)
	}
	s.n = 0
	s.hasZero = false
}
