package redistest

import (
	"io"
	"net"
	"testing"
)

// CutProxy forwards one connection to addr and drops it once limit bytes
// have come back from the server: a transfer cut part-way. It returns the
// address to connect to.
func CutProxy(t testing.TB, addr string, limit int64) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", addr)
		if err != nil {
			c.Close()
			return
		}
		go io.Copy(s, c)
		io.CopyN(c, s, limit)
		c.Close()
		s.Close()
	}()
	return l.Addr().String()
}
