package restore

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/redistest"
)

// TestRestoreTLS: rediss:// with a private CA and a client certificate
// (the server requires one), given as options and in the URL's query.
func TestRestoreTLS(t *testing.T) {
	c := redistest.WriteCerts(t, t.TempDir())
	ca, cc, ck := c.CA, c.ClientCert, c.ClientKey
	s, addr := redistest.StartTLS(t, "", c)
	file := makeRDB(t, 200, 0, 0)
	target := "rediss://" + addr

	// No client certificate: the server refuses the handshake.
	_, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: target, TLS: TLSOptions{CAFile: ca}})
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
