package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

type scored struct {
	m      []byte
	s      float64
	off, n int
}

func (c *CollectionWriter) closeZSet() error {
	w := c.w
	lim := &w.lim
	if c.n <= int64(lim.ZSetMaxEntries) && c.maxLen <= lim.ZSetMaxValue {
		// Members go to one reused arena; they are sliced once it is full.
		all, arena := w.zsAll[:0], w.zsArena[:0]
		if err := c.elements(func(e Element) error {
			all = append(all, scored{s: e.Score, off: len(arena), n: len(e.Member)})
			arena = append(arena, e.Member...)
			return nil
		}); err != nil {
			return err
		}
		for i := range all {
			all[i].m = arena[all[i].off : all[i].off+all[i].n : all[i].off+all[i].n]
		}
		w.zsAll, w.zsArena = all, arena
		slices.SortFunc(all, func(a, b scored) int {
			if a.s != b.s {
				if a.s < b.s {
					return -1
				}
				return 1
			}
			return bytes.Compare(a.m, b.m)
		})
		// By score first: one member given twice with two scores is not
		// in neighbouring places.
		seen := w.seenMap()
		for _, e := range all {
			if seen[string(e.m)] {
				return fmt.Errorf("rdb: key %q: duplicate sorted set member %q", c.h.Key, e.m)
			}
			seen[string(e.m)] = true
		}
		if w.t.at(10) {
			var lb compact.ListpackBuilder
			for _, e := range all {
				lb.Append(e.m)
				if v, ok := double2ll(e.s); ok {
					lb.AppendInt(v)
				} else {
					w.scoreBuf = w.appendScoreText(w.scoreBuf[:0], e.s)
					lb.Append(w.scoreBuf)
				}
			}
			return c.blob(typeZSetListpack, lb.Bytes())
		}
		var zb compact.ZiplistBuilder
		for _, e := range all {
			zb.Append(e.m)
			zb.Append(d2stringOld(e.s))
		}
		return c.blob(typeZSetZiplist, zb.Bytes())
	}
	typ := w.zsetPlainType()
	if err := w.keyHeader(&c.h, typ); err != nil {
		return err
	}
	o := &w.o
	o.len(uint64(c.n))
	return c.plainElements(func(e Element) error {
		o.str(e.Member)
		if typ == typeZSet2 {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(e.Score))
			o.small(b[:])
		} else {
			o.buf = appendTextScore(o.buf, e.Score)
		}
		return o.err
	})
}

// double2ll is Redis 7's double2ll: integral values within ±LLONG_MAX/2.
func double2ll(d float64) (int64, bool) {
	if d < float64(-math.MaxInt64/2) || d > float64(math.MaxInt64/2) {
		return 0, false
	}
	ll := int64(d)
	if float64(ll) == d {
		return ll, true
	}
	return 0, false
}

// d2stringOld is d2string of Redis 2.8 to 6.2.
func d2stringOld(d float64) []byte {
	switch {
	case math.IsNaN(d):
		return []byte("nan")
	case math.IsInf(d, 1):
		return []byte("inf")
	case math.IsInf(d, -1):
		return []byte("-inf")
	case d == 0:
		if math.Signbit(d) {
			return []byte("-0")
		}
		return []byte("0")
	}
	if d > -4503599627370495 && d < 4503599627370496 && d == float64(int64(d)) {
		return strconv.AppendInt(nil, int64(d), 10)
	}
	return []byte(strconv.FormatFloat(d, 'g', 17, 64))
}

// appendScoreText appends scoreText(d).
func (w *Writer) appendScoreText(dst []byte, d float64) []byte {
	if !w.t.at(11) && !math.IsInf(d, 0) {
		return strconv.AppendFloat(dst, d, 'g', 17, 64)
	}
	return append(dst, w.scoreText(d)...)
}

// scoreText is the d2string of the target for scores that are not integral.
func (w *Writer) scoreText(d float64) []byte {
	switch {
	case math.IsInf(d, 1):
		return []byte("inf")
	case math.IsInf(d, -1):
		return []byte("-inf")
	}
	if w.t.at(11) {
		return fpconvDtoa(d)
	}
	return []byte(strconv.FormatFloat(d, 'g', 17, 64))
}

// fpconvDtoa formats like Redis 7.2's fpconv_dtoa: shortest digits, plain
// notation for moderate exponents, else d.ddde±x with no exponent padding.
func fpconvDtoa(d float64) []byte {
	if d == 0 {
		if math.Signbit(d) {
			return []byte("-0")
		}
		return []byte("0")
	}
	var out []byte
	if math.Signbit(d) {
		out = append(out, '-')
		d = -d
	}
	if math.IsInf(d, 0) {
		return append(out, "inf"...)
	}
	if math.IsNaN(d) {
		return append(out, "nan"...)
	}
	e := strconv.FormatFloat(d, 'e', -1, 64) // d.ddde±XX
	mant, exps, _ := bytes.Cut([]byte(e), []byte("e"))
	digits := bytes.Replace(mant, []byte("."), nil, 1)
	x, _ := strconv.Atoi(string(exps))
	nd := len(digits)
	K := x - (nd - 1)
	exp := K + nd - 1
	if exp < 0 {
		exp = -exp
	}
	if K >= 0 && exp < nd+7 {
		out = append(out, digits...)
		for i := 0; i < K; i++ {
			out = append(out, '0')
		}
		return out
	}
	if K < 0 && (K > -7 || exp < 4) {
		offset := nd + K
		if offset <= 0 {
			out = append(out, '0', '.')
			for i := 0; i < -offset; i++ {
				out = append(out, '0')
			}
			return append(out, digits...)
		}
		out = append(out, digits[:offset]...)
		out = append(out, '.')
		return append(out, digits[offset:]...)
	}
	out = append(out, digits[0])
	if nd > 1 {
		out = append(out, '.')
		out = append(out, digits[1:]...)
	}
	out = append(out, 'e')
	if K+nd-1 < 0 {
		out = append(out, '-')
	} else {
		out = append(out, '+')
	}
	return strconv.AppendInt(out, int64(exp), 10)
}

// appendTextScore is rdbSaveDoubleValue (RDB < 8 sorted sets).
func appendTextScore(b []byte, d float64) []byte {
	switch {
	case math.IsNaN(d):
		return append(b, 253)
	case math.IsInf(d, 1):
		return append(b, 254)
	case math.IsInf(d, -1):
		return append(b, 255)
	}
	var s []byte
	if d > -4503599627370495 && d < 4503599627370496 && d == float64(int64(d)) {
		s = strconv.AppendInt(nil, int64(d), 10)
	} else {
		s = strconv.AppendFloat(nil, d, 'g', 17, 64)
	}
	b = append(b, byte(len(s)))
	return append(b, s...)
}
