package rdb

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// spool holds encoded bytes in memory up to a limit, then in a temp file.
type spool struct {
	mr    bytes.Reader
	mem   []byte
	limit int
	dir   string
	f     *os.File
	bw    *bufio.Writer
	size  int64
}

func (s *spool) write(p []byte) error {
	s.size += int64(len(p))
	if s.f == nil {
		if len(s.mem)+len(p) <= s.limit {
			s.mem = append(s.mem, p...)
			return nil
		}
		f, err := os.CreateTemp(s.dir, "rdbtool-spool-*")
		if err != nil {
			return fmt.Errorf("rdb: spooling a large value: %w", err)
		}
		os.Remove(f.Name()) // unlinked: the file goes away with its descriptor
		s.f = f
		s.bw = bufio.NewWriterSize(f, 1<<20)
		if _, err := s.bw.Write(s.mem); err != nil {
			return err
		}
		s.mem = s.mem[:0]
	}
	_, err := s.bw.Write(p)
	return err
}

// reader returns the spooled bytes from the start.
func (s *spool) reader() (spoolReader, error) {
	if s.f == nil {
		s.mr.Reset(s.mem)
		return &s.mr, nil
	}
	if err := s.bw.Flush(); err != nil {
		return nil, err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return bufio.NewReaderSize(s.f, 1<<20), nil
}

// copyTo writes the spooled bytes to o.
func (s *spool) copyTo(o *out) error {
	if s.f == nil {
		o.raw(s.mem)
		return o.err
	}
	r, err := s.reader()
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			o.raw(buf[:n])
		}
		if err == io.EOF {
			return o.err
		}
		if err != nil {
			return err
		}
	}
}

func (s *spool) release() {
	if s.f != nil {
		s.f.Close()
		s.f, s.bw = nil, nil
	}
	s.mem = s.mem[:0]
	s.size = 0
}

type spoolReader interface {
	io.Reader
	io.ByteReader
}

// element framing inside a spool: member, value (hash), score (zset) and
// field expiry (hash), with uvarint lengths.
func appendFramed(b []byte, e *Element, typ Type) []byte {
	b = binary.AppendUvarint(b, uint64(len(e.Member)))
	b = append(b, e.Member...)
	switch typ {
	case TypeHash:
		b = binary.AppendUvarint(b, uint64(len(e.Value)))
		b = append(b, e.Value...)
		b = binary.AppendVarint(b, e.ExpireAt)
	case TypeZSet:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Score))
	}
	return b
}

type framedReader struct {
	r        spoolReader
	typ      Type
	mem, val []byte
}

func (fr *framedReader) next() (Element, error) {
	var e Element
	n, err := binary.ReadUvarint(fr.r)
	if err != nil {
		return e, err
	}
	fr.mem = slices.Grow(fr.mem[:0], int(n))[:n]
	if _, err := io.ReadFull(fr.r, fr.mem); err != nil {
		return e, err
	}
	e.Member = fr.mem
	switch fr.typ {
	case TypeHash:
		n, err := binary.ReadUvarint(fr.r)
		if err != nil {
			return e, err
		}
		fr.val = slices.Grow(fr.val[:0], int(n))[:n]
		if _, err := io.ReadFull(fr.r, fr.val); err != nil {
			return e, err
		}
		e.Value = fr.val
		if e.ExpireAt, err = binary.ReadVarint(fr.r); err != nil {
			return e, err
		}
	case TypeZSet:
		fr.val = slices.Grow(fr.val[:0], 8)[:8]
		if _, err := io.ReadFull(fr.r, fr.val); err != nil {
			return e, err
		}
		e.Score = math.Float64frombits(binary.LittleEndian.Uint64(fr.val))
	}
	return e, nil
}
