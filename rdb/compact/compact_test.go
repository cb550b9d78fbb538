package compact

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lpEntries(t testing.TB, blob []byte) []Entry {
	t.Helper()
	it, err := NewListpackIter(blob)
	if err != nil {
		t.Fatal(err)
	}
	var es []Entry
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		es = append(es, e)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return es
}

func zlEntries(t testing.TB, blob []byte) []Entry {
	t.Helper()
	it, err := NewZiplistIter(blob)
	if err != nil {
		t.Fatal(err)
	}
	var es []Entry
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		es = append(es, e)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return es
}

func sameEntry(a, b Entry) bool {
	return a.IsInt == b.IsInt && (a.IsInt && a.Int == b.Int || !a.IsInt && bytes.Equal(a.Str, b.Str))
}

// Each case is one appended element and the exact entry bytes Redis writes.
func TestListpackEntryEncodings(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name  string
		elem  string
		isInt bool
		want  string // hex of the entry (encoding, data, backlen); data elided for long strings
	}{
		{"7bit-0", "0", true, "00 01"},
		{"7bit-127", "127", true, "7f 01"},
		{"13bit-128", "128", true, "c0 80 02"},
		{"13bit-minus1", "-1", true, "df ff 02"},
		{"13bit-4095", "4095", true, "cf ff 02"},
		{"13bit-minus4096", "-4096", true, "d0 00 02"},
		{"16bit-4096", "4096", true, "f1 00 10 03"},
		{"16bit-minus32768", "-32768", true, "f1 00 80 03"},
		{"24bit-32768", "32768", true, "f2 00 80 00 04"},
		{"24bit-minus8388608", "-8388608", true, "f2 00 00 80 04"},
		{"32bit-8388608", "8388608", true, "f3 00 00 80 00 05"},
		{"32bit-minus2147483648", "-2147483648", true, "f3 00 00 00 80 05"},
		{"64bit-2147483648", "2147483648", true, "f4 00 00 00 80 00 00 00 00 09"},
		{"64bit-min", "-9223372036854775808", true, "f4 00 00 00 00 00 00 00 80 09"},
		{"64bit-max", "9223372036854775807", true, "f4 ff ff ff ff ff ff ff 7f 09"},
		{"6bit-empty", "", false, "80 01"},
		{"6bit-ab", "ab", false, "82 6162 03"},
		{"not-int-leading-zero", "007", false, "83 303037 04"},
		{"not-int-plus", "+5", false, "82 2b35 03"},
		{"not-int-minus-zero", "-0", false, "82 2d30 03"},
		{"not-int-overflow", "9223372036854775808", false, "93 " + hex.EncodeToString([]byte("9223372036854775808")) + " 14"},
		{"not-int-space", "1 ", false, "82 3120 03"},
		{"6bit-63", big(63), false, "bf " + hex.EncodeToString([]byte(big(63))) + " 40"},
		{"12bit-64", big(64), false, "e0 40 " + hex.EncodeToString([]byte(big(64))) + " 42"},
		// size 202 > 127: two-byte backlen 01 ca.
		{"12bit-200-backlen2", big(200), false, "e0 c8 " + hex.EncodeToString([]byte(big(200))) + " 01 ca"},
		{"12bit-4095", big(4095), false, "ef ff " + hex.EncodeToString([]byte(big(4095))) + " 20 81"},
		// size 20005 >= 16383: three-byte backlen.
		{"32bit-20000", big(20000), false, "f0 20 4e 00 00 " + hex.EncodeToString([]byte(big(20000))) + " 01 9c a5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b ListpackBuilder
			b.Append([]byte(c.elem))
			blob := b.Bytes()
			want := unhex(t, c.want)
			if got := blob[6 : len(blob)-1]; !bytes.Equal(got, want) {
				t.Fatalf("entry = %x, want %x", head(got), head(want))
			}
			es := lpEntries(t, blob)
			if len(es) != 1 || es[0].IsInt != c.isInt || es[0].String() != c.elem {
				t.Fatalf("decoded %+v", es)
			}
		})
	}
}

