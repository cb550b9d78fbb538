package export

import (
	"bytes"
	"io"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// Rendering benchmarks over RDBTOOL_BENCH_FILE (default: a corpus file),
// read into memory once:
//
//	RDBTOOL_BENCH_FILE=$HOME/.cache/rdbtool-bench/small.rdb \
//	    go test -run '^$' -bench JSONL -count 5 ./export
//
// BenchmarkJSONLReaderFloor reads every element without rendering it:
// BenchmarkJSONLWriteKey minus the floor is the rendering.

// benchKeys calls perKey for each key of data, b.N times.
func benchKeys(b *testing.B, perKey func(*rdb.Reader, *rdb.Record) error) {
	_, data := corpustest.BenchInput(b, "redis-7.4.1/main.rdb")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
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
				if err := perKey(r, rec); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

func BenchmarkJSONLWriteKey(b *testing.B) {
	j := NewJSONWriter(io.Discard)
	benchKeys(b, j.WriteKey)
}

func BenchmarkJSONLReaderFloor(b *testing.B) {
	benchKeys(b, func(r *rdb.Reader, rec *rdb.Record) error {
		switch rec.Type {
		case rdb.TypeString:
			_, err := r.ReadString()
			return err
		case rdb.TypeList, rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash:
			for {
				if _, err := r.NextElement(); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
		}
		return nil // the next Next skips the rest
	})
}
