package salvage

import (
	"encoding/binary"
	"io"
	"math"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rdb/compact"
)

// A damaged value that is a long run of elements (a hash, set or sorted set
// in its plain encoding, a quicklist) can be megabytes long, and the range
// passed over after it as long. Keys after such a range keep their
// database only if the range cannot hide a database selection, and its
// size alone says nothing. Its structure does: when the value's elements,
// read one after another from its header (or from a little after the
// point where decoding failed), lead exactly to where records resume, the
// range is that one value. Bytes that are not the value's own would have
// to read as a long run of well-formed elements ending exactly there;
// random bytes fail as an element about every other time, so only a few
// elements' worth of damage can hide in such a run. Zeroed bytes do read
// as empty elements, so zero runs are counted as unknown in full.

// failedValue is what the scan knows of the key whose value failed; the
// zero value (type 0, a string, which has no elements) means none.
type failedValue struct {
	rdbType byte
	vs      int64 // where the value starts (after the key)
	at      int64 // where decoding noticed the failure
}

// walkWindow reads the input through a sliding buffer.
type walkWindow struct {
	ra   io.ReaderAt
	base int64
	buf  []byte
	lzf  []byte
}

func (w *walkWindow) bytes(off int64, n int) []byte {
	if off < w.base || off+int64(n) > w.base+int64(len(w.buf)) {
		if cap(w.buf) == 0 {
			w.buf = make([]byte, 1<<20)
		}
		w.buf = w.buf[:cap(w.buf)]
		if n > len(w.buf) {
			w.buf = make([]byte, n)
		}
		m, _ := w.ra.ReadAt(w.buf, off)
		w.base, w.buf = off, w.buf[:m]
	}
	i := off - w.base
	if i < 0 || i+int64(n) > int64(len(w.buf)) {
		return nil
	}
	return w.buf[i : i+int64(n)]
}

func (w *walkWindow) byteAt(off int64) (byte, bool) {
	p := w.bytes(off, 1)
	if p == nil {
		return 0, false
	}
	return p[0], true
}

// upTo returns the up to n bytes at off: fewer at the end of the input.
func (w *walkWindow) upTo(off int64, n int) []byte {
	if p := w.bytes(off, n); p != nil {
		return p
	}
	// The window was read from off and holds all that is left.
	if w.bytes(off, 1) == nil {
		return nil
	}
	return w.buf[off-w.base:]
}

// length reads a plain length at off.
func (w *walkWindow) length(off int64) (n uint64, end int64, ok bool) {
	n, special, size := rdb.DecodeLength(w.upTo(off, 9))
	if size <= 0 || special {
		return 0, 0, false
	}
	return n, off + int64(size), true
}

// str reads the frame of a string at off and returns where it ends and
// where its bytes start (content < 0 for an integer or LZF string). An LZF
// string must decompress to exactly its declared length.
func (w *walkWindow) str(off, limit int64) (end, content int64, ok bool) {
	f, size := rdb.DecodeStringFrame(w.upTo(off, 19))
	if size <= 0 {
		return 0, 0, false
	}
	if room := limit - off - int64(f.HeaderSize); room < 0 || f.Stored > uint64(room) {
		return 0, 0, false
	}
	p := off + int64(f.HeaderSize)
	end = p + int64(f.Stored)
	switch {
	case f.Int:
		return end, -1, true
	case !f.LZF:
		return end, p, true
	}
	clen, ulen := f.Stored, f.Len
	if ulen < clen || ulen > compact.LZFMaxRatio*clen {
		return 0, 0, false
	}
	if clen <= 1<<20 && ulen <= 8<<20 {
		src := w.bytes(p, int(clen))
		if src == nil {
			return 0, 0, false
		}
		out, err := compact.LZFDecompress(src, int(ulen), w.lzf)
		if err != nil {
			return 0, 0, false
		}
		w.lzf = out[:0]
	}
	return end, -1, true
}

