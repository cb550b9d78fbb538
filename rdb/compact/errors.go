package compact

import (
	"errors"
	"strconv"
)

// ErrCorrupt is matched (via errors.Is) by every *Error returned by this
// package, so callers can test for "malformed compact encoding" without
// caring about the details.
var ErrCorrupt = errors.New("compact: corrupt encoding")

// Error reports a malformed blob. Encoding names the format ("listpack",
// "ziplist", "intset", "zipmap", "lzf"), Offset is the byte offset within the
// blob (or within the compressed input for LZF) where the problem was
// detected, and Msg says what was expected.
type Error struct {
	Encoding string
	Offset   int
	Msg      string
}

// Error formats the error as "<encoding>: offset <n>: <msg>".
func (e *Error) Error() string {
	return e.Encoding + ": offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Is reports whether target is ErrCorrupt.
func (e *Error) Is(target error) bool { return target == ErrCorrupt }

func newErr(enc string, off int, msg string) *Error {
	return &Error{Encoding: enc, Offset: off, Msg: msg}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Entry is one element of a listpack or ziplist: either a string view or an
// integer.
//
// When IsInt is false, Str aliases the blob the entry was read from (its
// capacity is clipped, so appending to it never overwrites the blob); copy it
// if it must outlive the blob. When IsInt is true, Int holds the value and
// Str is nil.
type Entry struct {
	Str   []byte
	Int   int64
	IsInt bool
}

// AppendTo appends the entry's string form to dst: the string bytes, or the
// decimal form of Int.
func (e Entry) AppendTo(dst []byte) []byte {
	if e.IsInt {
		return strconv.AppendInt(dst, e.Int, 10)
	}
	return append(dst, e.Str...)
}

// String returns the entry's string form (allocates).
func (e Entry) String() string { return string(e.AppendTo(nil)) }

// ParseRedisInt reports whether s is a number Redis would store in integer
// form inside a listpack or ziplist, and returns its value. It follows Redis's
// string2ll / lpStringToInt64 rules: 1 to 20 bytes, an optional '-', no '+',
// no leading zeros (except "0" itself), no "-0", and the value must fit in an
// int64.
func ParseRedisInt(s []byte) (int64, bool) {
	n := len(s)
	if n == 0 || n >= 21 {
		return 0, false
	}
	if n == 1 && s[0] == '0' {
		return 0, true
	}
	i := 0
	neg := false
	if s[0] == '-' {
		neg = true
		i = 1
		if n == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		d := uint64(c - '0')
		if v > 1<<64-1-d {
			return 0, false
		}
		v += d
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// entryIter is what listpack and ziplist iterators have in common.
type entryIter interface {
	Next() (Entry, bool)
	Err() error
}

// countEntries walks the rest of it, validating every entry, and returns
// how many there were.
func countEntries(it entryIter) (int, error) {
	n := 0
	for {
		if _, ok := it.Next(); !ok {
			return n, it.Err()
		}
		n++
	}
}
