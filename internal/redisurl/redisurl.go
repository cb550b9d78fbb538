// Package redisurl turns the server URLs the commands take
// (redis://[user:pass@]host[:port][/db], rediss://, valkey://, valkeys://,
// unix:///path/to/socket[?db=N]) and the TLS options a user gives as flags
// or in the URL's query into one Endpoint: address, credentials, database
// and TLS configuration. restore, snapshot and internal/livesrc connect
// from it, so a URL means the same thing to every command.
package redisurl

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// TLS configures rediss:// connections. Each can also be given in the
// URL's query: tls-ca, tls-cert, tls-key, tls-insecure=1, tls-server-name.
// restore.TLSOptions and snapshot.TLSOptions convert to it.
type TLS struct {
	CAFile     string // PEM bundle to verify the server with (default: system roots)
	CertFile   string // client certificate (PEM), with KeyFile
	KeyFile    string
	Insecure   bool   // do not verify the server certificate
	ServerName string // name to verify instead of the URL's host
}

// Options are what a caller adds to the URL; non-empty values win over
// the URL's.
type Options struct {
	Username string
	Password string
	TLS      TLS
}

// Endpoint is a parsed server URL.
type Endpoint struct {
	Name     string // the URL with any password hidden, for messages
	Network  string // "tcp" or "unix"
	Addr     string // host:port, or the socket's path
	Username string
	Password string
	DB       int
	HasDB    bool        // the URL named a database
	TLS      *tls.Config // nil: no TLS
	// ServerNameGiven: the TLS server name was given, not taken from the
	// host (a client reaching other nodes keeps it).
	ServerNameGiven bool

	redis *redis.Options // go-redis's reading of the URL's other query options
}

// tlsQuery are this package's query options; any other goes to go-redis
// (dial_timeout=, ...), which rejects names it does not know.
var tlsQuery = []string{"tls-ca", "tls-cert", "tls-key", "tls-insecure", "tls-server-name"}

// IsURL tells whether name is a server URL rather than a file name.
func IsURL(name string) bool {
	for _, p := range []string{"redis://", "rediss://", "valkey://", "valkeys://", "unix://"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Parse reads a server URL; one without a scheme is taken as redis://
// (host:port). A user alone (redis://secret@host) is a password, as
// redis-cli -u reads it.
func Parse(raw string, o Options) (*Endpoint, error) {
	if !strings.Contains(raw, "://") {
		raw = "redis://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", Redact(raw), err)
	}
	ep := &Endpoint{Name: redact(u), Network: "tcp"}
	secure := false
	switch u.Scheme {
	case "redis", "valkey":
		u.Scheme = "redis"
	case "rediss", "valkeys":
		u.Scheme, secure = "rediss", true
	case "unix":
		ep.Network = "unix"
	default:
		return nil, fmt.Errorf("%s: unsupported scheme %q (use redis://, rediss:// or unix://)", ep.Name, u.Scheme)
	}
	host := u.Hostname()
	if ep.Network == "tcp" {
		if host == "" {
			host = "127.0.0.1"
			u.Host = net.JoinHostPort(host, cmpOr(u.Port(), "6379"))
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s: database %q in the URL path is not a number", ep.Name, p)
			}
			ep.HasDB = true
		}
	} else if u.Query().Has("db") {
		ep.HasDB = true
	}
	q := u.Query()
	t := o.TLS
	if v := q.Get("tls-ca"); v != "" {
		t.CAFile = v
	}
	if v := q.Get("tls-cert"); v != "" {
		t.CertFile = v
	}
	if v := q.Get("tls-key"); v != "" {
		t.KeyFile = v
	}
	if v := q.Get("tls-server-name"); v != "" {
		t.ServerName = v
	}
	if v := q.Get("tls-insecure"); v == "1" || v == "true" {
		t.Insecure = true
	}
	for _, k := range tlsQuery {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ep.Name, err)
	}
	ep.redis = ro
	ep.Addr, ep.DB, ep.Username, ep.Password = ro.Addr, ro.DB, ro.Username, ro.Password
	if u.User != nil {
		if _, hasPass := u.User.Password(); !hasPass {
			ep.Username, ep.Password = "", u.User.Username()
		}
	}
	if o.Username != "" {
		ep.Username = o.Username
	}
	if o.Password != "" {
		ep.Password = o.Password
	}
	if ep.Network == "tcp" && (secure || t.CAFile != "" || t.CertFile != "") { // TLS options imply TLS
		cfg, err := tlsConfig(host, t)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", ep.Name, err)
		}
		ep.TLS, ep.ServerNameGiven = cfg, t.ServerName != ""
	}
	return ep, nil
}

// RedisOptions returns go-redis options for the endpoint: the URL's own
// query options (dial_timeout=, ...) with the address, credentials,
// database and TLS set from the Endpoint.
func (ep *Endpoint) RedisOptions() *redis.Options {
	o := *ep.redis
	o.Network, o.Addr, o.Username, o.Password, o.DB, o.TLSConfig = ep.Network, ep.Addr, ep.Username, ep.Password, ep.DB, ep.TLS
	return &o
}

func tlsConfig(host string, t TLS) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, InsecureSkipVerify: t.Insecure}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA %s: no PEM certificate found", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Redact hides a password in a URL for messages.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return redact(u)
}

// redact hides the password, or a user that stands for one
// (redis://secret@host), and drops the query (it may name key files).
func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	if c.User != nil {
		if _, has := c.User.Password(); has {
			return c.Redacted()
		}
		if c.User.Username() != "" {
			c.User = url.User("xxxxx")
		}
	}
	return c.String()
}