func TestListpackBacklenBoundaries(t *testing.T) {
	// Entry sizes straddling the backlen size thresholds (127, 16383,
	// 2097151): string entries of 12-bit and 32-bit form.
	for _, n := range []int{125, 126, 127, 128, 4093, 4094, 4095, 4096, 16377, 16378, 16379, 16380, 2097140, 2097145, 2097146, 2097147} {
		var b ListpackBuilder
		s := bytes.Repeat([]byte{'q'}, n)
		b.AppendString(s)
		b.AppendInt(-7)
		b.AppendString(s[:1])
		blob := b.Bytes()
		es := lpEntries(t, blob)
		if len(es) != 3 || !bytes.Equal(es[0].Str, s) || es[1].Int != -7 {
			t.Fatalf("n=%d: bad decode", n)
		}
		if err := ValidateListpack(blob); err != nil {
			t.Fatal(err)
		}
	}
	for l, want := range map[int]int{127: 1, 128: 2, 16382: 2, 16383: 3, 2097150: 3, 2097151: 4, 268435454: 4, 268435455: 5} {
		if got := lpBacklenSize(l); got != want {
			t.Errorf("lpBacklenSize(%d) = %d, want %d", l, got, want)
		}
	}
}

func TestListpackHeader(t *testing.T) {
	var b ListpackBuilder
	if got := hex.EncodeToString(b.Bytes()); got != "070000000000ff" {
		t.Fatalf("empty listpack = %s", got)
	}
	b.Append([]byte("hello"))
	b.Append([]byte("1024"))
	// Documented example shape: header, "hello", 1024 as 13-bit int.
	want := "11000000" + "0200" + "8568656c6c6f06" + "c40002" + "ff"
	if got := hex.EncodeToString(b.Bytes()); got != want {
		t.Fatalf("listpack = %s, want %s", got, want)
	}
	it, _ := NewListpackIter(b.Bytes())
	if it.HeaderCount() != 2 {
		t.Fatal(it.HeaderCount())
	}
	// 65535 elements: header says unknown, ListpackLen counts.
	b.Reset()
	for i := 0; i < 65536; i++ {
		b.AppendInt(int64(i % 100))
	}
	blob := b.Bytes()
	it, err := NewListpackIter(blob)
	if err != nil || it.HeaderCount() != -1 {
		t.Fatalf("HeaderCount %d %v", it.HeaderCount(), err)
	}
	if n, err := ListpackLen(blob); n != 65536 || err != nil {
		t.Fatalf("ListpackLen = %d, %v", n, err)
	}
}

func TestListpackRoundTripRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 200; iter++ {
		var b ListpackBuilder
		var want []Entry
		for i := rng.Intn(40); i > 0; i-- {
			e := randomEntry(rng)
			b.AppendEntry(e)
			want = append(want, e)
		}
		got := lpEntries(t, b.Bytes())
		if len(got) != len(want) {
			t.Fatal("count")
		}
		for i := range got {
			if !sameEntry(got[i], want[i]) {
				t.Fatalf("entry %d: %+v vs %+v", i, got[i], want[i])
			}
		}
		var z ZiplistBuilder
		for _, e := range want {
			z.AppendEntry(e)
		}
		got = zlEntries(t, z.Bytes())
		for i := range got {
			if !sameEntry(got[i], want[i]) {
				t.Fatalf("ziplist entry %d: %+v vs %+v", i, got[i], want[i])
			}
		}
	}
}

func randomEntry(rng *rand.Rand) Entry {
	switch rng.Intn(4) {
	case 0:
		return Entry{IsInt: true, Int: int64(rng.Uint64())}
	case 1:
		return Entry{IsInt: true, Int: int64(rng.Intn(20000) - 10000)}
	case 2:
		return Entry{IsInt: true, Int: int64(rng.Uint64()) >> uint(rng.Intn(64))}
	default:
		n := rng.Intn(300)
		if rng.Intn(10) == 0 {
			n = rng.Intn(20000)
		}
		s := make([]byte, n)
		for i := range s {
			s[i] = 'a' + byte(rng.Intn(26))
		}
		return Entry{Str: s}
	}
}

