package rdb_test

// Parsing benchmarks. By default they run over a small corpus fixture that is
// always in the tree, so `go test -bench . ./rdb` is quick; point
// RDBTOOL_BENCH_FILE at a real snapshot (see BENCHMARKS.md and
// `go run ./cmd/rdbbench make`) for meaningful figures:
//
//	RDBTOOL_BENCH_FILE=$HOME/.cache/rdbtool-bench/mixed.rdb \
//	    go test -run '^$' -bench . -benchtime 3x ./rdb
//
// The file is read into memory once, so the figures measure parsing, not
// the disk or the page cache. BenchmarkHDT3213 parses the same bytes with
// github.com/hdt3213/rdb so that a ratio can be read from one run.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"testing"

	hdtparser "github.com/hdt3213/rdb/parser"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

const benchDefaultFile = "redis-7.0.15/main.rdb"

var benchData struct {
	once sync.Once
	name string
	data []byte
	err  error
}

// benchFile returns the benchmark input, read once per test binary.
func benchFile(b *testing.B) []byte {
	b.Helper()
	benchData.once.Do(func() {
		benchData.name = corpustest.BenchFile(benchDefaultFile)
		benchData.data, benchData.err = os.ReadFile(benchData.name)
	})
	if benchData.err != nil {
		b.Fatalf("benchmark input: %v", benchData.err)
	}
	return benchData.data
}

// benchWalk reads every record of data; for each key it calls perKey.
func benchWalk(b *testing.B, data []byte, opts []rdb.Option, perKey func(*rdb.Reader) error) {
	b.Helper()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var keys int
	for i := 0; i < b.N; i++ {
		keys = 0
		r := rdb.NewReader(bytes.NewReader(data), opts...)
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			keys++
			if err := perKey(r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(keys), "keys/op")
}

func skipKey(r *rdb.Reader) error { return r.Skip() }

// BenchmarkHeaders is the key-header pass: Next and Skip, CRC on. Values are
// passed over without being decompressed or decoded.
func BenchmarkHeaders(b *testing.B) {
	benchWalk(b, benchFile(b), nil, skipKey)
}

// BenchmarkHeadersNoCRC is the header pass without the CRC-64.
func BenchmarkHeadersNoCRC(b *testing.B) {
	benchWalk(b, benchFile(b), []rdb.Option{rdb.WithoutChecksum()}, skipKey)
}

// BenchmarkFullDecode decodes every element of every value, CRC on.
func BenchmarkFullDecode(b *testing.B) {
	benchWalk(b, benchFile(b), nil, (*rdb.Reader).VerifyValue)
}

// BenchmarkFullDecodeNoCRC is BenchmarkFullDecode without the CRC-64.
func BenchmarkFullDecodeNoCRC(b *testing.B) {
	benchWalk(b, benchFile(b), []rdb.Option{rdb.WithoutChecksum()}, (*rdb.Reader).VerifyValue)
}

// BenchmarkDumpRaw makes a DUMP payload of every value as stored
// (Reader.RawValue, AppendDumpTrailer): restore's path when the target
// loads the file's RDB version. Compare BenchmarkDumpEncode.
func BenchmarkDumpRaw(b *testing.B) {
	var payload []byte
	benchWalk(b, benchFile(b), nil, func(r *rdb.Reader) error {
		raw, err := r.RawValue()
		if err != nil {
			return err
		}
		payload = rdb.AppendDumpTrailer(append(payload[:0], raw...), r.Version())
		return nil
	})
}

// BenchmarkDumpEncode makes the same payloads by transcoding each value
// for the file's own target (EncodeDumpFrom).
func BenchmarkDumpEncode(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := rdb.NewReader(bytes.NewReader(data))
		var opts rdb.WriterOptions
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if opts.Target.Version == 0 {
				if opts.Target, err = rdb.TargetOf(r); err != nil {
					b.Fatal(err)
				}
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			_, err = rdb.EncodeDumpFrom(r, rec, opts)
			if err != nil && !errors.Is(err, rdb.ErrEmptyCollection) {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCRC64File is the checksum alone over the same bytes: the floor the
// CRC adds to every pass that verifies it.
func BenchmarkCRC64File(b *testing.B) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var sink uint64
	for i := 0; i < b.N; i++ {
		sink ^= rdb.CRC64(0, data)
	}
	_ = sink
}

// BenchmarkHDT3213 parses the same bytes with github.com/hdt3213/rdb v1.3.2
// and a no-op callback (it builds every object in memory; it does not check
// the CRC).
func BenchmarkHDT3213(b *testing.B) {
	data := benchFile(b)
	// Fail early and clearly if the peer cannot read this file at all.
	if err := hdtparser.NewDecoder(bytes.NewReader(data)).Parse(func(hdtparser.RedisObject) bool { return true }); err != nil {
		b.Skipf("hdt3213/rdb cannot parse %s: %v", benchData.name, err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	var keys int
	for i := 0; i < b.N; i++ {
		keys = 0
		err := hdtparser.NewDecoder(bytes.NewReader(data)).Parse(func(o hdtparser.RedisObject) bool {
			keys++
			return true
		})
		if err != nil && !errors.Is(err, io.EOF) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(keys), "objects/op")
}

// benchParallel runs ReadParallel over data with perKey as the work.
func benchParallel(b *testing.B, workers int, perKey func(*rdb.Reader) error) {
	data := benchFile(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rdb.NewReader(bytes.NewReader(data))
		err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: workers, KeysOnly: true}, rdb.ParallelHandler[struct{}]{
			Work: func(w *rdb.Worker, rec *rdb.Record, _ *struct{}) error { return perKey(w.Reader) },
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParallelFraming is ReadParallel's framing alone: the workers
// only parse the record headers again.
func BenchmarkParallelFraming(b *testing.B) { benchParallel(b, 0, skipKey) }

// BenchmarkParallelFullDecode is BenchmarkFullDecode on ReadParallel.
func BenchmarkParallelFullDecode(b *testing.B) { benchParallel(b, 0, (*rdb.Reader).VerifyValue) }
