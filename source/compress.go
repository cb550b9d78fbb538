package source

import (
	"bufio"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// zstd and lz4 (frame format) join gzip, registered in source.go. Like
// gzip they are recognised by their magic bytes, never by the name.
func init() {
	RegisterDecompressor(Decompressor{
		Name:  "zstd",
		Magic: []byte{0x28, 0xb5, 0x2f, 0xfd},
		New: func(r io.Reader) (io.ReadCloser, error) {
			// One decoding goroutine and a bounded window keep memory
			// bounded whatever the frame header claims (zstd -19 --long
			// files up to 128 MiB windows still decode).
			d, err := zstd.NewReader(r,
				zstd.WithDecoderConcurrency(1),
				zstd.WithDecoderMaxWindow(1<<27),
				zstd.WithDecoderLowmem(false))
			if err != nil {
				return nil, err
			}
			return zstdCloser{d}, nil
		},
	})
	RegisterDecompressor(Decompressor{
		Name:  "lz4",
		Magic: []byte{0x04, 0x22, 0x4d, 0x18},
		New: func(r io.Reader) (io.ReadCloser, error) {
			zr := lz4.NewReader(r)
			// Reading the frame header now turns a damaged one into an
			// error at open time, as gzip.NewReader does.
			br := bufio.NewReaderSize(zr, 64<<10)
			if _, err := br.Peek(1); err != nil && err != io.EOF {
				return nil, err
			}
			return io.NopCloser(br), nil
		},
	})
}

// zstdCloser adapts *zstd.Decoder, whose Close returns nothing.
type zstdCloser struct{ d *zstd.Decoder }

func (z zstdCloser) Read(p []byte) (int, error) { return z.d.Read(p) }
func (z zstdCloser) Close() error               { z.d.Close(); return nil }

// Decompress returns a reader over r's decompressed content when r starts
// with the magic of a registered format, and r itself (buffered) otherwise.
// compression names the format ("" for none); close releases the
// decompressor (not r). Open does the same for the inputs it opens; this is
// for callers that already hold a stream, such as a ranged read of an
// object's first bytes.
func Decompress(r io.Reader) (out io.Reader, compression string, close func() error, err error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	head, _ := br.Peek(8)
	mu.Lock()
	ds := decompressors
	mu.Unlock()
	for _, d := range ds {
		if len(head) >= len(d.Magic) && string(head[:len(d.Magic)]) == string(d.Magic) {
			dr, err := d.New(br)
			if err != nil {
				return nil, "", nil, fmt.Errorf("looks %s-compressed but is not readable as such: %w", d.Name, err)
			}
			return dr, d.Name, dr.Close, nil
		}
	}
	return br, "", func() error { return nil }, nil
}