// element reads one element of a value of type t at off.
func (w *walkWindow) element(t byte, off, limit int64) (int64, bool) {
	switch t {
	case 1, 2, 4: // list (linked), set, hash: strings
		end, _, ok := w.str(off, limit)
		return end, ok
	case 3: // sorted set: member, score as text
		end, _, ok := w.str(off, limit)
		if !ok {
			return 0, false
		}
		d, ok := w.byteAt(end)
		switch {
		case !ok || d == 253:
			return 0, false
		case d >= 254:
			return end + 1, end+1 <= limit
		}
		return end + 1 + int64(d), end+1+int64(d) <= limit
	case 5: // sorted set: member, binary score
		end, _, ok := w.str(off, limit)
		if !ok || end+8 > limit {
			return 0, false
		}
		p := w.bytes(end, 8)
		if p == nil || math.IsNaN(math.Float64frombits(binary.LittleEndian.Uint64(p))) {
			return 0, false
		}
		return end + 8, true
	case 14, 18: // quicklist: ziplist or listpack nodes
		p := off
		packed := t == 14
		if t == 18 {
			c, ok := w.byteAt(off)
			if !ok || (c != 1 && c != 2) {
				return 0, false
			}
			packed, p = c == 2, off+1
		}
		end, content, ok := w.str(p, limit)
		if !ok {
			return 0, false
		}
		if packed && content >= 0 {
			// A ziplist or listpack states its own size and ends with 0xFF.
			n := end - content
			h := w.bytes(content, 4)
			last, ok := w.byteAt(end - 1)
			if h == nil || !ok || int64(binary.LittleEndian.Uint32(h)) != n || last != 0xFF {
				return 0, false
			}
		}
		return end, true
	}
	return 0, false
}

// walkable reports whether values of RDB type t are a flat run of elements
// the walk can read.
func walkable(t byte) bool {
	switch t {
	case 1, 2, 3, 4, 5, 14, 18:
		return true
	}
	return false
}

// garbageElements is how many elements in a row damage is taken to be able
// to read as: random bytes pass as one about half the time.
const garbageElements = 16

// zeroRunBytes counts the bytes of runs of 16 or more zero bytes in
// [from, to).
func (w *walkWindow) zeroRunBytes(from, to int64) int64 {
	var total, run int64
	for base := from; base < to; base += 1 << 20 {
		n := int(min(1<<20, to-base))
		p := w.bytes(base, n)
		if p == nil {
			return to - from
		}
		for _, b := range p {
			if b == 0 {
				run++
				continue
			}
			if run >= 16 {
				total += run
			}
			run = 0
		}
	}
	if run >= 16 {
		total += run
	}
	return total
}

// valueRangeUnknown bounds how many bytes of the damaged range
// [start, next) may hide records, given that the key whose value failed
// (fv) starts its value inside it. It returns -1 when that cannot be shown.
//
// The value's elements are read from its header on. Undamaged, they have
// the sizes the value's elements have; where the damage begins they either
// fail or turn into a run of odd sizes (bytes read as lengths out of step
// with the real elements, which can go on for many elements in text before
// falling back in step). The damage is then located between the first odd
// element (or the failure) and the first offset after it from which
// elements of ordinary size lead exactly to next.
//
// beat is the bound the caller has already: when the bytes counted in any
// case (the value's header, its zero runs and the margin) reach it, the
// walk cannot improve on it and is not made (-1).
func (s *scanner) valueRangeUnknown(fv failedValue, start, next, beat int64) int64 {
	if !walkable(fv.rdbType) || fv.vs < start || fv.vs >= next {
		return -1
	}
	w := &walkWindow{ra: s.ra}
	_, first, ok := w.length(fv.vs) // the element count
	if !ok || first >= next {
		return -1
	}
	zeros := w.zeroRunBytes(first, next)
	head := fv.vs - start
	if head+zeros+64 >= beat {
		return -1
	}
	budget := 1 << 24
	limit := next
	if fv.at > first && fv.at < next {
		limit = fv.at
	}
	// Pass 1: the sizes of the elements before the failure.
	var hist [64]int64
	var count int64
	reachedNext := false
	for off := first; off < limit; {
		end, ok := w.element(fv.rdbType, off, next)
		if !ok {
			break
		}
		hist[bitLen(end-off)]++
		count++
		off = end
		reachedNext = off == next
		if budget--; budget <= 0 {
			return -1
		}
	}
	if count < 16 {
		return -1 // too few elements to know their sizes
	}
	// An ordinary element is at most 4 times the 99th percentile of sizes.
	var seen int64
	typical := int64(1)
	for b, n := range hist {
		seen += n
		if seen*100 >= count*99 {
			typical = int64(1) << b
			break
		}
	}
	odd := max(256, 4*typical)
	var largest int64 // the largest ordinary element read before the failure
	// Pass 2: the first odd element (or the one where decoding failed, if
	// that comes first), and the elements just before it.
	var recent [garbageElements]int64
	ri := 0
	anom := int64(-1)
	for off := first; off < next; {
		if off >= limit && limit < next {
			anom = off
			break
		}
		end, ok := w.element(fv.rdbType, off, next)
		if !ok && w.opcodesTo(off, next) {
			reachedNext = true
			break
		}
		if !ok || end-off > odd {
			anom = off
			break
		}
		recent[ri%len(recent)] = end - off
		ri++
		largest = max(largest, end-off)
		off = end
		if budget--; budget <= 0 {
			return -1
		}
	}
	if s.selectionIn(w, first, next, next) {
		return -1
	}
	// Damage can pass for a few ordinary elements on either side of what
	// was found. Quicklist nodes check their own size and terminator (or
	// decompress to exactly their length), which damage does not pass,
	// unless it changed only the literal bytes of one compressed node.
	passes := int64(garbageElements)
	if fv.rdbType == 14 || fv.rdbType == 18 {
		passes = 1
	}
	margin := passes*largest + 64
	if anom < 0 {
		if !reachedNext {
			return -1
		}
		// Ordinary elements all the way: the damage is within them
		// (zeroed bytes read as empty ones).
		return head + zeros + margin
	}
	var lookback int64
	for i := int64(1); i <= passes && i <= int64(ri); i++ {
		lookback += recent[(int64(ri)-i)%int64(len(recent))]
	}
	for p := anom + 1; p < next && p < anom+1<<20; p++ {
		if w.walkOrdinary(fv.rdbType, p, next, odd, &budget) {
			return head + lookback + (p - anom) + zeros + margin
		}
		if budget <= 0 {
			return -1
		}
	}
	return -1
}

