package restore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/redistest"
)

// writeCerts makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, as PEM files in dir.
func writeCerts(t *testing.T, dir string) (ca, srvCert, srvKey, cliCert, cliKey string) {
	t.Helper()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rdbtool test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(err)
	caCert, err := x509.ParseCertificate(caDER)
	must(err)
	ca = write("ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		must(err)
		kder, err := x509.MarshalECPrivateKey(k)
		must(err)
		return write(name+".pem", "CERTIFICATE", der), write(name+".key", "EC PRIVATE KEY", kder)
	}
	srvCert, srvKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	cliCert, cliKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return
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
	_, err = Restore(context.Background(), []string{file}, Options{Target: target, TLS: TLSOptions{CAFile: ca}})
	if err == nil {
		t.Fatal("restore without a client certificate succeeded")
	}
	t.Logf("without a client certificate: %v", err)

	rep, err := Restore(context.Background(), []string{file}, Options{Target: target, Verify: true,
		TLS: TLSOptions{CAFile: ca, CertFile: cc, KeyFile: ck}})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)

	s.Do("FLUSHALL")
	q := url.Values{"tls-ca": {ca}, "tls-cert": {cc}, "tls-key": {ck}, "tls-server-name": {"localhost"}}
	rep, err = Restore(context.Background(), []string{file}, Options{Target: target + "/0?" + q.Encode(), Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if n, _ := s.Do("DBSIZE"); n != rep.Written || rep.Written == 0 {
		t.Errorf("DBSIZE %v, written %d", n, rep.Written)
	}

	// A wrong server name fails verification.
	_, err = Restore(context.Background(), []string{file}, Options{Target: target, Conflict: Replace,
		TLS: TLSOptions{CAFile: ca, CertFile: cc, KeyFile: ck, ServerName: "elsewhere.example"}})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("wrong server name: %v, want a certificate error", err)
	}
}
