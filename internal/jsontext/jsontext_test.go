package jsontext

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

var samples = []string{"", "plain", "quote\" back\\ nl\n cr\r tab\t", "esc\x1b[31m bel\a nul\x00 del\x7f",
	"c1 \u0080\u0085\u009b\u009f end", "not c1 \u00a0 é 名前 😀", "\u2028\u2029"}

// TestAppendStringRoundTrip: every string decodes back to itself with
// encoding/json, and no control character is left raw.
func TestAppendStringRoundTrip(t *testing.T) {
	for _, s := range samples {
		js := AppendString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(js, &back); err != nil || back != s {
			t.Errorf("%q -> %s -> %q (%v)", s, js, back, err)
		}
		if hasControl(string(js)) {
			t.Errorf("%q -> %q keeps a control character", s, js)
		}
	}
}

// TestEscapeC1: what encoding/json writes, with C1 controls and DEL
// escaped after it, decodes to the same value.
func TestEscapeC1(t *testing.T) {
	for _, s := range samples {
		js, err := json.Marshal(map[string]string{"k": s})
		if err != nil {
			t.Fatal(err)
		}
		out := EscapeC1(js)
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil || back["k"] != s {
			t.Errorf("%q -> %s -> %q (%v)", s, out, back["k"], err)
		}
		if hasControl(string(out)) {
			t.Errorf("%q -> %q keeps a control character", s, out)
		}
	}
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 })
}

// appendStringBytewise is AppendString as it was before its fast path: the
// reference the fast path must match byte for byte, on any input.
func appendStringBytewise(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		case c == 0xc2 && i+1 < len(s) && s[i+1] < 0xa0:
			// U+0080-U+009F are encoded C2 80-C2 9F.
			i++
			dst = append(dst, '\\', 'u', '0', '0', hex[s[i]>>4], hex[s[i]&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// checkAgainstBytewise fails unless AppendString writes what the
// byte-by-byte reference writes, and AppendValidString writes the same
// when s is valid UTF-8 and nothing (and false) when it is not; both
// after a prefix already in dst.
func checkAgainstBytewise(t *testing.T, s []byte) {
	t.Helper()
	prefix := []byte(`{"k":`)
	want := appendStringBytewise(append([]byte(nil), prefix...), s)
	if got := AppendString(append([]byte(nil), prefix...), s); !bytes.Equal(got, want) {
		t.Fatalf("AppendString(%q) = %q, byte by byte %q", s, got, want)
	}
	got, ok := AppendValidString(append([]byte(nil), prefix...), s)
	if valid := utf8.Valid(s); ok != valid {
		t.Fatalf("AppendValidString(%q) reports %v, utf8.Valid %v", s, ok, valid)
	}
	if !ok {
		want = prefix
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendValidString(%q) = %q, want %q", s, got, want)
	}
}

// Every byte value, and every pair of bytes, at every position of a
// 19-byte string (so in both the 8-byte and the byte-at-a-time loops, and
// across their boundary), renders as the byte-by-byte reference renders it.
func TestAppendStringMatchesBytewise(t *testing.T) {
	for _, s := range samples {
		checkAgainstBytewise(t, []byte(s))
		checkAgainstBytewise(t, []byte(strings.Repeat(s, 9)))
	}
	base := []byte("abcdefghijklmnopqrs")
	for pos := range len(base) {
		for c := range 256 {
			s := bytes.Clone(base)
			s[pos] = byte(c)
			checkAgainstBytewise(t, s)
			checkAgainstBytewise(t, s[:pos+1])
			if pos+1 < len(s) {
				for _, next := range []byte{0x00, 0x1f, '"', 0x41, 0x7f, 0x80, 0x85, 0x9b, 0x9f, 0xa0, 0xbf, 0xc0, 0xff} {
					s[pos+1] = next
					checkAgainstBytewise(t, s)
				}
			}
		}
	}
	// Multi-byte runes (valid, overlong, surrogates, beyond U+10FFFF,
	// truncated) at every alignment.
	for _, r := range []string{"é", "\u0085", "\u00a0", "名", "\u2028", "\u2029", "😀", "\uFFFD",
		"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe5\x90", "\xf0\x9f\x98", "\xc2"} {
		for pos := range 17 {
			checkAgainstBytewise(t, []byte(strings.Repeat("x", pos)+r+"yz\"0123456789"))
			checkAgainstBytewise(t, []byte(strings.Repeat("x", pos)+r))
		}
	}
}

// Random strings drawn mostly from the bytes that need a look, every
// length 0..200.
func TestAppendStringMatchesBytewiseRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2028))
	alphabet := []byte("ab \"\\\n\t\x00\x1b\x7f\x80\x9b\xa0\xbf\xc2\xc3\xe2\x80\xa8\xed\xf0\x9f\xff")
	for n := range 201 {
		for range 50 {
			s := make([]byte, n)
			for i := range s {
				if rng.IntN(4) == 0 {
					s[i] = alphabet[rng.IntN(len(alphabet))]
				} else {
					s[i] = byte('a' + rng.IntN(26))
				}
			}
			checkAgainstBytewise(t, s)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add([]byte(s))
	}
	f.Add([]byte("\xc2\x41 \xe0\xc2\x85 \xed\xa0\x80"))
	f.Fuzz(func(t *testing.T, s []byte) { checkAgainstBytewise(t, s) })
}

// benchText is like mixed.rdb's keys and string values: ASCII words with
// an occasional quote.
var benchText = []byte(`sess:2051961:tok 73x1v1 uniform pending3vlhf4 zulu null1yw6rn "name": charl`)

func BenchmarkAppendString(b *testing.B) {
	for _, c := range []struct {
		name string
		s    []byte
	}{{"ascii16", benchText[:16]}, {"ascii76", benchText}, {"ascii4k", bytes.Repeat(benchText, 54)},
		{"utf8", []byte(strings.Repeat("名前 é😀 ", 10))}} {
		var buf []byte
		b.Run(c.name+"/bytewise", func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				if !utf8.Valid(c.s) {
					b.Fatal("invalid")
				}
				buf = appendStringBytewise(buf[:0], c.s)
			}
		})
		b.Run(c.name+"/valid", func(b *testing.B) {
			b.SetBytes(int64(len(c.s)))
			for b.Loop() {
				var ok bool
				if buf, ok = AppendValidString(buf[:0], c.s); !ok {
					b.Fatal("invalid")
				}
			}
		})
	}
}

// lookMask is 0 exactly when all 8 bytes are in safeASCII, and otherwise
// its lowest set bit is in the first byte that is not: every byte value
// at every position of a safe word, and random words.
func TestLookMaskFindsFirstUnsafeByte(t *testing.T) {
	check := func(w [8]byte) {
		t.Helper()
		first := 8
		for i, c := range w {
			if !safeASCII[c] {
				first = i
				break
			}
		}
		m := lookMask(binary.LittleEndian.Uint64(w[:]))
		if got := bits.TrailingZeros64(m) / 8; got != first {
			t.Fatalf("% x: first flagged byte %d (mask %016x), first unsafe byte %d", w, got, m, first)
		}
	}
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1_000_000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64())
		for i := range w { // mostly safe bytes, so the first unsafe one moves about
			if rng.IntN(3) > 0 {
				w[i] = byte(0x20 + rng.IntN(0x5f))
			}
		}
		check(w)
	}
}
