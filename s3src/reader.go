package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Reader streams one object with parallel ranged GETs. At most
// Options.Concurrency chunks are requested ahead of the one being read, so
// memory stays at (Concurrency+1) × ChunkSize whatever the object's size.
// A chunk whose transfer breaks is re-requested from its last byte
// received, up to Options.Retries times in a row without progress.
type Reader struct {
	s            *Store
	url          string
	bucket, key  string
	size         int64
	etag         string
	lastModified time.Time

	ctx    context.Context
	cancel context.CancelFunc
	pool   *sync.Pool

	next  int64    // offset of the next chunk to request
	queue []*chunk // requested, in order
	cur   *chunk   // being read
	pos   int
	err   error

	resumes atomic.Int64
}

type chunk struct {
	off    int64
	n      int // bytes this chunk covers
	filled int // bytes received so far
	buf    *[]byte
	done   chan struct{}
	err    error
}

var pools sync.Map // chunk size → *sync.Pool

func poolFor(size int64) *sync.Pool {
	if p, ok := pools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := pools.LoadOrStore(size, &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}})
	return p.(*sync.Pool)
}

// Open opens s3://bucket/key on the default Store.
func Open(ctx context.Context, url string) (*Reader, error) {
	s, err := Default(ctx)
	if err != nil {
		return nil, err
	}
	return s.Open(ctx, url)
}

// Open starts reading s3://bucket/key. The first chunk's request is made
// before Open returns, so a missing object or a denied read fails here.
func (s *Store) Open(ctx context.Context, url string) (*Reader, error) {
	u, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if u.Key == "" || strings.HasSuffix(u.Key, "/") {
		return nil, fmt.Errorf("%s: names a prefix, not an object (list it with \"rdbtool ls %s\")", url, url)
	}
	r := &Reader{s: s, url: url, bucket: u.Bucket, key: u.Key, pool: poolFor(s.opts.ChunkSize)}
	r.ctx, r.cancel = context.WithCancel(ctx)

	first := s.opts.ChunkSize
	out, err := s.cli.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(u.Bucket),
		Key:    aws.String(u.Key),
		Range:  aws.String(fmt.Sprintf("bytes=0-%d", first-1)),
	})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidRange" {
			// Only an empty object has no byte 0.
			h, herr := s.cli.HeadObject(r.ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
			if herr == nil && aws.ToInt64(h.ContentLength) == 0 {
				r.size, r.etag = 0, aws.ToString(h.ETag)
				r.lastModified = aws.ToTime(h.LastModified)
				r.err = io.EOF
				return r, nil
			}
		}
		r.cancel()
		return nil, s.classify("GetObject", url, err)
	}
	r.etag = aws.ToString(out.ETag)
	r.lastModified = aws.ToTime(out.LastModified)
	start, total, ok := parseContentRange(aws.ToString(out.ContentRange))
	switch {
	case ok && start == 0:
		r.size = total
	case out.ContentRange == nil:
		// The server ignored the range and sent the whole object.
		r.size = aws.ToInt64(out.ContentLength)
	default:
		out.Body.Close()
		r.cancel()
		return nil, fmt.Errorf("%s: GetObject: unexpected Content-Range %q", url, aws.ToString(out.ContentRange))
	}
	if r.size == 0 {
		out.Body.Close()
		r.err = io.EOF
		return r, nil
	}
	c := r.newChunk()
	go r.fetch(c, out.Body)
	r.fill()
	return r, nil
}

// Size returns the object's size in bytes.
func (r *Reader) Size() int64 { return r.size }

// ETag returns the object's entity tag.
func (r *Reader) ETag() string { return r.etag }

// LastModified returns the object's modification time.
func (r *Reader) LastModified() time.Time { return r.lastModified }

// Resumes counts the transfers that broke and were resumed.
func (r *Reader) Resumes() int64 { return r.resumes.Load() }

// newChunk queues the chunk at r.next.
func (r *Reader) newChunk() *chunk {
	n := r.s.opts.ChunkSize
	if rest := r.size - r.next; rest < n {
		n = rest
	}
	c := &chunk{off: r.next, n: int(n), buf: r.pool.Get().(*[]byte), done: make(chan struct{})}
	r.next += n
	r.queue = append(r.queue, c)
	return c
}

