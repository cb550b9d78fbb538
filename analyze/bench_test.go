package analyze

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// BenchmarkAnalyze runs the analyzer over RDBTOOL_BENCH_FILE (default: a
// small corpus file), read into memory once.
func BenchmarkAnalyze(b *testing.B) {
	name, data := corpustest.BenchInput(b, "redis-7.4.1/main.rdb")
	a := New(Options{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := a.AnalyzeReader(context.Background(), name, rdb.NewReader(bytes.NewReader(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// benchReaderFloor walks data with the reader alone, as a floor for
// BenchmarkAnalyze in the same run.
func benchReaderFloor(b *testing.B, perKey func(r *rdb.Reader) error) {
	_, data := corpustest.BenchInput(b, "redis-7.4.1/main.rdb")
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rdb.NewReader(bytes.NewReader(data))
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Kind == rdb.KindKey {
				if err := perKey(r); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkReaderHeaders is Next and Skip: the reader's floor.
func BenchmarkReaderHeaders(b *testing.B) {
	benchReaderFloor(b, func(r *rdb.Reader) error { return r.Skip() })
}

// BenchmarkReaderShape is Next and ReadShape with an element callback.
func BenchmarkReaderShape(b *testing.B) {
	var sum uint64
	opts := rdb.ShapeOptions{Element: func(a, b uint64) { sum += a + b }}
	benchReaderFloor(b, func(r *rdb.Reader) error { _, err := r.ReadShape(opts); return err })
}

// BenchmarkReaderShapeNoElements is Next and ReadShape without callbacks.
func BenchmarkReaderShapeNoElements(b *testing.B) {
	benchReaderFloor(b, func(r *rdb.Reader) error { _, err := r.ReadShape(rdb.ShapeOptions{}); return err })
}
