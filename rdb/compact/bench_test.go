package compact

import (
	"bytes"
	"fmt"
	"testing"
)

func benchListpack() []byte {
	var b ListpackBuilder
	for i := 0; i < 512; i++ {
		b.Append([]byte(fmt.Sprintf("field:%d", i)))
		b.AppendInt(int64(i * 1000))
	}
	return append([]byte(nil), b.Bytes()...)
}

func BenchmarkListpackIter(b *testing.B) {
	blob := benchListpack()
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	var sink int64
	for i := 0; i < b.N; i++ {
		it, err := NewListpackIter(blob)
		if err != nil {
			b.Fatal(err)
		}
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			sink += e.Int + int64(len(e.Str))
		}
		if it.Err() != nil {
			b.Fatal(it.Err())
		}
	}
	_ = sink
}

func BenchmarkZiplistIter(b *testing.B) {
	var zb ZiplistBuilder
	for i := 0; i < 512; i++ {
		zb.Append([]byte(fmt.Sprintf("field:%d", i)))
		zb.AppendInt(int64(i * 1000))
	}
	blob := zb.Bytes()
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	var sink int64
	for i := 0; i < b.N; i++ {
		it, err := NewZiplistIter(blob)
		if err != nil {
			b.Fatal(err)
		}
		for e, ok := it.Next(); ok; e, ok = it.Next() {
			sink += e.Int + int64(len(e.Str))
		}
		if it.Err() != nil {
			b.Fatal(it.Err())
		}
	}
	_ = sink
}

func BenchmarkIntsetIter(b *testing.B) {
	m := make([]int64, 512)
	for i := range m {
		m[i] = int64(i) * 100000
	}
	blob := BuildIntset(m)
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	var sink int64
	for i := 0; i < b.N; i++ {
		it, _ := NewIntsetIter(blob)
		for v, ok := it.Next(); ok; v, ok = it.Next() {
			sink += v
		}
	}
	_ = sink
}

func BenchmarkZipmapIter(b *testing.B) {
	var zb ZipmapBuilder
	for i := 0; i < 256; i++ {
		zb.Append([]byte(fmt.Sprintf("field:%d", i)), []byte(fmt.Sprintf("value:%d", i)))
	}
	blob := zb.Bytes()
	b.SetBytes(int64(len(blob)))
	b.ReportAllocs()
	var sink int
	for i := 0; i < b.N; i++ {
		it, _ := NewZipmapIter(blob)
		for f, v, ok := it.Next(); ok; f, v, ok = it.Next() {
			sink += len(f) + len(v)
		}
	}
	_ = sink
}

func BenchmarkListpackBuild(b *testing.B) {
	fields := make([][]byte, 1024)
	for i := range fields {
		fields[i] = []byte(fmt.Sprintf("%d", i*37))
		if i%2 == 0 {
			fields[i] = []byte(fmt.Sprintf("field:%d", i))
		}
	}
	var lb ListpackBuilder
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		lb.Reset()
		for _, f := range fields {
			lb.Append(f)
		}
		b.SetBytes(int64(len(lb.Bytes())))
	}
}

func lzfBenchInput() []byte {
	var buf bytes.Buffer
	for i := 0; buf.Len() < 256<<10; i++ {
		fmt.Fprintf(&buf, "user:%d name=%s score=%d;", i, []string{"alice", "bob", "carol"}[i%3], i*i%9973)
	}
	return buf.Bytes()
}

func BenchmarkLZFDecompress(b *testing.B) {
	src := lzfBenchInput()
	c, ok := LZFCompress(src, nil)
	if !ok {
		b.Fatal("not compressible")
	}
	dst := make([]byte, 0, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if dst, err = LZFDecompress(c, len(src), dst); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLZFCompress(b *testing.B) {
	src := lzfBenchInput()
	dst := make([]byte, 0, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst, _ = LZFCompress(src, dst)
	}
}

func BenchmarkLZFCompressSmall(b *testing.B) {
	src := []byte("some:key:with:a:value:that:repeats:value:that:repeats")
	dst := make([]byte, 0, 128)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst, _ = LZFCompress(src, dst)
	}
}
