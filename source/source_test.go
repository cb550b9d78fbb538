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
