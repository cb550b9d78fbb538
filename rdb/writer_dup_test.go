package rdb

import (
	"bytes"
	"errors"
	"fmt"
	"io"
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
