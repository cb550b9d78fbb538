package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/internal/writeback"
)

// atomicFile is a file written under a temporary name beside its final
// one and moved there only when complete and on disk: a reader of the
// final name sees the old content or the new, never a part; a failed or
// interrupted command leaves nothing behind. A name that exists and is
// not a regular file (a device, a pipe: /dev/stdout, >(cmd)) is written
// directly, since it cannot be replaced.
type atomicFile struct {
	name      string // the final name, symbolic links resolved
	overwrite bool
	f         *os.File
	direct    bool
	done      bool // committed or aborted
	// written: bytes written so far; flushed: how many of them the
	// kernel was asked to start writing to disk (see Write).
	written, flushed int64
}

// createAtomic starts writing name. Unless overwrite, a name that exists
// is refused, now (before any work) and again when the file is complete.
func createAtomic(name string, overwrite bool) (*atomicFile, error) {
	if fi, err := os.Stat(name); err == nil {
		if !fi.Mode().IsRegular() {
			if fi.IsDir() {
				return nil, fmt.Errorf("%s is a directory: give a file name", name)
			}
			f, err := os.OpenFile(name, os.O_WRONLY, 0)
			if err != nil {
				return nil, err
			}
			return &atomicFile{name: name, f: f, direct: true}, nil
		}
		if !overwrite {
			return nil, fmt.Errorf("%s exists (--overwrite replaces it)", name)
		}
		if name, err = filepath.EvalSymlinks(name); err != nil {
			return nil, err
		}
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &atomicFile{name: name, overwrite: overwrite, f: f}, nil
}

func (a *atomicFile) Write(p []byte) (int, error) {
	n, err := a.f.Write(p)
	a.written += int64(n)
	if !a.direct && a.written-a.flushed >= writeback.Every {
		writeback.Start(a.f, a.flushed, a.written-a.flushed)
		a.flushed = a.written
	}
	return n, err
}

// commit puts the complete file in place.
func (a *atomicFile) commit() error {
	if a.done {
		return nil
	}
	a.done = true
	if a.direct {
		return a.f.Close()
	}
	tmp := a.f.Name()
	err := a.f.Chmod(0o644) // CreateTemp makes it private; what we write is for sharing
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = a.place(tmp)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", a.name, err)
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(filepath.Dir(a.name)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

func (a *atomicFile) place(tmp string) error {
	if a.overwrite {
		return os.Rename(tmp, a.name)
	}
	// A link fails when the name appeared meanwhile, where a rename
	// would replace it.
	err := os.Link(tmp, a.name)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists (--overwrite replaces it)", a.name)
	}
	if err != nil { // a file system without hard links
		if _, serr := os.Lstat(a.name); serr == nil {
			return fmt.Errorf("%s exists (--overwrite replaces it)", a.name)
		}
		return os.Rename(tmp, a.name)
	}
	return os.Remove(tmp)
}

// abort removes the unfinished file; after commit it does nothing.
func (a *atomicFile) abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	if !a.direct {
		os.Remove(a.f.Name())
	}
}

// outputFlags is -o/--output and --overwrite of a command that writes a
// report.
type outputFlags struct {
	path      string
	overwrite bool
}

// register adds -o and --overwrite, and sends the command's standard
// output (cmd.OutOrStdout) to the -o file: see redirectOutput.
func (o *outputFlags) register(cmd *cobra.Command, streams bool) {
	cmd.Flags().StringVarP(&o.path, "output", "o", "", "write the result to FILE instead of standard output, complete or not at all")
	cmd.Flags().BoolVar(&o.overwrite, "overwrite", false, "replace the -o FILE if it exists")
	redirectOutput(cmd, streams, func() (outputFlags, bool) { return *o, true })
}

// redirectOutput wraps cmd's RunE so that its standard output goes to
// the file dest names, when it names one and applies (memory and diff
// write Parquet to -o themselves). A command that streams its result
// while reading (streams) shows no progress line when its standard
// output is a terminal: the two would share its lines. One that prints
// its result after reading calls endProgress before printing it.
func redirectOutput(cmd *cobra.Command, streams bool, dest func() (outputFlags, bool)) {
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		o, applies := dest()
		if !applies || o.path == "" || o.path == "-" {
			if streams {
				hideProgressForStdout()
			}
			return run(c, args)
		}
		return reportTo(c, o, func(w io.Writer) error {
			prev := c.OutOrStdout()
			c.SetOut(w)
			defer c.SetOut(prev)
			return run(c, args)
		})
	}
}

// reportTo runs render with the -o file, which is kept only when render
// completes. An exitError without a message (diff's "they differ",
// check's "damaged") is a complete report with an exit status, returned
// as it is.
func reportTo(cmd *cobra.Command, o outputFlags, render func(w io.Writer) error) error {
	f, err := createAtomic(o.path, o.overwrite)
	if err != nil {
		return &exitError{2, err}
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	err = render(bw)
	endProgress()
	var ee *exitError
	if err != nil && !(errors.As(err, &ee) && ee.err == nil) {
		f.abort()
		return err
	}
	if ferr := bw.Flush(); ferr != nil {
		f.abort()
		return &exitError{2, fmt.Errorf("writing %s: %w", o.path, ferr)}
	}
	if cerr := f.commit(); cerr != nil {
		return &exitError{2, cerr}
	}
	return err
}
