package salvage

import (
	"fmt"
	"io"
)

// A checksum mismatch that no damaged record, changed byte or damaged
// trailer explains means that bytes changed inside the content of some
// value, where nothing but the checksum can see it (the text of a string,
// a plain list node...). Every key is then in doubt. The checksum can
// still prove where the change is, one hypothesis at a time: a region
// whose bytes break a repeating pattern that runs on, unchanged, on both
// sides of it (zeroed or overwritten bytes in padding, runs, bitmaps) is
// refilled with the pattern, and if the checksum of the file then matches
// the stored one, that region is where the change was (a false match is
// as likely as 2^-64). The keys whose records hold it are lost; all others
// are proven. When no hypothesis matches, no key is proven and none is
// recovered unless Options.KeepUnverified.

// contentChange is what is known of such a change.
type contentChange struct {
	located []Range // proven changed regions
	all     bool    // not located: every key is in doubt
}

// unexplained reports whether the checksum mismatches with nothing that
// explains it yet.
func unexplained(ci checksumInfo) bool {
	return ci.present && ci.stored != 0 && ci.stored != ci.computed && ci.fix == nil && !ci.trailer
}

// patternGap is a candidate changed region: [start, end) breaks a pattern
// of period p whose first period starts at base.
type patternGap struct {
	start, end int64
	base       int64
	p          int
}

// findPatternGaps looks for regions between two stretches of the same
// repeating non-zero pattern (period 1 to 8, at least 64 bytes each side).
func findPatternGaps(ra io.ReaderAt, size int64, limit int) []patternGap {
	const minRun, maxGap = 64, 1 << 20
	type runState struct {
		start   int64 // start of the current periodic stretch
		prevEnd int64 // end of the last stretch of at least minRun bytes
		prevBeg int64
		prevOK  bool
	}
	var out []patternGap
	var st [9]runState
	for p := 1; p <= 8; p++ {
		st[p].start = 9
	}
	buf := make([]byte, 1<<20)
	var hist [8]byte // the 8 bytes before buf
	body := size - 8
	get := func(chunk []byte, base, off int64) byte {
		if off >= base {
			return chunk[off-base]
		}
		return hist[8-(base-off)]
	}
	for base := int64(9); base < body; base += int64(len(buf)) {
		n := min(int64(len(buf)), body-base)
		chunk := buf[:n]
		if _, err := ra.ReadAt(chunk, base); err != nil && err != io.EOF {
			return out
		}
		for i := int64(0); i < n; i++ {
			off := base + i
			b := chunk[i]
			for p := 1; p <= 8; p++ {
				s := &st[p]
				if off-int64(p) < 9 {
					continue
				}
				if b == get(chunk, base, off-int64(p)) && b != 0 {
					continue
				}
				// The stretch ends here.
				if off-s.start >= minRun {
					if s.prevOK && s.start-s.prevEnd <= maxGap && s.start > s.prevEnd && inPhase(ra, s.prevBeg, s.start, p) {
						out = append(out, patternGap{start: s.prevEnd, end: s.start, base: s.prevBeg, p: p})
						if len(out) >= limit {
							return out
						}
					}
					s.prevBeg, s.prevEnd, s.prevOK = s.start, off, true
				}
				s.start = off
			}
		}
		if n >= 8 {
			copy(hist[:], chunk[n-8:])
		}
	}
	return out
}

// inPhase reports whether the p bytes at next continue the pattern of
// period p that starts at base.
func inPhase(ra io.ReaderAt, base, next int64, p int) bool {
	var a, b [8]byte
	if _, err := ra.ReadAt(a[:p], base); err != nil {
		return false
	}
	if _, err := ra.ReadAt(b[:p], next); err != nil {
		return false
	}
	for i := 0; i < p; i++ {
		if b[i] != a[(next+int64(i)-base)%int64(p)] {
			return false
		}
	}
	return true
}

// fillReaderAt serves ra with [start, end) refilled with the pattern of
// period p found at base.
type fillReaderAt struct {
	ra         io.ReaderAt
	start, end int64
	pat        []byte
	base       int64
}

func (f *fillReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := f.ra.ReadAt(b, off)
	for i := max(off, f.start); i < min(off+int64(n), f.end); i++ {
		b[i-off] = f.pat[(i-f.base)%int64(len(f.pat))]
	}
	return n, err
}

// locateContent tries to prove where an unexplained change is.
func locateContent(ra io.ReaderAt, size int64, ci checksumInfo) *contentChange {
	for _, g := range findPatternGaps(ra, size, 16) {
		pat := make([]byte, g.p)
		if _, err := ra.ReadAt(pat, g.base); err != nil {
			continue
		}
		f := &fillReaderAt{ra: ra, start: g.start, end: g.end, pat: pat, base: g.base}
		if crcOf(f, size-8) == ci.stored {
			return &contentChange{located: []Range{{g.start, g.end}}}
		}
	}
	return &contentChange{all: true}
}

// crcOf checksums the first n bytes of ra (0 when they cannot be read).
func crcOf(ra io.ReaderAt, n int64) uint64 {
	crc, err := crcPrefix(ra, n)
	if err != nil {
		return 0
	}
	return crc
}

// doubt says why the record [start, end) is not recovered, or "".
func (c *contentChange) doubt(start, end int64, keep bool) string {
	if c.all {
		if keep {
			return ""
		}
		return "the checksum shows that bytes changed inside some value's content and nothing shows which: not verified"
	}
	for _, r := range c.located {
		if start < r.End && r.Start < end {
			return fmt.Sprintf("its value holds [%d, %d), where the checksum proves bytes changed", r.Start, r.End)
		}
	}
	return ""
}