func TestZiplistEntryEncodings(t *testing.T) {
	big := func(n int) string { return strings.Repeat("y", n) }
	cases := []struct {
		name  string
		elem  string
		isInt bool
		want  string // hex of the entry without prevlen (first entry: prevlen 00)
	}{
		{"imm-0", "0", true, "f1"},
		{"imm-12", "12", true, "fd"},
		{"int8-13", "13", true, "fe 0d"},
		{"int8-minus1", "-1", true, "fe ff"},
		{"int8-minus128", "-128", true, "fe 80"},
		{"int16-128", "128", true, "c0 80 00"},
		{"int16-minus32768", "-32768", true, "c0 00 80"},
		{"int24-32768", "32768", true, "f0 00 80 00"},
		{"int24-minus8388608", "-8388608", true, "f0 00 00 80"},
		{"int32-8388608", "8388608", true, "d0 00 00 80 00"},
		{"int32-minus2147483648", "-2147483648", true, "d0 00 00 00 80"},
		{"int64-2147483648", "2147483648", true, "e0 00 00 00 80 00 00 00 00"},
		{"int64-min", "-9223372036854775808", true, "e0 00 00 00 00 00 00 00 80"},
		{"str-empty", "", false, "00"},
		{"str-007", "007", false, "03 303037"},
		{"str6-63", big(63), false, "3f " + hex.EncodeToString([]byte(big(63)))},
		{"str14-64", big(64), false, "40 40 " + hex.EncodeToString([]byte(big(64)))},
		{"str14-16383", big(16383), false, "7f ff " + hex.EncodeToString([]byte(big(16383)))},
		{"str32-16384", big(16384), false, "80 00 00 40 00 " + hex.EncodeToString([]byte(big(16384)))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b ZiplistBuilder
			b.Append([]byte(c.elem))
			blob := b.Bytes()
			want := unhex(t, c.want)
			if blob[10] != 0 {
				t.Fatalf("prevlen %x", blob[10])
			}
			if got := blob[11 : len(blob)-1]; !bytes.Equal(got, want) {
				t.Fatalf("entry = %x, want %x", head(got), head(want))
			}
			es := zlEntries(t, blob)
			if len(es) != 1 || es[0].IsInt != c.isInt || es[0].String() != c.elem {
				t.Fatalf("decoded %+v", es)
			}
		})
	}
}

func TestZiplistPrevlen(t *testing.T) {
	var b ZiplistBuilder
	if got := hex.EncodeToString(b.Bytes()); got != "0b0000000a0000000000ff" {
		t.Fatalf("empty ziplist = %s", got)
	}
	long := bytes.Repeat([]byte{'z'}, 300)
	b.Append([]byte("2"))
	b.Append([]byte("5"))
	b.Append(long)
	b.Append([]byte("x"))
	blob := b.Bytes()
	// "2","5" from ziplist.c's documented example: [0f 00 00 00] [0c 00 00 00] [02 00] [00 f3] [02 f6] [ff]
	if !bytes.HasPrefix(blob[8:], unhex(t, "0400 00f3 02f6 02")) {
		t.Fatalf("blob %x", head(blob))
	}
	// The entry after the 300-byte string (1+2+300 = 303 bytes) has a
	// 5-byte prevlen: fe 2f 01 00 00.
	last := len(blob) - 1 - (5 + 2)
	if got := hex.EncodeToString(blob[last : len(blob)-1]); got != "fe2f0100000178" {
		t.Fatalf("last entry %s", got)
	}
	es := zlEntries(t, blob)
	if len(es) != 4 || es[0].Int != 2 || es[1].Int != 5 || !bytes.Equal(es[2].Str, long) || string(es[3].Str) != "x" {
		t.Fatalf("%+v", es)
	}

	// Redis may leave a 5-byte prevlen holding a small value after a
	// cascade update; that is valid.
	zl := unhex(t, "10000000 0c000000 0200 00 f3 fe02000000 f6 ff")
	zl[0] = byte(len(zl))
	zl[4] = 12
	es = zlEntries(t, zl)
	if len(es) != 2 || es[1].Int != 5 {
		t.Fatalf("%+v", es)
	}
}

