package s3src_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
)

// BenchmarkS3VsDisk reads one file from disk and from a local versitygw in
// each iteration and reports both speeds and their ratio (s3/disk, 1.0 =
// as fast as the disk). RDBTOOL_S3_BENCH_FILE names the file (for example
// a large .rdb); the default is a generated 64 MiB object. "raw" copies
// the bytes; "parse" (RDB files only) reads every record, as commands do.
//
//	RDBTOOL_S3_BENCH_FILE=/path/big.rdb go test ./s3src -run '^$' -bench S3VsDisk -benchtime 3x
func BenchmarkS3VsDisk(b *testing.B) {
	file := os.Getenv("RDBTOOL_S3_BENCH_FILE")
	if file == "" {
		file = filepath.Join(b.TempDir(), "random.bin")
		data := make([]byte, 64<<20)
		rand.Read(data)
		if err := os.WriteFile(file, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	fi, err := os.Stat(file)
	if err != nil {
		b.Fatal(err)
	}
	srv := s3test.Start(b)
	srv.CreateBucket(b, "bench")
	st := srv.Store(b, s3src.Options{})
	f, err := os.Open(file)
	if err != nil {
		b.Fatal(err)
	}
	_, err = st.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String("obj"), Body: f})
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	o := srv.Options()
	if v, err := strconv.Atoi(os.Getenv("RDBTOOL_S3_BENCH_CHUNK_MIB")); err == nil {
		o.ChunkSize = int64(v) << 20
	}
	if v, err := strconv.Atoi(os.Getenv("RDBTOOL_S3_BENCH_CONCURRENCY")); err == nil {
		o.Concurrency = v
	}
	s3src.SetDefaultOptions(o)
	b.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })

	head := make([]byte, 5)
	f, _ = os.Open(file)
	io.ReadFull(f, head)
	f.Close()
	modes := []string{"raw"}
	if bytes.Equal(head, []byte("REDIS")) || bytes.Equal(head, []byte("VALKE")) {
		modes = append(modes, "parse")
	}
	for _, mode := range modes {
		b.Run(mode, func(b *testing.B) {
			read(b, mode, file) // warm the page cache and the server
			var disk, remote time.Duration
			b.SetBytes(fi.Size())
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				read(b, mode, file)
				t1 := time.Now()
				read(b, mode, "s3://bench/obj")
				disk, remote = disk+t1.Sub(t0), remote+time.Since(t1)
			}
			mb := float64(fi.Size()) * float64(b.N) / (1 << 20)
			b.ReportMetric(mb/disk.Seconds(), "disk-MiB/s")
			b.ReportMetric(mb/remote.Seconds(), "s3-MiB/s")
			b.ReportMetric(disk.Seconds()/remote.Seconds(), "s3/disk")
		})
	}
}

func read(b *testing.B, mode, name string) {
	src, err := inputs.Open(context.Background(), name)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if mode == "raw" {
		if _, err := io.Copy(io.Discard, src); err != nil {
			b.Fatal(err)
		}
		return
	}
	r := rdb.NewReader(src, rdb.WithSize(src.RawSize()))
	for {
		_, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
