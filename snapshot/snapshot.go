package snapshot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// Options configure a snapshot's connection.
type Options struct {
	// Username and Password override those of the URL.
	Username, Password string
	// TLS configures rediss:// (the URL's tls-* query options win).
	TLS TLSOptions
	// Sync asks with SYNC instead of PSYNC, as servers before 2.8 need.
	// Without it, SYNC is used only when the server does not know PSYNC.
	Sync bool
	// Timeout is how long the server may stay silent: while it connects,
	// answers the handshake, prepares the RDB (it sends a newline every
	// second meanwhile) and sends it. Default 60 s, the servers' own
	// repl-timeout.
	Timeout time.Duration
	// AllowNewer tries an RDB version newer than this tool knows.
	AllowNewer bool
}

// EOF mark of the diskless transfer form: "$EOF:" and 40 random bytes,
// which end the payload (the replication ID length of the servers).
const eofMarkLen = 40

// Info describes a snapshot. Everything but Source, Address, ReplID and
// ReplOffset is known once Read has returned io.EOF.
type Info struct {
	Source  string `json:"source"`  // the URL, password hidden
	Address string `json:"address"` // host:port connected to
	// Method is how the RDB was asked for: "psync" or "sync".
	Method string `json:"method"`
	// Diskless is true when the server streamed the RDB with an EOF mark
	// (repl-diskless-sync yes) instead of a length-prefixed file.
	Diskless bool `json:"diskless"`
	// ReplID and ReplOffset are the master's replication ID and the
	// offset the snapshot corresponds to (from +FULLRESYNC, or the RDB's
	// repl-id / repl-offset aux fields after SYNC).
	ReplID     string `json:"replication_id"`
	ReplOffset int64  `json:"replication_offset"`

	Dialect       string             `json:"dialect"` // "redis" or "valkey"
	RDBVersion    int                `json:"rdb_version"`
	ServerVersion string             `json:"server_version"` // the RDB's redis-ver (or valkey-ver) aux field
	Keys          int64              `json:"keys"`
	Bytes         int64              `json:"bytes"`
	SHA256        string             `json:"sha256"` // hex, of the RDB bytes
	Checksum      rdb.ChecksumStatus `json:"-"`      // verified, or disabled by the server (rdbchecksum no)
	Time          time.Time          `json:"time"`   // when the transfer started
}

// Reader is an io.Reader of a live server's RDB snapshot, received the
// way a replica receives its master's (see Open). It checks the RDB while
// it streams, with rdb.Reader's framing and CRC-64, in a goroutine of its
// own: Read returns io.EOF only once the whole RDB has arrived, parsed and
// matched its checksum, with nothing after it. Any other error means the
// bytes read so far are not a valid snapshot and must be discarded.
//
// A Reader is not safe for concurrent use. Close it when done; it never
// becomes a replica (it asks for the RDB alone where the server knows
// REPLCONF rdb-only, and hangs up after the RDB in any case).
type Reader struct {
	ctx  context.Context
	c    *conn
	info Info
	stop func() bool // unregisters the context watcher

	mark    []byte // diskless form: the EOF mark; nil for the bulk form
	left    int64  // bulk form: payload bytes still to come
	buf     []byte
	r, w    int // buf[r:w] is ready for the caller
	held    int // diskless form: buf[w:w+held] may be the start of the mark
	arrived bool
	err     error // sticky

	received atomic.Int64 // for Received, from other goroutines

	hash hash.Hash
	pw   *io.PipeWriter
	done chan struct{}
	vErr error // the verifier's verdict, once done is closed
	vRes verifyResult
	once sync.Once
}

// Open connects to a redis:// or rediss:// URL, performs the replica
// handshake (AUTH, PING, REPLCONF capa eof capa psync2, REPLCONF rdb-only
// 1, PSYNC ? -1, or SYNC) and waits for the server to start sending its
// RDB. The context bounds the whole transfer: cancelling it breaks off
// Read with an error.
func Open(ctx context.Context, rawURL string, o Options) (*Reader, error) {
	ep, err := parseURL(rawURL, &o)
	if err != nil {
		return nil, err
	}
	return openEndpoint(ctx, ep, o)
}

func openEndpoint(ctx context.Context, ep *endpoint, o Options) (*Reader, error) {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	c, err := dial(ctx, ep, o.Timeout)
	if err != nil {
		return nil, err
	}
	r := &Reader{ctx: ctx, c: c, info: Info{Source: ep.name, Address: ep.addr, Time: time.Now().UTC()}}
	r.stop = context.AfterFunc(ctx, func() { c.nc.Close() })
	if err := r.handshake(o); err != nil {
		r.stop()
		c.nc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", ep.name, context.Cause(ctx))
		}
		return nil, err
	}
	r.buf = make([]byte, 256<<10+eofMarkLen)
	r.hash = sha256.New()
	pr, pw := io.Pipe()
	r.pw, r.done = pw, make(chan struct{})
	var vo []rdb.Option
	vo = append(vo, rdb.WithName(ep.name))
	if o.AllowNewer {
		vo = append(vo, rdb.AllowNewerVersions())
	}
	go func() {
		defer close(r.done)
		r.vRes, r.vErr = verify(pr, vo)
		if r.vErr != nil {
			pr.CloseWithError(r.vErr)
		}
	}()
	return r, nil
}

