package diff

import (
	"context"
	"io"
	"strconv"

	"github.com/rdbtool/rdbtool/internal/livesrc"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/source"
)

// Input is one side of a comparison. It is opened once per pass (the
// comparison reads each side twice when element detail is wanted), so
// Open must start from the beginning every time.
type Input struct {
	Name string
	// Open opens an RDB stream for one pass, returning the reader and a
	// function that releases it.
	Open func(ctx context.Context) (*rdb.Reader, func() error, error)
	// OpenWith, when set, is Open with extra reader options. The detail
	// pass uses it to re-read the file without verifying its checksum
	// again (the first pass verified it).
	OpenWith func(ctx context.Context, extra ...rdb.Option) (*rdb.Reader, func() error, error)
	live     *livesrc.Server
	// path and ropts: a FileInput's name and reader options, for the
	// detail pass to read records in place when name is a plain RDB file.
	path  string
	ropts []rdb.Option
}

// FileInput returns an Input for anything source.Open accepts (a path, "-"
// is not accepted since the input is read twice, s3:// URLs when
// registered, gzip-compressed files).
func FileInput(name string, opts ...rdb.Option) Input {
	openWith := func(ctx context.Context, extra ...rdb.Option) (*rdb.Reader, func() error, error) {
		src, err := source.Open(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		o := append([]rdb.Option{rdb.WithName(name), rdb.WithSize(src.RawSize())}, opts...)
		return rdb.NewReader(src, append(o, extra...)...), src.Close, nil
	}
	return Input{Name: name, path: name, ropts: opts, OpenWith: openWith, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
		return openWith(ctx)
	}}
}

// LiveInput connects to a server (redis://, rediss:// or unix:// URL) whose
// keys are read with SCAN, DUMP and PEXPIRETIME. Close the Input when done.
func LiveInput(ctx context.Context, url string, opts ...rdb.Option) (Input, error) {
	s, err := livesrc.Open(ctx, url, opts...)
	if err != nil {
		return Input{}, err
	}
	return Input{Name: s.Name(), live: s}, nil
}

// OpenInput returns LiveInput for server URLs and FileInput otherwise.
func OpenInput(ctx context.Context, name string, opts ...rdb.Option) (Input, error) {
	if livesrc.IsURL(name) {
		return LiveInput(ctx, name, opts...)
	}
	return FileInput(name, opts...), nil
}

// IsLive tells whether the input is a server.
func (in Input) IsLive() bool { return in.live != nil }

// Close releases a live input's connections.
func (in Input) Close() error {
	if in.live != nil {
		return in.live.Close()
	}
	return nil
}

// keyStream is one pass over one side's keys.
type keyStream interface {
	// next returns the next key and the reader positioned at its value;
	// io.EOF at the end.
	next() (*rdb.Record, *rdb.Reader, error)
	// time is the snapshot time in Unix ms (a file's ctime, a server's
	// clock when the pass started), 0 when unknown.
	time() int64
	close() error
}

// stream opens a pass; again: the input was read whole once already, so
// its checksum need not be verified again.
func (in Input) stream(ctx context.Context, db int, match string, again bool) (keyStream, error) {
	if in.live != nil {
		t, err := in.live.Time(ctx)
		if err != nil {
			return nil, err
		}
		dbs, err := in.live.DBs(ctx, db)
		if err != nil {
			return nil, err
		}
		return &liveStream{sc: in.live.Scan(ctx, dbs, match), t: t}, nil
	}
	var r *rdb.Reader
	var closer func() error
	var err error
	if again && in.OpenWith != nil {
		r, closer, err = in.OpenWith(ctx, rdb.WithoutChecksum())
	} else {
		r, closer, err = in.Open(ctx)
	}
	if err != nil {
		return nil, err
	}
	fs := &fileStream{r: r, closer: closer}
	// Read the header and aux fields up to the first key, for ctime.
	for {
		rec, err := r.Next()
		if err == io.EOF {
			fs.eof = true
			break
		}
		if err != nil {
			closer()
			return nil, err
		}
		if rec.Kind == rdb.KindAux && string(rec.AuxKey) == "ctime" {
			if v, err := strconv.ParseInt(string(rec.AuxValue), 10, 64); err == nil {
				fs.t = v*1000 + 999 // ctime has 1 s resolution: the save ended within that second
			}
		}
		if rec.Kind == rdb.KindKey {
			fs.pending = rec
			break
		}
	}
	return fs, nil
}

type fileStream struct {
	r       *rdb.Reader
	closer  func() error
	pending *rdb.Record
	eof     bool
	t       int64
}

func (f *fileStream) next() (*rdb.Record, *rdb.Reader, error) {
	if f.pending != nil {
		rec := f.pending
		f.pending = nil
		return rec, f.r, nil
	}
	if f.eof {
		return nil, nil, io.EOF
	}
	for {
		rec, err := f.r.Next()
		if err == io.EOF {
			f.eof = true
			return nil, nil, io.EOF
		}
		if err != nil {
			return nil, nil, err
		}
		if rec.Kind == rdb.KindKey {
			return rec, f.r, nil
		}
	}
}

func (f *fileStream) time() int64 { return f.t }
func (f *fileStream) close() error {
	if f.closer != nil {
		c := f.closer
		f.closer = nil
		return c()
	}
	return nil
}

type liveStream struct {
	sc *livesrc.Scanner
	t  int64
}

func (l *liveStream) next() (*rdb.Record, *rdb.Reader, error) { return l.sc.Next() }
func (l *liveStream) time() int64                             { return l.t }
func (l *liveStream) close() error                            { return nil }
