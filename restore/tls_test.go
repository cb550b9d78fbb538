package restore

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/redistest"
)

// writeCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in dir.
func writeCerts(t *testing.T, dir string) (ca, srvCert, srvKey, cliCert, cliKey string) {
	c := redistest.WriteCerts(t, dir)
	return c.CA, c.ServerCert, c.ServerKey, c.ClientCert, c.ClientKey
}

// TestRestoreTLS: rediss:// with a private CA and a client certificate
// (the server requires one), given as options and in the URL's query.
func TestRestoreTLS(t *testing.T) {
	dir := t.TempDir()
	ca, sc, sk, cc, ck := writeCerts(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := redistest.Start(t, "", "--tls-port", strconv.Itoa(port), "--tls-cert-file", sc, "--tls-key-file", sk,
		"--tls-ca-cert-file", ca, "--tls-auth-clients", "yes")
	file := makeRDB(t, 200, 0, 0)
	target := "rediss://127.0.0.1:" + strconv.Itoa(port)

	// No client certificate: the server refuses the handshake.
	_, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: target, TLS: TLSOptions{CAFile: ca}})
	if err == nil {
		t.Fatal("restore without a client certificate succeeded")
	}
	t.Logf("without a client certificate: %v", err)

	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: target, Verify: true,
		TLS: TLSOptions{CAFile: ca, CertFile: cc, KeyFile: ck}})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)

	s.Do("FLUSHALL")
	q := url.Values{"tls-ca": {ca}, "tls-cert": {cc}, "tls-key": {ck}, "tls-server-name": {"localhost"}}
	rep, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: target + "/0?" + q.Encode(), Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if n, _ := s.Do("DBSIZE"); n != rep.Written || rep.Written == 0 {
		t.Errorf("DBSIZE %v, written %d", n, rep.Written)
	}

	// A wrong server name fails verification.
	_, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: target, Conflict: Replace,
		TLS: TLSOptions{CAFile: ca, CertFile: cc, KeyFile: ck, ServerName: "elsewhere.example"}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("wrong server name: %v, want a certificate error", err)
	}
}