// handshake runs the replica handshake up to the payload's header.
func (r *Reader) handshake(o Options) error {
	c, ep := r.c, r.c.ep
	if ep.password != "" {
		args := []string{"AUTH", ep.password}
		if ep.user != "" {
			args = []string{"AUTH", ep.user, ep.password}
		}
		if _, err := c.do(args...); err != nil {
			return fmt.Errorf("%s: authentication failed: %v", ep.name, errText(err))
		}
	}
	if _, err := c.do("PING"); err != nil {
		var se serverError
		switch {
		case isPerm(err):
			return permissionError(ep, "PING", err)
		case errors.As(err, &se) && se.code() == "NOAUTH":
			return fmt.Errorf("%s: the server wants a password: give it in the URL (redis://user:password@host:port) (%s)", ep.name, errText(err))
		}
		return fmt.Errorf("%s: PING: %v", ep.name, errText(err))
	}
	// Capabilities: eof lets a diskless master stream to us; psync2 is
	// what every replica since 4.0 says. Old servers refuse REPLCONF
	// options they do not know, which is not fatal.
	if _, err := c.do("REPLCONF", "capa", "eof", "capa", "psync2"); err != nil {
		if isPerm(err) {
			return permissionError(ep, "REPLCONF", err)
		}
		if !isServerError(err) {
			return fmt.Errorf("%s: REPLCONF capa: %v", ep.name, err)
		}
	}
	// rdb-only (Redis 7.0+): the master keeps no replication buffer for us
	// and hangs up once the RDB is sent.
	if _, err := c.do("REPLCONF", "rdb-only", "1"); err != nil && !isServerError(err) {
		return fmt.Errorf("%s: REPLCONF rdb-only: %v", ep.name, err)
	}
	useSync := o.Sync
	if !useSync {
		r.info.Method = "psync"
		if err := c.send("PSYNC", "?", "-1"); err != nil {
			return fmt.Errorf("%s: PSYNC: %v", ep.name, err)
		}
		for {
			line, err := c.readLine()
			if err != nil {
				return fmt.Errorf("%s: waiting for the PSYNC reply: %v", ep.name, err)
			}
			if line == "" {
				continue // keep-alive before the reply
			}
			if strings.HasPrefix(line, "+FULLRESYNC") {
				f := strings.Fields(line)
				if len(f) != 3 || len(f[1]) != 40 {
					return fmt.Errorf("%s: malformed PSYNC reply %s", ep.name, clip(line))
				}
				off, err := strconv.ParseInt(f[2], 10, 64)
				if err != nil {
					return fmt.Errorf("%s: malformed PSYNC reply %s", ep.name, clip(line))
				}
				r.info.ReplID, r.info.ReplOffset = f[1], off
				break
			}
			if strings.HasPrefix(line, "-") {
				se := serverError(line[1:])
				if se.code() == "NOPERM" {
					return permissionError(ep, "PSYNC", se)
				}
				if strings.Contains(strings.ToLower(string(se)), "unknown command") {
					useSync = true // a server before 2.8
					break
				}
				return fmt.Errorf("%s: the server refused PSYNC: %s", ep.name, clip(string(se)))
			}
			return fmt.Errorf("%s: unexpected PSYNC reply %s", ep.name, clip(line))
		}
	}
	if useSync {
		r.info.Method = "sync"
		if err := c.send("SYNC"); err != nil {
			return fmt.Errorf("%s: SYNC: %v", ep.name, err)
		}
	}
	// The payload header, after any newlines the master sends while it
	// forks and writes the RDB.
	for {
		line, err := c.readLine()
		if err != nil {
			return fmt.Errorf("%s: waiting for the server to send its RDB: %v", ep.name, err)
		}
		switch {
		case line == "":
			continue
		case line[0] == '-':
			se := serverError(line[1:])
			if se.code() == "NOPERM" {
				return permissionError(ep, strings.ToUpper(r.info.Method), se)
			}
			return fmt.Errorf("%s: the server refused the sync: %s", ep.name, clip(string(se)))
		case strings.HasPrefix(line, "$EOF:"):
			if len(line) != 5+eofMarkLen {
				return fmt.Errorf("%s: malformed EOF mark header %s", ep.name, clip(line))
			}
			r.mark = []byte(line[5:])
			r.info.Diskless = true
			return nil
		case line[0] == '$':
			n, err := strconv.ParseInt(line[1:], 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("%s: malformed payload length %s", ep.name, clip(line))
			}
			r.left = n
			return nil
		}
		return fmt.Errorf("%s: expected the RDB payload header ($<length> or $EOF:<mark>), got %s", ep.name, clip(line))
	}
}

func isServerError(err error) bool {
	var se serverError
	return errors.As(err, &se)
}

