package salvage

import (
	"errors"
	"io"
	"strings"

	"github.com/rdbtool/rdbtool/rdb"
)

// resync finds the first offset at or after from where records can be
// read again: a plausible record start followed by records that decode
// and validate, up to the end-of-file marker or for several records.
// When the first record read from there confirms nothing about its own
// length, a start found inside it wins: the first was bytes of the damaged
// region that happened to decode. It returns -1 when there is none.
func (s *scanner) resync(from int64) int64 {
	c, weak, end := s.find(from, s.size)
	for c >= 0 && weak {
		c2, weak2, end2 := s.find(c+1, end)
		if c2 < 0 {
			break
		}
		c, weak, end = c2, weak2, end2
	}
	return c
}

// find returns the first start in [from, limit) that try accepts.
func (s *scanner) find(from, limit int64) (c int64, weak bool, end int64) {
	const chunk = 1 << 20
	buf := make([]byte, min(chunk, max(limit-from, 1)))
	for base := from; base < limit; base += int64(len(buf)) {
		// Trials may read 8 bytes beyond their window for each byte
		// scanned (see try), and a first large window is always allowed.
		s.trialBudget = min(s.trialBudget+8*int64(len(buf)), max(s.trialBudget, 64<<20))
		n, err := s.ra.ReadAt(buf, base)
		if n <= 0 && err != nil {
			return -1, false, 0
		}
		if int64(n) > limit-base {
			n = int(limit - base)
		}
		for i := 0; i < n; i++ {
			if buf[i] == 0 {
				// A zero run: every start in it but its last two reads as
				// an empty key with an empty string, never a record (as
				// plausible says, but a byte at a time here).
				j := i + 1
				for j < n && buf[j] == 0 {
					j++
				}
				if j-i > 3 {
					i = j - 3
					continue
				}
			}
			if !s.start[buf[i]] || !s.plausible(buf[i:], base+int64(i)) {
				continue
			}
			if ok, weak, end := s.try(base + int64(i)); ok {
				return base + int64(i), weak, end
			}
		}
	}
	return -1, false, 0
}

// try reports whether records can be read from c, and whether the first
// one is a key that does not confirm its own length, ending at end.
func (s *scanner) try(c int64) (ok, weak bool, end int64) {
	for i, window := range []int64{256 << 10, 16 << 20, 0} {
		if i > 0 {
			// A larger window reads up to its size. Bytes of a damaged range
			// often claim lengths of megabytes; trials at every offset
			// reading that much made scanning a range quadratic. Larger
			// windows are paid from a budget that grows with the bytes
			// scanned, so a scan stays linear in the range's size.
			cost := min(window, s.size-c)
			if window == 0 {
				cost = s.size - c
			}
			if s.trialBudget < cost {
				return false, false, 0
			}
			s.trialBudget -= cost
		}
		ok, more, weak, end := s.tryWindow(c, window)
		if ok || !more {
			return ok, weak, end
		}
		if window >= s.size-c {
			return false, false, 0
		}
	}
	return false, false, 0
}

// tryWindow reads records from c within window bytes. more reports that
// the attempt failed only because the window was too small.
func (s *scanner) tryWindow(c int64, window int64) (ok, more, firstWeak bool, firstEnd int64) {
	r := s.readerAt(c, window, s.db)
	limit := s.size - c
	if window > 0 && window < limit {
		limit = window
	}
	var local hashSet
	n := 0
	for n < 8 {
		rec, err := r.Next()
		if err == io.EOF {
			return r.Offset() == s.size, false, firstWeak, firstEnd
		}
		if err != nil {
			return false, windowErr(err, c+limit, s.size), false, 0
		}
		switch rec.Kind {
		case rdb.KindKey:
			if !s.types[rec.RDBType] {
				return false, false, false, 0
			}
			if rec.ExpireAt < 0 || rec.ExpireAt > 1e14 {
				return false, false, false, 0
			}
			s.v.trial = true
			weak, err := s.v.check(r, rec)
			s.v.trial = false
			if err != nil {
				if asInconsistency(err) != nil {
					return false, false, false, 0
				}
				return false, windowErr(err, c+limit, s.size), false, 0
			}
			if err := r.Skip(); err != nil {
				return false, windowErr(err, c+limit, s.size), false, 0
			}
			if s.v.note != 0 {
				// Redis accepts these, but servers rarely write them: no
				// evidence of a record boundary.
				return false, false, false, 0
			}
			if rec.Type == rdb.TypeString && len(rec.Key) == 0 && rec.Size <= 3 {
				return false, false, false, 0
			}
			h := s.keyHash(rec.DB, rec.Key)
			if _, seen := s.keys.Lookup(h); seen || !local.add(h) {
				return false, false, false, 0
			}
			if n == 0 {
				firstWeak, firstEnd = weak, rec.Offset+rec.Size
			}
		case rdb.KindAux:
			if n == 0 {
				return false, false, false, 0 // aux fields belong at the start
			}
		}
		n++
		if r.Offset()-c >= 4<<20 && n >= 2 {
			return true, false, firstWeak, firstEnd
		}
	}
	return true, false, firstWeak, firstEnd
}

// windowErr reports whether err may only mean that the trial window ended.
func windowErr(err error, windowEnd, size int64) bool {
	if windowEnd >= size {
		return false
	}
	if errors.Is(err, rdb.ErrTruncated) {
		return true
	}
	var re *rdb.Error
	return errors.As(err, &re) && strings.Contains(re.What, "exceeds")
}
