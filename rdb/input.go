package rdb

import (
	"io"
	"os"
)

// input is the Reader's buffered view of its source. It tracks the byte
// offset of everything it hands out, feeds every consumed byte to the
// CRC-64 in large blocks (so skipping a value still checksums it), and
// knows how many bytes can remain when the source reveals its size, so that
// a length field can be rejected before anything is allocated for it.
type input struct {
	src  io.Reader
	buf  []byte
	r, w int   // buf[r:w] is buffered and not yet consumed
	base int64 // input offset of buf[0]

	crcOn  bool
	crc    uint64
	crcPos int // buf[crcPos:r] is consumed but not yet checksummed

	size int64 // total input size when known, else -1
	err  error // sticky read error (io.EOF at a clean end of source)

	// Checksumming runs beside parsing: when the buffer is refilled, the
	// consumed part is handed to a goroutine and parsing continues in the
	// spare buffer; the next refill waits for that goroutine first.
	spare   []byte
	crcDone chan uint64 // result of the checksum job in flight, if crcBusy
	crcBusy bool

	tee      bool // recording consumed bytes into teeBuf
	teeBuf   []byte
	teeStart int // buf[teeStart:r] consumed while recording, not yet in teeBuf

	// fixed: buf[:w] is all there is (a parallel read's batch of records,
	// or a look-ahead over the buffered bytes): nothing is read or moved,
	// and reading past w is the end of the input.
	fixed bool
}

const defaultBufferSize = 256 << 10

func newInput(src io.Reader, bufSize int, size int64) *input {
	if bufSize < 4096 {
		bufSize = 4096
	}
	in := &input{src: src, buf: make([]byte, bufSize), size: size, crcOn: true}
	if in.size < 0 {
		in.size = sourceSize(src)
	}
	return in
}

// sourceSize returns how many bytes src holds from its current position
// on, or -1 when it cannot tell without reading.
func sourceSize(src io.Reader) int64 {
	switch s := src.(type) {
	case interface{ Len() int }: // bytes.Reader, strings.Reader, bytes.Buffer
		return int64(s.Len())
	case *os.File:
		fi, err := s.Stat()
		if err != nil || !fi.Mode().IsRegular() {
			return -1
		}
		pos, err := s.Seek(0, io.SeekCurrent)
		if err != nil {
			return -1
		}
		return fi.Size() - pos
	}
	return -1
}

func (in *input) offset() int64 { return in.base + int64(in.r) }

// remaining returns how many bytes can still be read, or -1 if unknown.
func (in *input) remaining() int64 {
	if in.size < 0 {
		return -1
	}
	return in.size - in.offset()
}

// fits reports whether n more bytes can possibly be in the input.
func (in *input) fits(n uint64) bool {
	rem := in.remaining()
	return rem < 0 || n <= uint64(rem)
}

// checksum folds the consumed bytes into the CRC.
func (in *input) checksum() {
	in.waitCRC()
	if in.crcOn && in.crcPos < in.r {
		in.crc = CRC64(in.crc, in.buf[in.crcPos:in.r])
	}
	in.crcPos = in.r
}

// waitCRC collects the result of the checksum job in flight.
func (in *input) waitCRC() {
	if in.crcBusy {
		in.crc = <-in.crcDone
		in.crcBusy = false
	}
}

// asyncCRCMin is the consumed size worth checksumming on another goroutine.
const asyncCRCMin = 64 << 10

// rotate moves the unconsumed bytes to the spare buffer and checksums the
// consumed ones concurrently. It reports false when it did nothing.
func (in *input) rotate() bool {
	if !in.crcOn || in.r-in.crcPos < asyncCRCMin {
		return false
	}
	in.waitCRC()
	if in.spare == nil {
		in.spare = make([]byte, len(in.buf))
		in.crcDone = make(chan uint64, 1)
	}
	chunk := in.buf[in.crcPos:in.r]
	go func(crc uint64, p []byte, done chan<- uint64) {
		done <- CRC64(crc, p)
	}(in.crc, chunk, in.crcDone)
	in.crcBusy = true
	n := copy(in.spare, in.buf[in.r:in.w])
	in.buf, in.spare = in.spare, in.buf
	in.base += int64(in.r)
	in.w, in.r, in.crcPos = n, 0, 0
	return true
}

