package rdb

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors. Every error the Reader returns for bad input is an
// *Error that wraps one of these, so callers can test the kind of problem
// with errors.Is and still print the position.
var (
	// ErrTruncated: the input ended before the structure being read did.
	ErrTruncated = errors.New("unexpected end of input")
	// ErrCorrupt: a length, opcode, type or encoding that no server writes.
	ErrCorrupt = errors.New("corrupt data")
	// ErrChecksum: the CRC-64 trailer does not match the content.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrUnsupportedVersion: a magic or RDB version this package does not know.
	ErrUnsupportedVersion = errors.New("unsupported RDB version")
	// ErrChanged: the input changed while ReadParallel read it (see
	// WithReaderAt), or a record read again (ReopenAt) is not the one
	// read before.
	ErrChanged = errors.New("the input changed while it was read")
	// ErrWrongType: a value method was called for a value of another type.
	ErrWrongType = errors.New("wrong value type for this call")
)

// Error describes bad input: where it is, which key it belongs to when that
// is known, and what was expected there.
type Error struct {
	Name   string // input name given with WithName, if any
	Offset int64  // byte offset in the input where the problem was found
	Key    []byte // key being decoded, nil outside a key
	What   string // what was expected or found
	Err    error  // one of the sentinel errors above, or an underlying I/O error
}

func (e *Error) Error() string {
	s := ""
	if e.Name != "" {
		s = e.Name + ": "
	}
	s += "offset " + strconv.FormatInt(e.Offset, 10)
	if e.Key != nil {
		s += " (key " + strconv.Quote(string(e.Key)) + ")"
	}
	s += ": " + e.What
	if e.Err != nil && e.Err != ErrCorrupt {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func (r *Reader) errorf(sentinel error, format string, args ...any) error {
	return r.errorAt(r.in.offset(), sentinel, format, args...)
}

func (r *Reader) errorAt(off int64, sentinel error, format string, args ...any) error {
	e := &Error{Name: r.opts.name, Offset: off, What: fmt.Sprintf(format, args...), Err: sentinel}
	if r.inKey {
		e.Key = append([]byte(nil), r.rec.Key...)
	}
	return e
}
