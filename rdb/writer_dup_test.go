package rdb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"testing"
)

func dupWriter(t *testing.T, mem int64) *Writer {
	t.Helper()
	w, err := NewWriter(io.Discard, WriterOptions{Target: Target{Dialect: DialectRedis, Version: 10}, KeyDigestMemory: mem, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func hdr(k string) KeyHeader { return KeyHeader{Key: []byte(k)} }

// TestWriterDuplicateKey: a key written twice in one database is refused
// before anything of it is written (the writer goes on), the same name in
// another database is not a repeat, and a repeat whose first occurrence
// was spilled to disk fails Close.
func TestWriterDuplicateKey(t *testing.T) {
	w := dupWriter(t, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.SelectDB(0))
	must(w.WriteString(hdr("a"), []byte("1")))
	must(w.WriteString(hdr("b"), []byte("1")))
	before := w.Written()
	err := w.WriteString(hdr("a"), []byte("2"))
	if !errors.Is(err, ErrDuplicateKey) || !bytes.Contains([]byte(err.Error()), []byte(`"a"`)) {
		t.Fatalf("second a: %v", err)
	}
	if w.Written() != before {
		t.Errorf("the refused key wrote %d bytes", w.Written()-before)
	}
	cw, err := w.BeginSet(hdr("b"), -1)
	must(err)
	must(cw.Add(Element{Member: []byte("x")}))
	if err := cw.Close(); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("set named b: %v", err)
	}
	must(w.SelectDB(1))
	must(w.WriteString(hdr("a"), []byte("3")))
	must(w.Close())

	// Past the memory budget.
	w = dupWriter(t, 1<<14)
	must(w.SelectDB(0))
	for i := 0; i < 20000; i++ {
		must(w.WriteString(hdr(fmt.Sprintf("k%d", i)), []byte("v")))
	}
	must(w.WriteString(hdr("k3"), []byte("again")))
	if err := w.Close(); !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("spilled repeat: Close returned %v", err)
	}
	// And without a repeat, the spilled check passes.
	w = dupWriter(t, 1<<14)
	for i := 0; i < 20000; i++ {
		must(w.WriteString(hdr(fmt.Sprintf("k%d", i)), []byte("v")))
	}
	must(w.Close())
}

// TestWriterDuplicateMembers: sets, sorted sets and hashes given a member
// twice are refused in every encoding: compact, plain with a known count
// (written as added), plain spooled, past the digest memory budget, and a
// sorted set member repeated with another score far from its first place.
func TestWriterDuplicateMembers(t *testing.T) {
	type add func(cw *CollectionWriter, i int, m string) error
	cases := []struct {
		name  string
		begin func(w *Writer, count int64) (*CollectionWriter, error)
		add   add
	}{
		{"set", func(w *Writer, n int64) (*CollectionWriter, error) { return w.BeginSet(hdr("s"), n) },
			func(cw *CollectionWriter, i int, m string) error { return cw.Add(Element{Member: []byte(m)}) }},
		{"zset", func(w *Writer, n int64) (*CollectionWriter, error) { return w.BeginZSet(hdr("z"), n) },
			func(cw *CollectionWriter, i int, m string) error {
				return cw.Add(Element{Member: []byte(m), Score: float64(i)})
			}},
		{"hash", func(w *Writer, n int64) (*CollectionWriter, error) { return w.BeginHash(hdr("h"), n) },
			func(cw *CollectionWriter, i int, m string) error {
				return cw.Add(Element{Member: []byte(m), Value: []byte("v")})
			}},
	}
	for _, c := range cases {
		for _, size := range []int{5, 3000} {
			for _, known := range []bool{true, false} {
				for _, mem := range []int64{0, 1 << 14} {
					name := fmt.Sprintf("%s/%d/known=%v/mem=%d", c.name, size, known, mem)
					t.Run(name, func(t *testing.T) {
						w := dupWriter(t, mem)
						count := int64(-1)
						if known {
							count = int64(size + 1)
						}
						cw, err := c.begin(w, count)
						if err != nil {
							t.Fatal(err)
						}
						var addErr error
						for i := 0; i < size && addErr == nil; i++ {
							addErr = c.add(cw, i, fmt.Sprintf("m%d", i))
						}
						if addErr == nil {
							addErr = c.add(cw, size, "m1") // the second member again, with another score
						}
						err = cw.Close()
						if addErr != nil {
							err = addErr
						}
						if !errors.Is(err, ErrDuplicateMember) && !bytes.Contains([]byte(fmt.Sprint(err)), []byte("duplicate")) {
							t.Fatalf("err %v, want a duplicate member refused", err)
						}
						// Without the repeat the same collection is fine.
						w = dupWriter(t, mem)
						if known {
							count = int64(size)
						}
						cw, _ = c.begin(w, count)
						for i := 0; i < size; i++ {
							if err := c.add(cw, i, fmt.Sprintf("m%d", i)); err != nil {
								t.Fatal(err)
							}
						}
						if err := cw.Close(); err != nil {
							t.Fatal(err)
						}
					})
				}
			}
		}
	}
}

// BenchmarkWriterKeyCheck: the cost of the duplicate key check on small
// string keys (the worst case: the least work per key besides it).
func BenchmarkWriterKeyCheck(b *testing.B) {
	for _, n := range []int{200_000, 2_000_000} { // in memory; spilled past the 32 MiB budget
		keys := make([][]byte, n)
		for i := range keys {
			keys[i] = []byte(fmt.Sprintf("user:%08d", i))
		}
		for _, allow := range []bool{true, false} {
			b.Run(fmt.Sprintf("keys=%d/check=%v", n, !allow), func(b *testing.B) {
				for range b.N {
					w, _ := NewWriter(io.Discard, WriterOptions{Target: Target{Dialect: DialectRedis, Version: 10}, AllowDuplicateKeys: allow, SpoolDir: b.TempDir()})
					for _, k := range keys {
						if err := w.WriteString(KeyHeader{Key: k}, []byte("value")); err != nil {
							b.Fatal(err)
						}
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(keys)*b.N)/b.Elapsed().Seconds(), "keys/s")
			})
		}
	}
}

// TestCopyKeyRefusesRepeatedMemberInPlainRun: CopyKey's fast path for
// plain sets and hashes checks members in batches; a repeat is refused
// wherever it falls against a batch's edges (integer members compared by
// their text), named as the member-by-member path names it, and without
// a repeat the copy is the one that path writes.
func TestCopyKeyRefusesRepeatedMemberInPlainRun(t *testing.T) {
	const n = 1000
	member := func(i int) []byte {
		if i%7 == 3 { // an integer member, 0xC0 int8/int16 encoded
			if i < 128 {
				return []byte{0xC0, byte(i)}
			}
			return []byte{0xC1, byte(i), byte(i >> 8)}
		}
		m := fmt.Sprintf("m%05d", i)
		return append([]byte{byte(len(m))}, m...)
	}
	source := func(typ byte, repeatAt int, repeat []byte) []byte {
		b := append([]byte("REDIS0010\xfe\x00"), typ, 3, 'b', 'i', 'g', 0x40|n>>8, n&0xFF)
		for i := range n {
			m := member(i)
			if i == repeatAt {
				m = repeat
			}
			b = append(b, m...)
			switch typ {
			case 4: // a hash: the field's value
				b = append(b, 1, 'v')
			case 5: // a sorted set: the member's binary score
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(float64(i)))
			}
		}
		b = append(b, 0xFF)
		return binary.LittleEndian.AppendUint64(b, CRC64(0, b))
	}
	copyKey := func(src []byte, fast bool) ([]byte, error) {
		defer SetCopyFastPaths(SetCopyFastPaths(fast))
		var out bytes.Buffer
		w, err := NewWriter(&out, WriterOptions{Target: Target{Dialect: DialectRedis, Version: 10}, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(bytes.NewReader(src))
		rec, err := r.Next()
		for err == nil && rec.Kind != KindKey {
			rec, err = r.Next()
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.CopyKey(r, rec); err != nil {
			return nil, err
		}
		return out.Bytes(), w.Close()
	}
	for _, typ := range []byte{2, 4, 5} { // RDB types: plain set, hash, sorted set (binary scores)
		// Repeats of member 0 (a string) and of member 3 (an integer,
		// repeated as its text "3"), at and around the batch edges.
		for _, at := range []int{1, 63, 64, 65, 128, 500, n - 1} {
			for _, rep := range [][]byte{member(0), append([]byte{1}, '3')} {
				if at <= 3 && rep[1] == '3' {
					continue
				}
				src := source(typ, at, rep)
				_, fastErr := copyKey(src, true)
				_, slowErr := copyKey(src, false)
				if !errors.Is(fastErr, ErrDuplicateMember) || fmt.Sprint(fastErr) != fmt.Sprint(slowErr) {
					t.Errorf("type %d, repeat %q at %d: fast path %v; member by member %v", typ, rep, at, fastErr, slowErr)
				}
			}
		}
		src := source(typ, -1, nil)
		fast, err := copyKey(src, true)
		if err != nil {
			t.Fatalf("type %d without repeat: %v", typ, err)
		}
		slow, err := copyKey(src, false)
		if err != nil || !bytes.Equal(fast, slow) {
			t.Errorf("type %d without repeat: fast path wrote %d bytes, member by member %d (%v)", typ, len(fast), len(slow), err)
		}
	}
}
