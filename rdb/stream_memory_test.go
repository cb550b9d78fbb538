package rdb_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"runtime"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// crcWriter writes through w while keeping the Redis CRC-64 of the bytes.
type crcWriter struct {
	w   *bufio.Writer
	crc uint64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = rdb.CRC64(c.crc, p)
	return c.w.Write(p)
}

func writeLen(w io.Writer, n uint64) {
	switch {
	case n < 1<<6:
		w.Write([]byte{byte(n)})
	case n < 1<<14:
		w.Write([]byte{0x40 | byte(n>>8), byte(n)})
	default:
		var b [5]byte
		b[0] = 0x80
		binary.BigEndian.PutUint32(b[1:], uint32(n))
		w.Write(b[:])
	}
}

// TestLargeListStreamsInFlatMemory reads a generated snapshot holding one
// list of 4 million elements (about 400 MB) through a pipe, element by
// element, and checks that the heap never grows with the list.
func TestLargeListStreamsInFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("large generated input")
	}
	const elements = 4_000_000
	elem := make([]byte, 100)
	for i := range elem {
		elem[i] = 'a' + byte(i%26)
	}
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<16)
		c := &crcWriter{w: bw}
		c.Write([]byte("REDIS0006"))
		c.Write([]byte{0xFE, 0})                  // SELECTDB 0
		c.Write([]byte{1, 4, 'b', 'i', 'g', 'l'}) // list "bigl"
		writeLen(c, elements)
		for i := 0; i < elements; i++ {
			writeLen(c, uint64(len(elem)))
			c.Write(elem)
		}
		c.Write([]byte{0xFF})
		var sum [8]byte
		binary.LittleEndian.PutUint64(sum[:], c.crc)
		bw.Write(sum[:])
		bw.Flush()
		pw.Close()
	}()

	runtime.GC()
	var before, during runtime.MemStats
	runtime.ReadMemStats(&before)
	r := rdb.NewReader(pr)
	rec, err := r.Next()
	if err != nil || rec.Kind != rdb.KindSelectDB {
		t.Fatalf("first record: %v %v", rec, err)
	}
	rec, err = r.Next()
	if err != nil || rec.Kind != rdb.KindKey || string(rec.Key) != "bigl" || rec.Encoding != "linkedlist" {
		t.Fatalf("key record: %+v %v", rec, err)
	}
	n, peak := 0, uint64(0)
	for e, err := range r.Elements() {
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Member) != string(elem) {
			t.Fatalf("element %d = %q", n, e.Member)
		}
		n++
		if n%500_000 == 0 {
			runtime.ReadMemStats(&during)
			peak = max(peak, during.HeapInuse)
		}
	}
	if n != elements {
		t.Fatalf("read %d elements, want %d", n, elements)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if st, _ := r.Checksum(); st != rdb.ChecksumVerified {
		t.Fatalf("checksum %v", st)
	}
	grown := int64(peak) - int64(before.HeapInuse)
	t.Logf("read %d elements (%d MB) with heap growth %d KiB", n, elements*101>>20, grown>>10)
	if grown > 8<<20 {
		t.Fatalf("heap grew by %d bytes while streaming a %d-element list", grown, n)
	}
}
