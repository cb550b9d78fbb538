package analyze

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// BenchmarkAnalyze runs the analyzer over RDBTOOL_BENCH_FILE (default: a
// small corpus file), read into memory once.
func BenchmarkAnalyze(b *testing.B) {
	name := os.Getenv("RDBTOOL_BENCH_FILE")
	if name == "" {
		name = "../testdata/corpus/redis-7.4.1/main.rdb"
	}
	data, err := os.ReadFile(name)
	if err != nil {
		b.Fatal(err)
	}
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
