package restore

import (
	"context"
	"io"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/source"
)

// Input is one snapshot to restore. It has the shape of analyze.Input and
// diff.Input, a name and a function that opens the snapshot, except that
// Open returns the stream rather than an rdb.Reader: restore reads the
// bytes itself (with Options.ReaderOptions), because it resumes a
// checkpoint at a byte offset, checks a file's CRC-64 in a pass that
// parses nothing, and sends values as they are stored.
type Input struct {
	// Name names the snapshot in reports, errors and checkpoints (a
	// checkpoint resumes only a run over the same names). When it is a
	// local file's path, a full sync may let the target load the stream
	// as it arrives (see Options.Method).
	Name string
	// Open opens the stream from its first byte; it is called once per
	// pass (checks, estimate, writing, verification). size is the number
	// of bytes the stream holds, -1 when unknown (a compressed file).
	Open func(ctx context.Context) (rc io.ReadCloser, size int64, err error)
}

// FileInputs returns an Input for each name, opened with open: nil for
// source.Open (local files, plain or compressed, and "-", which can only
// be read once: use it alone and without Verify or the checks' passes),
// or the Open of a source.Openers that knows more locations (s3://).
func FileInputs(open func(ctx context.Context, name string) (*source.Source, error), names ...string) []Input {
	if open == nil {
		open = source.Open
	}
	inputs := make([]Input, len(names))
	for i, name := range names {
		inputs[i] = Input{Name: name, Open: func(ctx context.Context) (io.ReadCloser, int64, error) {
			src, err := open(ctx, name)
			if err != nil {
				return nil, 0, err
			}
			return src, src.RawSize(), nil
		}}
	}
	return inputs
}

// openReader opens an input and an RDB reader over it from its start.
func (e *engine) openReader(in Input) (*rdb.Reader, io.Closer, error) {
	rc, size, err := in.Open(e.ctx)
	if err != nil {
		return nil, nil, err
	}
	opts := append([]rdb.Option{rdb.WithName(in.Name), rdb.WithSize(size)}, e.o.ReaderOptions...)
	return rdb.NewReader(rc, opts...), rc, nil
}

// names returns the inputs' names, as a checkpoint records them.
func names(inputs []Input) []string {
	out := make([]string, len(inputs))
	for i, in := range inputs {
		out[i] = in.Name
	}
	return out
}