func TestIntset(t *testing.T) {
	cases := []struct {
		in   []int64
		want string
	}{
		{nil, "02000000 00000000"},
		{[]int64{-32768, 1, 32767}, "02000000 03000000 0080 0100 ff7f"},
		{[]int64{-32769, 5}, "04000000 02000000 ff7fffff 05000000"},
		{[]int64{1, 2147483648}, "08000000 02000000 0100000000000000 0000008000000000"},
		{[]int64{math.MinInt64, math.MaxInt64}, "08000000 02000000 0000000000000080 ffffffffffffff7f"},
	}
	for _, c := range cases {
		blob := BuildIntset(c.in)
		if !bytes.Equal(blob, unhex(t, c.want)) {
			t.Fatalf("BuildIntset(%v) = %x", c.in, blob)
		}
		it, err := NewIntsetIter(blob)
		if err != nil {
			t.Fatal(err)
		}
		if it.Len() != len(c.in) || it.Encoding() != int(blob[0]) {
			t.Fatal("header")
		}
		var got []int64
		for {
			v, ok := it.Next()
			if !ok {
				break
			}
			got = append(got, v)
		}
		if it.Err() != nil || len(got) != len(c.in) {
			t.Fatalf("%v %v", got, it.Err())
		}
		for i := range got {
			if got[i] != c.in[i] {
				t.Fatal(got)
			}
		}
	}
	bad := []struct{ hex, msg string }{
		{"03000000 01000000 000000", "encoding 3"},
		{"02000000 02000000 0100", "does not match"},
		{"02000000 02000000 0200 0100", "not greater"},
		{"02000000 02000000 0100 0100", "not greater"},
		{"020000", "shorter"},
		{"08000000 ffffffff", "does not match"},
	}
	for _, c := range bad {
		err := ValidateIntset(unhex(t, c.hex))
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %q", c.hex, err, c.msg)
		}
	}
}

func TestZipmap(t *testing.T) {
	// The example from zipmap.c.
	zm := []byte("\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff")
	var b ZipmapBuilder
	b.Append([]byte("foo"), []byte("bar"))
	b.Append([]byte("hello"), []byte("world"))
	if !bytes.Equal(b.Bytes(), zm) {
		t.Fatalf("built %q", b.Bytes())
	}
	check := func(blob []byte, want ...string) {
		t.Helper()
		it, err := NewZipmapIter(blob)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for {
			f, v, ok := it.Next()
			if !ok {
				break
			}
			got = append(got, string(f), string(v))
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("got %q want %q", got, want)
		}
	}
	check(zm, "foo", "bar", "hello", "world")
	// Free bytes after a value are skipped.
	check([]byte("\x01\x01a\x02\x03xy###\xff"), "a", "xy")
	// 5-byte lengths and an unknown count.
	long := strings.Repeat("L", 300)
	b.Reset()
	b.Append([]byte(long), []byte("v"))
	blob := b.Bytes()
	if !bytes.HasPrefix(blob, unhex(t, "01 fe2c010000")) {
		t.Fatalf("%x", head(blob))
	}
	check(blob, long, "v")
	blob[0] = 254
	check(blob, long, "v")
	it, _ := NewZipmapIter(blob)
	if it.HeaderCount() != -1 {
		t.Fatal("HeaderCount")
	}
	for _, bad := range []string{"\x03\x03foo\x03\x00bar\xff", "\x01\x03foo\xff", "\x01\x03foo\x03\x05bar\xff", "\x01\xff\x03foo\xff", "\x00", ""} {
		if err := ValidateZipmap([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestLZFRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	inputs := [][]byte{
		[]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		bytes.Repeat([]byte("abcdefgh"), 2000),
		bytes.Repeat([]byte{0}, 100000),
		[]byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 50)),
	}
	for n := 1; n < 600; n += 7 {
		s := make([]byte, n)
		for i := range s {
			s[i] = byte('a' + rng.Intn(3))
		}
		inputs = append(inputs, s)
	}
	r := make([]byte, 5000)
	rng.Read(r)
	inputs = append(inputs, r)
	for _, in := range inputs {
		c, ok := LZFCompressLimit(in, len(in)+len(in)/16+64, nil)
		if !ok {
			t.Fatalf("compress of %d bytes failed with a roomy buffer", len(in))
		}
		out, err := LZFDecompress(c, len(in), nil)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip of %d bytes: %v", len(in), err)
		}
		c2, ok2 := LZFCompress(in, make([]byte, 0, 10))
		if ok2 {
			if !bytes.Equal(c2, c) || len(c2) > len(in)-4 {
				t.Fatalf("LZFCompress differs from LZFCompressLimit for %d bytes", len(in))
			}
		} else if LZFWorthIt(len(in)) && len(c) < len(in)-8 {
			t.Fatalf("LZFCompress refused %d -> %d", len(in), len(c))
		}
	}
	// Random bytes do not compress: Redis stores them verbatim.
	if _, ok := LZFCompress(r, nil); ok {
		t.Fatal("random data compressed")
	}
	for n := 0; n <= 20; n++ {
		if _, ok := LZFCompress(bytes.Repeat([]byte{'a'}, n), nil); ok {
			t.Fatalf("compressed %d bytes (Redis only tries above 20)", n)
		}
	}
	if _, ok := LZFCompress(bytes.Repeat([]byte{'a'}, 21), nil); !ok {
		t.Fatal("21 x 'a' not compressed")
	}
}

