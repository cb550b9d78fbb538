package snapshot

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/internal/redisurl"
)

// TLSOptions configure rediss:// connections. They can also be given in
// the URL's query: tls-ca, tls-cert, tls-key, tls-insecure=1,
// tls-server-name (the same names restore takes).
type TLSOptions struct {
	CAFile     string // PEM bundle to verify the server with (default: system roots)
	CertFile   string // client certificate (PEM), with KeyFile
	KeyFile    string
	Insecure   bool   // do not verify the server certificate
	ServerName string // name to verify instead of the URL's host
}

// endpoint is a parsed source URL, one node's (a cluster's nodes are
// reached with copies of the seed's).
type endpoint struct {
	name     string // the URL with any password hidden, for messages
	network  string // "tcp" or "unix"
	addr     string
	user     string
	password string
	tls      *tls.Config
	sni      bool // the TLS server name was given, not taken from the host
}

// parseURL reads redis://[user:pass@]host[:port], rediss://... (valkey://
// and valkeys:// too) or unix:///path (internal/redisurl: the URLs every
// command takes). A database in the path is accepted and means nothing: a
// snapshot holds every database.
func parseURL(raw string, o *Options) (*endpoint, error) {
	u, err := redisurl.Parse(raw, redisurl.Options{Username: o.Username, Password: o.Password, TLS: redisurl.TLS(o.TLS)})
	if err != nil {
		return nil, fmt.Errorf("source URL %w", err)
	}
	return &endpoint{name: u.Name, network: u.Network, addr: u.Addr, user: u.Username, password: u.Password,
		tls: u.TLS, sni: u.ServerNameGiven}, nil
}

// conn is one connection to the server, speaking just enough RESP for the
// handshake; the payload is read raw from br.
type conn struct {
	ep      *endpoint
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
}

// dial connects (and completes TLS) within the context and the timeout.
func dial(ctx context.Context, ep *endpoint, timeout time.Duration) (*conn, error) {
	d := net.Dialer{Timeout: timeout}
	nc, err := d.DialContext(ctx, ep.network, ep.addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ep.name, err)
	}
	if ep.tls != nil {
		tc := tls.Client(nc, ep.tls)
		hctx, cancel := context.WithTimeout(ctx, timeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("%s: TLS handshake: %v", ep.name, err)
		}
		nc = tc
	}
	return &conn{ep: ep, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), timeout: timeout}, nil
}

// serverError is an error reply.
type serverError string

func (e serverError) Error() string { return string(e) }

// code returns the error code (NOPERM, NOAUTH, WRONGPASS, ERR, ...).
func (e serverError) code() string {
	c, _, _ := strings.Cut(string(e), " ")
	return c
}

// send writes one command.
func (c *conn) send(args ...string) error {
	var b []byte
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
	_, err := c.nc.Write(b)
	return err
}

// maxLine bounds a protocol line: the longest the handshake sees is an
// error message or a bulk header.
const maxLine = 64 << 10

// readLine reads one line without its "\r\n" (or "\n": the master's
// keep-alives are a bare newline).
func (c *conn) readLine() (string, error) {
	c.nc.SetReadDeadline(time.Now().Add(c.timeout))
	var line []byte
	for {
		frag, err := c.br.ReadSlice('\n')
		line = append(line, frag...)
		if err == bufio.ErrBufferFull {
			if len(line) > maxLine {
				return "", fmt.Errorf("protocol line longer than %d bytes", maxLine)
			}
			continue
		}
		if err != nil {
			return "", err
		}
		break
	}
	s := strings.TrimSuffix(string(line), "\n")
	return strings.TrimSuffix(s, "\r"), nil
}

// do sends a command and reads a simple reply: a status line or an
// error (as serverError), an integer, or a bulk string.
func (c *conn) do(args ...string) (string, error) {
	if err := c.send(args...); err != nil {
		return "", err
	}
	for {
		line, err := c.readLine()
		if err != nil {
			return "", err
		}
		if line == "" {
			continue // a keep-alive
		}
		switch line[0] {
		case '+', ':':
			return line[1:], nil
		case '-':
			return "", serverError(line[1:])
		case '$':
			n, err := strconv.Atoi(line[1:])
			if err != nil || n > 64<<20 {
				return "", fmt.Errorf("bad bulk length in %q", line)
			}
			if n < 0 {
				return "", nil
			}
			// Grown as the bytes arrive: a lying length costs nothing.
			var b strings.Builder
			c.nc.SetReadDeadline(time.Now().Add(c.timeout))
			if _, err := io.CopyN(&b, c.br, int64(n)+2); err != nil {
				return "", err
			}
			return b.String()[:n], nil
		}
		return "", fmt.Errorf("unexpected reply %q", clip(line))
	}
}

// clip shortens a server line for a message and hides control bytes.
func clip(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}

// permissionError explains a NOPERM reply for command cmd.
func permissionError(ep *endpoint, cmd string, err error) error {
	user := ep.user
	if user == "" {
		user = "default"
	}
	return fmt.Errorf("%s: the ACL user %q may not run %s (%s): a snapshot needs what a replica needs, e.g. ACL SETUSER %s +psync +replconf +ping (and +sync for --sync, +cluster|nodes for --cluster)",
		ep.name, user, cmd, errText(err), user)
}

// isPerm reports whether err is a NOPERM reply.
func isPerm(err error) bool {
	var se serverError
	return errors.As(err, &se) && se.code() == "NOPERM"
}
