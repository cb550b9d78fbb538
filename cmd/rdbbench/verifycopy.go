package main

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/rdbtool/rdbtool/internal/writeback"
	"github.com/rdbtool/rdbtool/rdb"
)

// copyBufferSize is the size of verifyCopy's writes: the size convert's
// Writer hands its output over in.
const copyBufferSize = 256 << 10

// verifyCopy measures the least work a convert that checks what it copies
// does on this machine (issue 19's convert target is set against a full
// decode): every value verified as the full decode verifies it, on every
// core (rdb.ReadParallel, large values in parts, CRC on), while the file
// is copied to out as convert writes its output (writes of 256 KiB,
// writeback begun every 8 MiB, fsync at the end). It re-encodes nothing
// and does not look for repeated keys or members, which a convert must;
// it reads the file a second time for the copy (from the page cache),
// which a convert writing what it read would not. out is closed; the
// caller removes it, outside the time measured (as convert's output).
func verifyCopy(file string, out *os.File) (keys int64, note string, err error) {
	copied := make(chan error, 1)
	go func() { copied <- copyDurably(out, file) }()

	f, err := os.Open(file)
	if err != nil {
		return 0, "", errors.Join(err, <-copied)
	}
	defer f.Close()
	r := rdb.NewReader(f, rdb.WithName(filepath.Base(file)), rdb.WithReaderAt(f))
	err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{KeysOnly: true}, rdb.ParallelHandler[struct{}]{
		Framing: func(rec *rdb.Record) error {
			if rec.Kind == rdb.KindKey {
				keys++
			}
			return nil
		},
		Split: func(*rdb.Record) bool { return true },
		Work: func(w *rdb.Worker, _ *rdb.Record, _ *struct{}) error {
			return w.Reader.VerifyValue()
		},
	})
	if err := errors.Join(err, <-copied); err != nil {
		return keys, "", err
	}
	st, _ := r.Checksum()
	return keys, "checksum " + st.String(), nil
}

// copyDurably copies file to out with the writes an rdbtool output file
// makes (cmd/rdbtool's atomicFile): from user memory, in 256 KiB, with
// writeback begun every writeback.Every bytes, then fsync; and closes
// out. Not io.Copy: between two files it copies in the kernel
// (copy_file_range), which a convert writing what it made cannot.
func copyDurably(out *os.File, file string) error {
	in, err := os.Open(file)
	if err != nil {
		out.Close()
		return err
	}
	defer in.Close()
	buf := make([]byte, copyBufferSize)
	var written, started int64
	for {
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := out.Write(buf[:n]); err != nil {
				out.Close()
				return err
			}
			written += int64(n)
			if written-started >= writeback.Every {
				writeback.Start(out, started, written-started)
				started = written
			}
		}
		if rerr != nil {
			if rerr != io.EOF {
				out.Close()
				return rerr
			}
			break
		}
	}
	return errors.Join(out.Sync(), out.Close())
}