func TestLZFDecompressErrors(t *testing.T) {
	cases := []struct {
		src    string
		outLen int
		msg    string
	}{
		{"", 1, "impossible"},
		{"01 61", 177, "impossible"},
		{"00 61", 2, "decompressed 1 bytes, expected 2"},
		{"01 61", 1, "overruns the 1-byte output"},
		{"05 61", 6, "overruns the input"},
		{"00 61 20", 4, "truncated"},
		{"00 61 e0", 20, "truncated"},
		{"00 61 e0 01", 20, "truncated"},
		{"00 61 20 01", 4, "before the start"},
		{"00 61 40 00", 3, "overruns the 3-byte output"},
		{"00 61", -1, "negative"},
	}
	for _, c := range cases {
		_, err := LZFDecompress(unhex(t, c.src), c.outLen, nil)
		var ce *Error
		if err == nil || !errors.As(err, &ce) || ce.Encoding != "lzf" || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%q/%d: err = %v, want %q", c.src, c.outLen, err, c.msg)
		}
	}
	// Overlapping back reference (run of one byte): "a" then copy 9 from 1 back.
	out, err := LZFDecompress(unhex(t, "00 61 e0 00 00"), 10, make([]byte, 0, 64))
	if err != nil || string(out) != "aaaaaaaaaa" {
		t.Fatalf("%q %v", out, err)
	}
	if out, err := LZFDecompress(nil, 0, nil); err != nil || len(out) != 0 {
		t.Fatal(out, err)
	}
}

func TestErrorsAreStructured(t *testing.T) {
	var b ListpackBuilder
	b.AppendString([]byte("abc"))
	b.AppendInt(5)
	blob := append([]byte(nil), b.Bytes()...)
	blob[6+4] = 9 // corrupt the backlen of "abc"
	err := ValidateListpack(blob)
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("%v", err)
	}
	if ce.Encoding != "listpack" || ce.Offset != 6 || err.Error() != "listpack: offset 6: backlen 9 does not match entry size 4" {
		t.Fatalf("%#v / %q", ce, err.Error())
	}
	// Header count mismatch.
	blob = append([]byte(nil), b.Bytes()...)
	blob[4] = 3
	if err := ValidateListpack(blob); err == nil || !strings.Contains(err.Error(), "header count 3 does not match 2") {
		t.Fatal(err)
	}
	var z ZiplistBuilder
	z.Append([]byte("a"))
	z.Append([]byte("b"))
	zl := append([]byte(nil), z.Bytes()...)
	zl[4] = 10 // zltail at first entry
	if err := ValidateZiplist(zl); err == nil || !strings.Contains(err.Error(), "zltail") {
		t.Fatal(err)
	}
	zl = append([]byte(nil), z.Bytes()...)
	zl[8] = 3
	if err := ValidateZiplist(zl); err == nil || !strings.Contains(err.Error(), "zllen 3") {
		t.Fatal(err)
	}
	zl = append([]byte(nil), z.Bytes()...)
	zl[13] = 2 // prevlen of 2nd entry
	if err := ValidateZiplist(zl); err == nil || !strings.Contains(err.Error(), "offset 13: prevlen 2 does not match previous entry size 3") {
		t.Fatal(err)
	}
}

