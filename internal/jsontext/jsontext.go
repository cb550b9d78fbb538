// Package jsontext writes JSON strings that are safe to show on a
// terminal: besides what JSON requires (quotes, backslashes, C0 controls),
// DEL and the C1 controls (U+0080-U+009F; U+009B is CSI) are escaped as
// \u00XX, so a key or value from a snapshot printed as JSON cannot drive
// the terminal it is shown on, and the output stays valid JSON.
package jsontext

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// AppendString appends s, which must be valid UTF-8, as a JSON string.
func AppendString(dst, s []byte) []byte {
	dst, _ = appendString(dst, s, false)
	return dst
}

// AppendValidString appends s as a JSON string and returns true when s is
// valid UTF-8; otherwise it returns dst as it was and false. It reads s
// once: checking with utf8.Valid first and then calling AppendString
// reads it twice.
func AppendValidString(dst, s []byte) ([]byte, bool) {
	return appendString(dst, s, true)
}

// safeASCII holds the bytes copied as they are: printable ASCII but '"'
// and '\\'.
var safeASCII = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// lookMask has the high bit set in each of the 8 bytes of x (the first
// byte lowest) that is not in safeASCII: below 0x20, '"', '\\', 0x7f or
// above; and maybe in bytes after such a byte (borrows and carries run
// upwards), never before one. So it is 0 exactly when all 8 are safe, and
// its lowest set bit is in the first byte that is not.
func lookMask(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	control := (x - 0x20*ones) & ^x
	q := x ^ '"'*ones // a zero byte where x has '"'
	quote := (q - ones) & ^q
	b := x ^ '\\'*ones
	backslash := (b - ones) & ^b
	high := x | (x + ones) // 0x7f + 1 sets the high bit; 0x80 and above have it
	return (control | quote | backslash | high) & highs
}

// appendString appends s as a JSON string. With validate, it stops at the
// first invalid UTF-8 sequence and returns dst as it was and false;
// without, it copies such bytes as they are.
func appendString(dst, s []byte, validate bool) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '"')
	run := 0 // s[run:i] is still to be copied
	i := 0
	for {
		// Skip bytes that need no escaping, 8 at a time, then straight
		// to the first that does; fewer than 8 left, one at a time.
		for i+8 <= len(s) {
			if m := lookMask(binary.LittleEndian.Uint64(s[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		for i < len(s) && safeASCII[s[i]] {
			i++
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			if c == 0xc2 && i+1 < len(s) && s[i+1] < 0xa0 {
				// U+0080-U+009F are encoded C2 80-C2 9F.
				if validate && s[i+1] < 0x80 {
					return dst[:start], false
				}
				dst = append(dst, s[run:i]...)
				dst = append(dst, '\\', 'u', '0', '0', hex[s[i+1]>>4], hex[s[i+1]&15])
				i += 2
				run = i
				continue
			}
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 && validate {
				return dst[:start], false
			}
			i += size
			continue
		}
		dst = append(dst, s[run:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default: // C0 controls and DEL
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		i++
		run = i
	}
	dst = append(dst, s[run:]...)
	return append(dst, '"'), true
}

// EscapeC1 rewrites JSON that encoding/json wrote (valid UTF-8, C0 controls
// already escaped) so that C1 controls and DEL are escaped too. It works
// in place when there is nothing to escape, and returns the result.
func EscapeC1(js []byte) []byte {
	i := 0
	for i < len(js) && js[i] != 0x7f && !(js[i] == 0xc2 && i+1 < len(js) && js[i+1] < 0xa0) {
		i++
	}
	if i == len(js) {
		return js
	}
	out := append(make([]byte, 0, len(js)+16), js[:i]...)
	for ; i < len(js); i++ {
		c := js[i]
		switch {
		case c == 0x7f:
			out = append(out, '\\', 'u', '0', '0', '7', 'f')
		case c == 0xc2 && i+1 < len(js) && js[i+1] < 0xa0:
			// 0xc2 is never a continuation byte: this is U+0080-U+009F,
			// which in JSON can only be inside a string.
			i++
			out = append(out, '\\', 'u', '0', '0', hex[js[i]>>4], hex[js[i]&15])
		default:
			out = append(out, c)
		}
	}
	return out
}
