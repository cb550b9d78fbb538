package restore

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// TLSOptions configure rediss:// connections. They can also be given in
// the URL's query: tls-ca, tls-cert, tls-key, tls-insecure=1,
// tls-server-name.
type TLSOptions struct {
	CAFile     string // PEM bundle to verify the server with (default: system roots)
	CertFile   string // client certificate (PEM), with KeyFile
	KeyFile    string
	Insecure   bool   // do not verify the server certificate
	ServerName string // name to verify instead of the URL's host
}

// endpoint is a parsed target URL.
type endpoint struct {
	addr     string
	user     string
	password string
	db       int
	tls      *tls.Config
}

func parseTarget(raw string, o *Options) (*endpoint, error) {
	if !strings.Contains(raw, "://") {
		raw = "redis://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %v", redactURL(raw), err)
	}
	ep := &endpoint{}
	switch u.Scheme {
	case "redis", "valkey":
	case "rediss", "valkeys":
		ep.tls = &tls.Config{}
	default:
		return nil, fmt.Errorf("target: unsupported scheme %q (use redis:// or rediss://)", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
	}
	port := u.Port()
	if port == "" {
		port = "6379"
	}
	ep.addr = net.JoinHostPort(host, port)
	if u.User != nil {
		p, hasPass := u.User.Password()
		if hasPass {
			ep.user, ep.password = u.User.Username(), p
		} else {
			ep.password = u.User.Username() // redis://secret@host: a password alone
		}
	}
	if o.Username != "" {
		ep.user = o.Username
	}
	if o.Password != "" {
		ep.password = o.Password
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if ep.db, err = strconv.Atoi(p); err != nil || ep.db < 0 {
			return nil, fmt.Errorf("target: database %q in the URL path is not a number", p)
		}
	}
	q := u.Query()
	tlsOpt := o.TLS
	if v := q.Get("tls-ca"); v != "" {
		tlsOpt.CAFile = v
	}
	if v := q.Get("tls-cert"); v != "" {
		tlsOpt.CertFile = v
	}
	if v := q.Get("tls-key"); v != "" {
		tlsOpt.KeyFile = v
	}
	if v := q.Get("tls-server-name"); v != "" {
		tlsOpt.ServerName = v
	}
	if v := q.Get("tls-insecure"); v == "1" || v == "true" {
		tlsOpt.Insecure = true
	}
	if ep.tls == nil && (tlsOpt.CAFile != "" || tlsOpt.CertFile != "") {
		ep.tls = &tls.Config{} // TLS options imply TLS
	}
	if ep.tls != nil {
		ep.tls.ServerName = host
		if tlsOpt.ServerName != "" {
			ep.tls.ServerName = tlsOpt.ServerName
		}
		ep.tls.InsecureSkipVerify = tlsOpt.Insecure
		if tlsOpt.CAFile != "" {
			pem, err := os.ReadFile(tlsOpt.CAFile)
			if err != nil {
				return nil, fmt.Errorf("TLS CA: %v", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("TLS CA %s: no PEM certificate found", tlsOpt.CAFile)
			}
			ep.tls.RootCAs = pool
		}
		if tlsOpt.CertFile != "" || tlsOpt.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(tlsOpt.CertFile, tlsOpt.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("TLS client certificate: %v", err)
			}
			ep.tls.Certificates = []tls.Certificate{cert}
		}
	}
	return ep, nil
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// reply is one RESP2 reply.
type reply struct {
	kind byte // '+', '-', ':', '$', '*'
	str  []byte
	n    int64
	arr  []reply
	null bool
}

func (r reply) err() error {
	if r.kind == '-' {
		return serverError(r.str)
	}
	return nil
}

func (r reply) String() string {
	switch r.kind {
	case ':':
		return strconv.FormatInt(r.n, 10)
	case '*':
		return fmt.Sprintf("array(%d)", len(r.arr))
	}
	return string(r.str)
}

// serverError is an error reply.
type serverError string

func (e serverError) Error() string { return string(e) }

// conn is one connection to a server, used by one goroutine.
type conn struct {
	addr string
	nc   net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	db   int
	num  []byte
}

func dial(ctx context.Context, addr string, ep *endpoint) (*conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var nc net.Conn
	var err error
	if ep.tls != nil {
		cfg := ep.tls.Clone()
		if h, _, e := net.SplitHostPort(addr); e == nil && cfg.ServerName == "" {
			cfg.ServerName = h
		}
		td := tls.Dialer{NetDialer: &d, Config: cfg}
		nc, err = td.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	c := &conn{addr: addr, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 256<<10)}
	if ep.password != "" {
		var r reply
		if ep.user != "" {
			r, err = c.do("AUTH", ep.user, ep.password)
		} else {
			r, err = c.do("AUTH", ep.password)
		}
		if err == nil {
			err = r.err()
		}
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: authentication failed: %v", addr, err)
		}
	}
	return c, nil
}

func (c *conn) close() { c.nc.Close() }

// write queues one command.
func (c *conn) write(args ...[]byte) {
	c.bw.WriteByte('*')
	c.num = strconv.AppendInt(c.num[:0], int64(len(args)), 10)
	c.bw.Write(c.num)
	c.bw.WriteString("\r\n")
	for _, a := range args {
		c.bw.WriteByte('$')
		c.num = strconv.AppendInt(c.num[:0], int64(len(a)), 10)
		c.bw.Write(c.num)
		c.bw.WriteString("\r\n")
		c.bw.Write(a)
		c.bw.WriteString("\r\n")
	}
}

func toBytes(a any) []byte {
	switch v := a.(type) {
	case []byte:
		return v
	case string:
		return []byte(v)
	case int:
		return strconv.AppendInt(nil, int64(v), 10)
	case int64:
		return strconv.AppendInt(nil, v, 10)
	}
	return []byte(fmt.Sprint(a))
}

// do sends one command and reads its reply. A server error is returned in
// the reply, not as err.
func (c *conn) do(args ...any) (reply, error) {
	bs := make([][]byte, len(args))
	for i, a := range args {
		bs[i] = toBytes(a)
	}
	c.write(bs...)
	if err := c.flush(); err != nil {
		return reply{}, err
	}
	return c.read()
}

func (c *conn) flush() error {
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Minute))
	return c.bw.Flush()
}

func (c *conn) read() (reply, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Minute))
	return readReply(c.br)
}

func readReply(br *bufio.Reader) (reply, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return reply{}, fmt.Errorf("protocol error: bad reply line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+', '-':
		return reply{kind: kind, str: append([]byte(nil), body...)}, nil
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		return reply{kind: kind, n: n}, err
	case '$':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return reply{}, err
		}
		if n < 0 {
			return reply{kind: kind, null: true}, nil
		}
		p := make([]byte, n+2)
		if _, err := io.ReadFull(br, p); err != nil {
			return reply{}, err
		}
		return reply{kind: kind, str: p[:n]}, nil
	case '*':
		n, err := strconv.Atoi(string(body))
		if err != nil {
			return reply{}, err
		}
		if n < 0 {
			return reply{kind: kind, null: true}, nil
		}
		out := make([]reply, n)
		for i := range out {
			if out[i], err = readReply(br); err != nil {
				return reply{}, err
			}
		}
		return reply{kind: kind, arr: out}, nil
	}
	return reply{}, fmt.Errorf("protocol error: unknown reply type %q", kind)
}

// isConnErr tells transport failures from server error replies.
func isConnErr(err error) bool {
	var se serverError
	return err != nil && !errors.As(err, &se)
}