// selectionIn reports whether a selection of a later database with its
// size hint (RDB 7 and later) starts in [from, to), reading no further
// than end: one cut short by end counts, and so does one that reaches end
// or from whose end records can be read. The range may then hold more
// than one database's records.
func (s *scanner) selectionIn(w *walkWindow, from, to, end int64) bool {
	if s.version < 7 {
		return false
	}
	for base := from; base < to; base += 1 << 20 {
		n := int(min(1<<20, to-base))
		p := w.bytes(base, n)
		if p == nil {
			return true
		}
		for i := 0; i < len(p); i++ {
			if p[i] != rdb.OpcodeSelectDB {
				continue
			}
			at := base + int64(i)
			db, m := s.selectAt(w.bytes(at, int(min(32, end-at))))
			if m < 0 || (m > 0 && db > uint64(s.ev.certainDB) && (at+int64(m) >= end || s.startsChain(at+int64(m)))) {
				return true
			}
			p = w.bytes(base, n) // the window may have moved
		}
	}
	return false
}

// walkOrdinary reports whether elements no larger than odd lead from off
// exactly to limit, or to the opcodes that precede the key there.
func (w *walkWindow) walkOrdinary(t byte, off, limit, odd int64, budget *int) bool {
	for off < limit {
		if *budget <= 0 {
			return false
		}
		*budget--
		end, ok := w.element(t, off, limit)
		if !ok || end-off > odd {
			return w.opcodesTo(off, limit)
		}
		off = end
	}
	return off == limit
}

// opcodesTo reports whether [off, limit) is a run of the opcodes that
// precede a key record (expiry, idle time, frequency): records resumed at
// the key itself, its opcodes having been taken for damaged bytes.
func (w *walkWindow) opcodesTo(off, limit int64) bool {
	for n := 0; off < limit && n < 4; n++ {
		b, ok := w.byteAt(off)
		if !ok {
			return false
		}
		switch b {
		case rdb.OpcodeExpireTimeMS:
			off += 9
		case rdb.OpcodeExpireTime:
			off += 5
		case rdb.OpcodeFreq:
			off += 2
		case rdb.OpcodeIdle:
			_, end, ok := w.length(off + 1)
			if !ok {
				return false
			}
			off = end
		default:
			return false
		}
	}
	return off == limit
}

func bitLen(n int64) int {
	b := 0
	for n > 0 {
		b++
		n >>= 1
	}
	return b
}
