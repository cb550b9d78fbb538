package export

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// dumpSequential is what "rdbtool dump" printed before WriteKeys.
func dumpSequential(data []byte, opts ...rdb.Option) ([]byte, string) {
	var out bytes.Buffer
	j := NewJSONWriter(&out)
	r := rdb.NewReader(bytes.NewReader(data), opts...)
	var err error
	for {
		var rec *rdb.Record
		if rec, err = r.Next(); err != nil {
			break
		}
		switch rec.Kind {
		case rdb.KindKey:
			err = j.WriteKey(r, rec)
		case rdb.KindSlotInfo:
			err = j.WriteSlotInfo(rec)
		}
		if err != nil {
			break
		}
	}
	j.Flush()
	if err == io.EOF {
		err = nil
	}
	return out.Bytes(), fmt.Sprint(err)
}

func dumpParallel(data []byte, workers int, opts ...rdb.Option) ([]byte, string) {
	var out bytes.Buffer
	j := NewJSONWriter(&out)
	err := j.WriteRecords(context.Background(), rdb.NewReader(bytes.NewReader(data), opts...), workers)
	j.Flush()
	return out.Bytes(), fmt.Sprint(err)
}

func compareDumps(t *testing.T, name string, data []byte, opts ...rdb.Option) {
	t.Helper()
	want, wantErr := dumpSequential(data, opts...)
	for _, w := range []int{1, 2, 8} {
		got, gotErr := dumpParallel(data, w, opts...)
		if gotErr != wantErr {
			t.Fatalf("%s, %d workers: error %s, sequential %s", name, w, gotErr, wantErr)
		}
		if !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%s, %d workers: output differs at byte %d of %d (sequential %d)", name, w, i, len(got), len(want))
		}
	}
}

// WriteRecords prints exactly what WriteKey and WriteSlotInfo record by record print, on every
// corpus file, at 1, 2 and 8 workers, and on truncated files.
func TestWriteRecordsIdenticalOnCorpus(t *testing.T) {
	compareCorpusDumps(t)
}

// compareCorpusDumps compares dumps of every corpus file, and of one cut
// short at 25 places.
func compareCorpusDumps(t *testing.T) {
	t.Helper()
	for _, f := range corpustest.Files(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		compareDumps(t, f.Name, data)
	}
	p := filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.4.1", "main.rdb")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n < len(data); n += len(data) / 25 {
		compareDumps(t, fmt.Sprintf("truncated at %d", n), data[:n])
	}
}

// A value too large to batch is streamed in its place.
func TestWriteRecordsLargeValue(t *testing.T) {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}, NoCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if err := w.WriteString(rdb.KeyHeader{Key: fmt.Appendf(nil, "k%d", i)}, fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
		if i == 1000 {
			if err := w.WriteString(rdb.KeyHeader{Key: []byte("big")}, bytes.Repeat([]byte("0123456789"), 300000)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	compareDumps(t, "large value", buf.Bytes())
}

// With a 4 KiB framing buffer, every collection over 1 KiB is rendered in
// parts on the workers (or, past an element larger than the look-ahead,
// streamed): the output is still byte for byte the sequential one, on
// every corpus file and cut short anywhere.
func TestWriteRecordsInPartsIdentical(t *testing.T) {
	defer func(n int) { framingBufferSize = n }(framingBufferSize)
	framingBufferSize = 4096
	compareCorpusDumps(t)
}

// A write that fails ends WriteRecords with its error, without reading
// the rest of the file.
func TestWriteRecordsStopsOnWriteError(t *testing.T) {
	var file bytes.Buffer
	rw, err := rdb.NewWriter(&file, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200000 { // about 6 MB, more than the framing reads ahead
		if err := rw.WriteString(rdb.KeyHeader{Key: fmt.Appendf(nil, "key:%d", i)}, fmt.Appendf(nil, "value %d of the file", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	data := file.Bytes()
	w := &errWriter{}
	r := rdb.NewReader(bytes.NewReader(data))
	err = NewJSONWriter(w).WriteRecords(context.Background(), r, 2)
	if err == nil || err.Error() != "disk full" || w.n != 1 {
		t.Fatalf("WriteRecords: %v after %d writes, want disk full after 1", err, w.n)
	}
	if r.Offset() >= int64(len(data)) {
		t.Fatalf("read to offset %d of %d after the write failed", r.Offset(), len(data))
	}
}