// grow makes buf at least n bytes long, keeping what it holds where it
// is: for peeks larger than a small buffer (quicklist2Encoding), so that
// what the Reader reports does not depend on its buffer size.
func (in *input) grow(n int) {
	if n <= len(in.buf) || in.fixed {
		return
	}
	in.waitCRC() // the spare buffer may still be checksummed
	nb := make([]byte, n)
	copy(nb, in.buf[:in.w])
	in.buf, in.spare = nb, nil
}

// fill makes at least n bytes (n <= len(buf)) available in buf[r:w].
func (in *input) fill(n int) error {
	if in.w-in.r >= n {
		return nil
	}
	if in.fixed {
		return io.ErrUnexpectedEOF
	}
	if in.r > 0 {
		if in.tee {
			in.teeBuf = append(in.teeBuf, in.buf[in.teeStart:in.r]...)
			in.teeStart = 0
		}
		if !in.rotate() {
			in.checksum()
			copy(in.buf, in.buf[in.r:in.w])
			in.base += int64(in.r)
			in.w -= in.r
			in.r = 0
			in.crcPos = 0
		}
	}
	for in.w < n {
		if in.err != nil {
			if in.err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return in.err
		}
		m, err := in.src.Read(in.buf[in.w:])
		in.w += m
		if err != nil {
			in.err = err
		} else if m == 0 {
			// A reader that returns nothing and no error: count it and give up
			// eventually rather than spin forever.
			in.err = io.ErrNoProgress
		}
	}
	return nil
}

func (in *input) readByte() (byte, error) {
	if in.r < in.w {
		b := in.buf[in.r]
		in.r++
		return b, nil
	}
	if err := in.fill(1); err != nil {
		return 0, err
	}
	b := in.buf[in.r]
	in.r++
	return b, nil
}

// next consumes n bytes (n <= len(buf)) and returns a view of them that
// stays valid until the next call that reads from the input.
func (in *input) next(n int) ([]byte, error) {
	if in.w-in.r < n {
		if n > len(in.buf) {
			panic("rdb: input.next beyond buffer size")
		}
		if err := in.fill(n); err != nil {
			return nil, err
		}
	}
	b := in.buf[in.r : in.r+n : in.r+n]
	in.r += n
	return b, nil
}

// peek returns up to n buffered bytes without consuming them; fewer only at
// the end of the input.
func (in *input) peek(n int) []byte {
	if n > len(in.buf) {
		n = len(in.buf)
	}
	if in.w-in.r < n {
		in.fill(n) // a short result is the answer at the end of input
	}
	if in.w-in.r < n {
		n = in.w - in.r
	}
	return in.buf[in.r : in.r+n]
}

// ioErr returns the source's read error, if it failed other than by ending.
func (in *input) ioErr() error {
	if in.err != nil && in.err != io.EOF {
		return in.err
	}
	return nil
}

// appendN appends n bytes from the input to dst. It grows dst only as data
// actually arrives, so a lying length field cannot force a huge allocation.
func (in *input) appendN(dst []byte, n uint64) ([]byte, error) {
	for n > 0 {
		if in.r == in.w {
			if err := in.fill(1); err != nil {
				return dst, err
			}
		}
		k := in.w - in.r
		if uint64(k) > n {
			k = int(n)
		}
		dst = append(dst, in.buf[in.r:in.r+k]...)
		in.r += k
		n -= uint64(k)
	}
	return dst, nil
}

// discard skips n bytes, checksumming them on the way.
func (in *input) discard(n uint64) error {
	for {
		k := in.w - in.r
		if uint64(k) >= n {
			in.r += int(n)
			return nil
		}
		in.r = in.w
		n -= uint64(k)
		if err := in.fill(1); err != nil {
			return err
		}
	}
}

// sum returns the CRC of everything consumed so far.
func (in *input) sum() uint64 {
	in.checksum()
	return in.crc
}

// startTee begins recording every consumed byte (for callers that want a
// structure's exact serialized form while it is parsed).
func (in *input) startTee() {
	in.tee = true
	in.teeBuf = in.teeBuf[:0]
	in.teeStart = in.r
}

// stopTee ends recording and appends what was recorded to dst.
func (in *input) stopTee(dst []byte) []byte {
	in.teeBuf = append(in.teeBuf, in.buf[in.teeStart:in.r]...)
	in.tee = false
	return append(dst, in.teeBuf...)
}
