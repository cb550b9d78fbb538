package diff

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/rdbtool/rdbtool/internal/livesrc"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/source"
)

// Input is one side of a comparison: an RDB stream, a set of them read
// as one snapshot (a cluster's shard set, see SetInput), or a live server
// (LiveInput). It has the shape of analyze.Input and restore.Input: a name
// and a function that opens the stream.
type Input struct {
	// Name names the side in reports and errors.
	Name string
	// Open opens the stream for one pass, returning the reader and a
	// function that releases it. It is called once per pass (twice when
	// element detail is wanted), each time from the beginning; nil for a
	// live server and a set.
	Open func(ctx context.Context) (*rdb.Reader, func() error, error)

	live  *livesrc.Server
	parts []Input
	// path and ropts: a FileInput's name and reader options, for the
	// detail pass to read records in place when name is a plain RDB file.
	path  string
	ropts []rdb.Option
}

// FileInput returns an Input for a local file, plain or compressed (what
// source.Open opens; "-" is not accepted since the input is read twice).
// For other locations (s3:// with a source.Openers that knows it) set
// Open to open them: the in-place reads of the detail pass still use the
// local file when name is one.
func FileInput(name string, opts ...rdb.Option) Input {
	return Input{Name: name, path: name, ropts: opts, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
		src, err := source.Open(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		o := append([]rdb.Option{rdb.WithName(name), rdb.WithSize(src.RawSize())}, opts...)
		if ra := src.ReaderAt(); ra != nil {
			o = append(o, rdb.WithReaderAt(ra))
		}
		return rdb.NewReader(src, o...), src.Close, nil
	}}
}

// SetInput returns an Input whose keys are those of parts read one after
// the other, as one snapshot: the files of a cluster's shard set (each
// key is in one shard). Its time is the latest of the parts'. A part is a
// FileInput or any Input with Open, not a server or another set.
func SetInput(name string, parts ...Input) Input {
	return Input{Name: name, parts: parts}
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

// stream opens a pass.
func (in Input) stream(ctx context.Context, db int, match string) (keyStream, error) {
	switch {
	case in.live != nil:
		t, err := in.live.Time(ctx)
		if err != nil {
			return nil, err
		}
		dbs, err := in.live.DBs(ctx, db)
		if err != nil {
			return nil, err
		}
		return &liveStream{sc: in.live.Scan(ctx, dbs, match), t: t}, nil
	case in.parts != nil:
		return in.setStream(ctx)
	case in.Open == nil:
		return nil, fmt.Errorf("%s: diff.Input has no Open", in.Name)
	}
	r, closer, err := in.Open(ctx)
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

// setStream opens every part of a set up to its first key (for its
// time), then reads them one after the other.
func (in Input) setStream(ctx context.Context) (keyStream, error) {
	ss := &setStream{}
	for _, p := range in.parts {
		if p.live != nil || p.parts != nil {
			ss.close()
			return nil, fmt.Errorf("%s: a set's parts are files, not %s", in.Name, p.Name)
		}
		st, err := p.stream(ctx, -1, "")
		if err != nil {
			ss.close()
			return nil, err
		}
		ss.parts = append(ss.parts, st)
		ss.t = max(ss.t, st.time())
	}
	return ss, nil
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

// setStream reads its parts' keys one part after the other.
type setStream struct {
	parts []keyStream
	t     int64
}

func (s *setStream) next() (*rdb.Record, *rdb.Reader, error) {
	for len(s.parts) > 0 {
		rec, r, err := s.parts[0].next()
		if err != io.EOF {
			return rec, r, err
		}
		if err := s.parts[0].close(); err != nil {
			return nil, nil, err
		}
		s.parts = s.parts[1:]
	}
	return nil, nil, io.EOF
}

func (s *setStream) time() int64 { return s.t }
func (s *setStream) close() error {
	var first error
	for _, p := range s.parts {
		if err := p.close(); err != nil && first == nil {
			first = err
		}
	}
	s.parts = nil
	return first
}

type liveStream struct {
	sc *livesrc.Scanner
	t  int64
}

func (l *liveStream) next() (*rdb.Record, *rdb.Reader, error) { return l.sc.Next() }
func (l *liveStream) time() int64                             { return l.t }
func (l *liveStream) close() error                            { return nil }