// fill requests chunks until Concurrency are in flight.
func (r *Reader) fill() {
	for len(r.queue) < r.s.opts.Concurrency && r.next < r.size {
		go r.fetch(r.newChunk(), nil)
	}
}

// fetch fills c, resuming after transient failures. body, when not nil,
// is an already open response for c's range.
func (r *Reader) fetch(c *chunk, body io.ReadCloser) {
	defer close(c.done)
	failures := 0
	for c.filled < c.n {
		var err error
		if body == nil {
			body, err = r.get(c.off+int64(c.filled), c.off+int64(c.n)-1)
		}
		if err == nil {
			var k int
			k, err = io.ReadFull(body, (*c.buf)[c.filled:c.n])
			body.Close()
			body = nil
			if k > 0 {
				failures = 0
			}
			c.filled += k
			if err == nil {
				return
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
		}
		if r.ctx.Err() != nil {
			c.err = r.ctx.Err()
			return
		}
		failures++
		if !transient(err) || failures > r.s.opts.Retries {
			if failures > 1 {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, failures)
			}
			c.err = r.s.classify("GetObject", r.url, err)
			return
		}
		r.resumes.Add(1)
		select {
		case <-time.After(backoff(failures)):
		case <-r.ctx.Done():
			c.err = r.ctx.Err()
			return
		}
	}
}

// retryDelay is the first pause before re-requesting a chunk.
var retryDelay = 100 * time.Millisecond

func backoff(failures int) time.Duration {
	d := retryDelay << (failures - 1)
	if d > 5*time.Second || d <= 0 {
		d = 5 * time.Second
	}
	return d
}

// get requests bytes from..to of the object, pinned to the ETag seen at
// open so that a replaced object is noticed instead of mixed.
func (r *Reader) get(from, to int64) (io.ReadCloser, error) {
	in := &s3.GetObjectInput{
		Bucket: aws.String(r.bucket),
		Key:    aws.String(r.key),
		Range:  aws.String(fmt.Sprintf("bytes=%d-%d", from, to)),
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.s.cli.GetObject(r.ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "PreconditionFailed" {
			return nil, fmt.Errorf("%s: the object changed while it was being read", r.url)
		}
		return nil, err
	}
	if start, _, ok := parseContentRange(aws.ToString(out.ContentRange)); !ok || start != from {
		out.Body.Close()
		return nil, fmt.Errorf("%s: GetObject for bytes %d-%d answered with Content-Range %q", r.url, from, to, aws.ToString(out.ContentRange))
	}
	return out.Body, nil
}

// parseContentRange reads "bytes START-END/TOTAL".
func parseContentRange(s string) (start, total int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	total, err2 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return start, total, true
}

// advance makes r.cur a chunk with unread bytes, or sets r.err.
func (r *Reader) advance() {
	for r.err == nil && (r.cur == nil || r.pos == r.cur.n) {
		if r.cur != nil {
			r.pool.Put(r.cur.buf)
			r.cur = nil
		}
		if len(r.queue) == 0 {
			r.err = io.EOF
			return
		}
		c := r.queue[0]
		select {
		case <-c.done:
		case <-r.ctx.Done():
			r.err = r.ctx.Err()
			return
		}
		r.queue = r.queue[1:]
		if c.err != nil {
			r.err = c.err
			r.pool.Put(c.buf)
			return
		}
		r.cur, r.pos = c, 0
		r.fill()
	}
}

// Read reads the object's bytes in order.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, r.err
	}
	r.advance()
	if r.err != nil {
		return 0, r.err
	}
	n := copy(p, (*r.cur.buf)[r.pos:r.cur.n])
	r.pos += n
	return n, nil
}

// WriteTo writes the rest of the object to w without an extra copy.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		r.advance()
		if r.err == io.EOF {
			return total, nil
		}
		if r.err != nil {
			return total, r.err
		}
		n, err := w.Write((*r.cur.buf)[r.pos:r.cur.n])
		r.pos += n
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// Close stops the transfers in flight and waits for them to end.
func (r *Reader) Close() error {
	r.cancel()
	for _, c := range r.queue {
		<-c.done
		r.pool.Put(c.buf)
	}
	r.queue = nil
	if r.cur != nil {
		r.pool.Put(r.cur.buf)
		r.cur = nil
	}
	if r.err == nil || r.err == io.EOF {
		r.err = errors.New("s3src: read after Close")
	}
	return nil
}
