// Package source opens the inputs that commands accept: a local file, "-"
// for standard input, and (through the Openers a program passes) remote
// locations such as s3:// URLs. Compressed inputs are recognised by their magic bytes,
// not their names, and decompressed on the fly.
package source

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Source is an opened input.
type Source struct {
	Name string // as given by the user
	// Size is the number of bytes the stored object or file holds (before
	// decompression), or -1 when unknown.
	Size int64
	// Compression names the detected compression ("", "gzip", ...).
	Compression string
	io.Reader
	closers []io.Closer
	file    *os.File // a regular local file, read from its start
}

// ReaderAt returns random access to the bytes Read returns, at their
// offsets in the stream, when the source is an uncompressed regular
// local file (for rdb.WithReaderAt); nil otherwise.
func (s *Source) ReaderAt() io.ReaderAt {
	if s.file == nil || s.Compression != "" {
		return nil
	}
	return s.file
}

// Close releases the source.
func (s *Source) Close() error {
	var first error
	for i := len(s.closers) - 1; i >= 0; i-- {
		if err := s.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Opener opens names with a given scheme prefix (for example "s3://").
type Opener func(ctx context.Context, name string) (rc io.ReadCloser, size int64, err error)

// Openers hands names starting with a prefix (the key, for example
// "s3://") to its Opener. A program builds one with the locations it
// supports and passes it, or its Open method, to what opens inputs; the
// zero value opens local files and "-" only. It is not modified by this
// package, so it may be used concurrently.
type Openers map[string]Opener

var mu sync.Mutex // guards decompressors

// Decompressor wraps a compressed stream; register one per format.
type Decompressor struct {
	Name  string
	Magic []byte
	New   func(io.Reader) (io.ReadCloser, error)
}

var decompressors = []Decompressor{{
	Name:  "gzip",
	Magic: []byte{0x1f, 0x8b},
	New: func(r io.Reader) (io.ReadCloser, error) {
		return gzip.NewReader(r)
	},
}}

// RegisterDecompressor adds a compression format recognised by its magic.
func RegisterDecompressor(d Decompressor) {
	mu.Lock()
	defer mu.Unlock()
	decompressors = append(decompressors, d)
}

// Open opens a local file, or standard input for "-": Openers(nil).Open.
func Open(ctx context.Context, name string) (*Source, error) {
	return Openers(nil).Open(ctx, name)
}

// Open opens name: "-" is standard input, a name starting with one of
// m's prefixes goes to its Opener (the longest prefix wins), anything
// else is a local file. A name with another scheme ("gs://...") is an
// error, not a file name.
func (m Openers) Open(ctx context.Context, name string) (*Source, error) {
	var rc io.ReadCloser
	var file *os.File
	size := int64(-1)
	var op Opener
	best := -1
	for prefix, o := range m {
		if strings.HasPrefix(name, prefix) && len(prefix) > best {
			op, best = o, len(prefix)
		}
	}
	switch {
	case name == "-":
		rc = io.NopCloser(os.Stdin)
	case op != nil:
		var err error
		if rc, size, err = op(ctx, name); err != nil {
			return nil, err
		}
	default:
		if i := strings.Index(name, "://"); i > 0 && !strings.ContainsAny(name[:i], "/.") {
			return nil, fmt.Errorf("%s: unsupported location scheme %q", name, name[:i+3])
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size, file = fi.Size(), f
		}
		rc = f
	}
	s := &Source{Name: name, Size: size, closers: []io.Closer{rc}, file: file}
	br := bufio.NewReaderSize(rc, 64<<10)
	head, _ := br.Peek(8)
	s.Reader = br
	mu.Lock()
	ds := decompressors
	mu.Unlock()
	for _, d := range ds {
		if len(head) >= len(d.Magic) && string(head[:len(d.Magic)]) == string(d.Magic) {
			dr, err := d.New(br)
			if err != nil {
				s.Close()
				return nil, fmt.Errorf("%s: looks %s-compressed but is not readable as such: %w", name, d.Name, err)
			}
			s.Reader, s.Compression = dr, d.Name
			s.closers = append(s.closers, dr)
			break
		}
	}
	return s, nil
}

// RawSize returns the size the RDB reader may assume for the stream: the
// stored size when uncompressed, else -1.
func (s *Source) RawSize() int64 {
	if s.Compression != "" {
		return -1
	}
	return s.Size
}

// ErrNotFound is returned by openers for missing objects.
var ErrNotFound = errors.New("not found")