// sampleBlobs returns valid blobs of every kind for corruption tests.
func sampleBlobs() map[string][][]byte {
	var lp ListpackBuilder
	var zl ZiplistBuilder
	var zm ZipmapBuilder
	for _, s := range []string{"hello", "-1", "300", "5000", "100000", "3000000000", "", strings.Repeat("p", 200), "12", "-200"} {
		lp.Append([]byte(s))
		zl.Append([]byte(s))
		zm.Append([]byte(s), []byte(s+"v"))
	}
	lzf, _ := LZFCompress([]byte(strings.Repeat("abcabcabd", 20)), nil)
	return map[string][][]byte{
		"listpack": {append([]byte(nil), lp.Bytes()...)},
		"ziplist":  {append([]byte(nil), zl.Bytes()...)},
		"zipmap":   {append([]byte(nil), zm.Bytes()...)},
		"intset":   {BuildIntset([]int64{-5, 3, 70000}), BuildIntset([]int64{1, 2, 3})},
		"lzf":      {lzf},
	}
}

func decodeAll(kind string, blob []byte, outLen int) error {
	switch kind {
	case "listpack":
		return ValidateListpack(blob)
	case "ziplist":
		return ValidateZiplist(blob)
	case "zipmap":
		return ValidateZipmap(blob)
	case "intset":
		return ValidateIntset(blob)
	default:
		_, err := LZFDecompress(blob, outLen, nil)
		return err
	}
}

func TestTruncationAndCorruption(t *testing.T) {
	const lzfLen = 180
	for kind, blobs := range sampleBlobs() {
		for _, blob := range blobs {
			if err := decodeAll(kind, blob, lzfLen); err != nil {
				t.Fatalf("%s: valid sample rejected: %v", kind, err)
			}
			for n := 0; n < len(blob); n++ {
				err := decodeAll(kind, blob[:n], lzfLen)
				var ce *Error
				if err == nil || !errors.As(err, &ce) {
					t.Errorf("%s truncated to %d bytes: err = %v", kind, n, err)
				}
			}
			// Flip and replace every byte: never panic.
			buf := make([]byte, len(blob))
			for i := range blob {
				for _, v := range []byte{0, 0x7f, 0x80, 0xfe, 0xff, blob[i] ^ 1, blob[i] + 1} {
					copy(buf, blob)
					buf[i] = v
					_ = decodeAll(kind, buf, lzfLen)
				}
			}
		}
	}
}

func TestIteratorsDoNotAllocate(t *testing.T) {
	blobs := sampleBlobs()
	lp, zl, zm, is := blobs["listpack"][0], blobs["ziplist"][0], blobs["zipmap"][0], blobs["intset"][0]
	var sink int64
	allocs := testing.AllocsPerRun(100, func() {
		it, _ := NewListpackIter(lp)
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			sink += e.Int + int64(len(e.Str))
		}
		z, _ := NewZiplistIter(zl)
		for e, ok := z.Next(); ok; e, ok = z.Next() {
			sink += e.Int + int64(len(e.Str))
		}
		m, _ := NewZipmapIter(zm)
		for f, v, ok := m.Next(); ok; f, v, ok = m.Next() {
			sink += int64(len(f) + len(v))
		}
		s, _ := NewIntsetIter(is)
		for v, ok := s.Next(); ok; v, ok = s.Next() {
			sink += v
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
	src := bytes.Repeat([]byte("0123456789abcdef"), 64)
	c, _ := LZFCompress(src, nil)
	dst := make([]byte, 0, len(src))
	cdst := make([]byte, 0, len(src))
	allocs = testing.AllocsPerRun(100, func() {
		dst, _ = LZFDecompress(c, len(src), dst)
		cdst, _ = LZFCompress(src, cdst)
	})
	if allocs != 0 {
		t.Fatalf("LZF: %v allocations per run", allocs)
	}
	_ = sink
}

func TestParseRedisInt(t *testing.T) {
	good := map[string]int64{"0": 0, "-1": -1, "9223372036854775807": math.MaxInt64, "-9223372036854775808": math.MinInt64, "10": 10}
	for s, v := range good {
		if got, ok := ParseRedisInt([]byte(s)); !ok || got != v {
			t.Errorf("%q: %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "-", "+1", "01", "-0", "00", " 1", "1 ", "9223372036854775808", "-9223372036854775809", "18446744073709551616", "99999999999999999999", "1e3", "0x10", "123456789012345678901"} {
		if _, ok := ParseRedisInt([]byte(s)); ok {
			t.Errorf("%q accepted", s)
		}
	}
	for i := int64(-3000); i < 3000; i += 7 {
		if v, ok := ParseRedisInt([]byte(strconv.FormatInt(i, 10))); !ok || v != i {
			t.Fatal(i)
		}
	}
}
