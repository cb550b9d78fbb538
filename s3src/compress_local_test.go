package s3src_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/rdbtool/rdbtool/source"
)

// The zstd and lz4 decompressors registered in source/compress.go work for
// local files too, detected by content whatever the name.
func TestLocalZstdLz4(t *testing.T) {
	data := readFile(t, corpusFile)
	var zs, l4 bytes.Buffer
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(data)
	zw.Close()
	lw := lz4.NewWriter(&l4)
	lw.Write(data)
	lw.Close()
	dir := t.TempDir()
	for name, body := range map[string][]byte{"zstd": zs.Bytes(), "lz4": l4.Bytes()} {
		p := filepath.Join(dir, name+".rdb")
		os.WriteFile(p, body, 0o644)
		s, err := source.Open(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(s)
		s.Close()
		if err != nil || !bytes.Equal(got, data) || s.Compression != name {
			t.Errorf("%s: %d bytes, %v, compression %q", name, len(got), err, s.Compression)
		}
	}
	// A damaged frame is refused at open time with a clear message.
	p := filepath.Join(dir, "bad.rdb")
	os.WriteFile(p, append([]byte{0x28, 0xb5, 0x2f, 0xfd}, bytes.Repeat([]byte{0xff}, 20)...), 0o644)
	if s, err := source.Open(context.Background(), p); err == nil {
		_, err = io.ReadAll(s)
		s.Close()
		if err == nil {
			t.Error("damaged zstd frame read without error")
		}
	}
}