func errText(err error) string {
	var se serverError
	if errors.As(err, &se) {
		return clip(string(se))
	}
	return err.Error()
}

// Read reads the RDB. See Reader for what its errors mean.
func (r *Reader) Read(p []byte) (int, error) {
	for r.r == r.w {
		if r.err != nil {
			return 0, r.err
		}
		if r.arrived {
			r.err = r.finish()
			return 0, r.err
		}
		if err := r.fill(); err != nil {
			r.err = err
			r.abort(err)
			return 0, err
		}
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	return n, nil
}

// WriteTo copies the RDB to w, saving Read's copy.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.r < r.w {
			n, err := w.Write(r.buf[r.r:r.w])
			total += int64(n)
			r.r += n
			if err != nil {
				return total, err
			}
			continue
		}
		if r.err != nil {
			if r.err == io.EOF {
				return total, nil
			}
			return total, r.err
		}
		if r.arrived {
			r.err = r.finish()
			continue
		}
		if err := r.fill(); err != nil {
			r.err = err
			r.abort(err)
		}
	}
}

// fill receives the next block, hands it to the verifier and makes it
// ready for the caller.
func (r *Reader) fill() error {
	c := r.c
	c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	if r.mark == nil {
		want := int64(len(r.buf))
		if r.left < want {
			want = r.left
		}
		n, err := c.br.Read(r.buf[:want])
		if n > 0 {
			r.left -= int64(n)
			r.arrived = r.left == 0
			return r.ready(0, n)
		}
		return r.readErr(err)
	}
	// Diskless: the last eofMarkLen bytes received are held back until
	// more arrive, as they may be the mark.
	copy(r.buf, r.buf[r.w:r.w+r.held])
	n, err := c.br.Read(r.buf[r.held:])
	if n == 0 {
		return r.readErr(err)
	}
	total := r.held + n
	if total >= eofMarkLen && bytes.Equal(r.buf[total-eofMarkLen:total], r.mark) {
		r.arrived, r.held = true, 0
		return r.ready(0, total-eofMarkLen)
	}
	out := max(0, total-eofMarkLen)
	r.held = total - out
	return r.ready(0, out)
}

func (r *Reader) readErr(err error) error {
	if cerr := r.ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: transfer interrupted after %d bytes: %w", r.info.Source, r.info.Bytes, context.Cause(r.ctx))
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	what := "the connection broke"
	if err == io.ErrUnexpectedEOF {
		what = "the server closed the connection"
	}
	if r.mark == nil {
		return fmt.Errorf("%s: %s after %d bytes of the RDB, %d missing: %v", r.info.Source, what, r.info.Bytes, r.left, err)
	}
	return fmt.Errorf("%s: %s after %d bytes of the RDB, before its end mark: %v", r.info.Source, what, r.info.Bytes, err)
}

// ready hashes buf[from:to], passes it to the verifier and offers it to
// the caller.
func (r *Reader) ready(from, to int) error {
	r.r, r.w = from, to
	if to == from {
		return nil
	}
	b := r.buf[from:to]
	r.hash.Write(b)
	r.info.Bytes += int64(len(b))
	r.received.Store(r.info.Bytes)
	if _, err := r.pw.Write(b); err != nil {
		<-r.done
		if r.vErr != nil {
			return r.vErr
		}
		return err
	}
	return nil
}

// finish closes the verifier's input and returns its verdict: io.EOF for
// a verified RDB.
func (r *Reader) finish() error {
	r.pw.Close()
	<-r.done
	r.c.nc.Close() // the RDB is all we want
	if r.vErr != nil {
		return r.vErr
	}
	v := r.vRes
	if v.end != r.info.Bytes {
		return fmt.Errorf("%s: %d bytes after the end of the RDB (offset %d)", r.info.Source, r.info.Bytes-v.end, v.end)
	}
	r.info.Dialect, r.info.RDBVersion, r.info.ServerVersion = v.dialect, v.version, v.serverVersion
	r.info.Keys, r.info.Checksum = v.keys, v.checksum
	r.info.SHA256 = hex.EncodeToString(r.hash.Sum(nil))
	if r.info.ReplID == "" {
		r.info.ReplID, r.info.ReplOffset = v.replID, v.replOffset
	}
	return io.EOF
}

// abort stops the verifier after a failed transfer.
func (r *Reader) abort(err error) {
	r.pw.CloseWithError(err)
	<-r.done
}

// Received returns how many bytes of the RDB have arrived so far. Unlike
// the other methods it may be called from any goroutine (for progress).
func (r *Reader) Received() int64 { return r.received.Load() }

// Info describes the snapshot; complete once Read has returned io.EOF.
func (r *Reader) Info() Info { return r.info }

// Close hangs up. It may be called at any time.
func (r *Reader) Close() error {
	r.once.Do(func() {
		r.stop()
		r.c.nc.Close()
		if r.err == nil {
			r.err = errors.New("snapshot reader closed")
			r.abort(r.err)
		}
	})
	return nil
}
