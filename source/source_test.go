package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenDetectsGzipByContent(t *testing.T) {
	data := []byte("REDIS0011 not really an rdb, but bytes to round-trip")
	dir := t.TempDir()
	plain := filepath.Join(dir, "dump.gz") // a misleading name: not compressed
	os.WriteFile(plain, data, 0o644)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(data)
	w.Close()
	packed := filepath.Join(dir, "dump.rdb") // compressed despite its name
	os.WriteFile(packed, gz.Bytes(), 0o644)

	for _, tc := range []struct {
		path, compression string
		rawSize           int64
	}{{plain, "", int64(len(data))}, {packed, "gzip", -1}} {
		s, err := Open(context.Background(), tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(s)
		s.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read %q, %v", tc.path, got, err)
		}
		if s.Compression != tc.compression || s.RawSize() != tc.rawSize {
			t.Errorf("%s: compression %q raw size %d, want %q %d", tc.path, s.Compression, s.RawSize(), tc.compression, tc.rawSize)
		}
	}
}

// A plain local file offers random access to the bytes Read returns, at
// their stream offsets; a compressed file does not.
func TestReaderAt(t *testing.T) {
	data := []byte("REDIS0011 bytes a worker reads again at their offsets")
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.rdb")
	os.WriteFile(plain, data, 0o644)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(data)
	w.Close()
	packed := filepath.Join(dir, "packed.rdb")
	os.WriteFile(packed, gz.Bytes(), 0o644)

	s, err := Open(context.Background(), plain)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	head := make([]byte, 10)
	if _, err := io.ReadFull(s, head); err != nil {
		t.Fatal(err)
	}
	ra := s.ReaderAt()
	if ra == nil {
		t.Fatal("a plain local file offers no ReaderAt")
	}
	got := make([]byte, 5)
	if _, err := ra.ReadAt(got, 17); err != nil || string(got) != string(data[17:22]) {
		t.Fatalf("ReadAt(17) = %q, %v; want %q", got, err, data[17:22])
	}
	p, err := Open(context.Background(), packed)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if ra := p.ReaderAt(); ra != nil {
		t.Errorf("a gzip-compressed file: ReaderAt %T, want none", ra)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing.rdb")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(context.Background(), "ftp://host/x.rdb"); err == nil {
		t.Error("unknown scheme accepted")
	}
	var corrupt bytes.Buffer
	corrupt.Write([]byte{0x1f, 0x8b, 0, 0, 0})
	p := filepath.Join(t.TempDir(), "bad.gz")
	os.WriteFile(p, corrupt.Bytes(), 0o644)
	if _, err := Open(context.Background(), p); err == nil {
		t.Error("corrupt gzip header accepted")
	}
}

// TestOpenersValue: names go to the Opener of their longest prefix; a name
// with a scheme no Opener knows is an error, not a file name; the zero
// value opens local files.
func TestOpenersValue(t *testing.T) {
	var got []string
	op := func(tag string) Opener {
		return func(_ context.Context, name string) (io.ReadCloser, int64, error) {
			got = append(got, tag+" "+name)
			return io.NopCloser(bytes.NewReader([]byte("REDIS0011"))), 9, nil
		}
	}
	m := Openers{"s3://": op("s3"), "s3://special/": op("special")}
	for _, name := range []string{"s3://b/k.rdb", "s3://special/k.rdb"} {
		s, err := m.Open(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Size != 9 {
			t.Errorf("%s: size %d", name, s.Size)
		}
		s.Close()
	}
	if want := []string{"s3 s3://b/k.rdb", "special s3://special/k.rdb"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("openers called: %q, want %q", got, want)
	}
	if _, err := m.Open(context.Background(), "gs://b/k.rdb"); err == nil {
		t.Error("gs:// opened")
	}
	if _, err := Open(context.Background(), "s3://b/k.rdb"); err == nil {
		t.Error("the zero Openers opened s3://")
	}
	p := filepath.Join(t.TempDir(), "f.rdb")
	if err := os.WriteFile(p, []byte("REDIS0011"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Openers(nil).Open(context.Background(), p)
	if err != nil || s.Size != 9 {
		t.Fatalf("local file: %v, size %v", err, s)
	}
	s.Close()
}
