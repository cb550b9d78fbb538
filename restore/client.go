package restore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
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

// tlsQuery are this package's URL query options; any other query option
// goes to redis.ParseURL (dial_timeout=, ...).
var tlsQuery = []string{"tls-ca", "tls-cert", "tls-key", "tls-insecure", "tls-server-name"}

func parseTarget(raw string, o *Options) (*endpoint, error) {
	if !strings.Contains(raw, "://") {
		raw = "redis://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %v", redactURL(raw), err)
	}
	secure := false
	switch u.Scheme {
	case "redis", "valkey":
		u.Scheme = "redis"
	case "rediss", "valkeys":
		u.Scheme, secure = "rediss", true
	default:
		return nil, fmt.Errorf("target: unsupported scheme %q (use redis:// or rediss://)", u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		host = "127.0.0.1"
		u.Host = net.JoinHostPort(host, cmpOr(u.Port(), "6379"))
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 0 {
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
	for _, k := range tlsQuery {
		q.Del(k)
	}
	u.RawQuery = q.Encode()
	ro, err := redis.ParseURL(u.String())
	if err != nil {
		return nil, fmt.Errorf("target %q: %v", redactURL(raw), err)
	}
	ep := &endpoint{addr: ro.Addr, db: ro.DB, user: ro.Username, password: ro.Password}
	if u.User != nil {
		if _, hasPass := u.User.Password(); !hasPass {
			ep.user, ep.password = "", u.User.Username() // redis://secret@host: a password alone
		}
	}
	if o.Username != "" {
		ep.user = o.Username
	}
	if o.Password != "" {
		ep.password = o.Password
	}
	if secure || tlsOpt.CAFile != "" || tlsOpt.CertFile != "" { // TLS options imply TLS
		ep.tls = &tls.Config{ServerName: host, InsecureSkipVerify: tlsOpt.Insecure}
		if tlsOpt.ServerName != "" {
			ep.tls.ServerName = tlsOpt.ServerName
		}
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// Connection settings shared by the standalone and the cluster clients.
// Writes are never retried by go-redis (MaxRetries -1): a pipeline sent
// again after a broken connection would report keys it wrote itself as
// existing, and could append list elements twice. A broken connection
// stops the run instead, and a checkpoint resumes it. A dial is tried
// once (DialerRetries 1), as a TLS or refused connection will not get
// better 100 ms later.
const (
	dialTimeout = 10 * time.Second
	ioTimeout   = 5 * time.Minute
	readBuffer  = 64 << 10
	writeBuffer = 256 << 10
)

func noMaint() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// clientOptions are the go-redis options for one database of a
// standalone target.
func (e *engine) clientOptions(db int) *redis.Options {
	return &redis.Options{
		Addr: e.ep.addr, Username: e.ep.user, Password: e.ep.password, DB: db, TLSConfig: e.ep.tls,
		Protocol: 2, DisableIdentity: true, MaintNotificationsConfig: noMaint(),
		MaxRetries: -1, DialerRetries: 1, DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout,
		PoolSize: e.o.Workers + 2, ReadBufferSize: readBuffer, WriteBufferSize: writeBuffer,
	}
}

func (e *engine) clusterOptions() *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs: []string{e.ep.addr}, Username: e.ep.user, Password: e.ep.password, TLSConfig: e.ep.tls,
		Protocol: 2, DisableIdentity: true, MaintNotificationsConfig: noMaint(),
		MaxRetries: -1, MaxRedirects: 16, DialerRetries: 1, DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout,
		PoolSize: e.o.Workers + 2, ReadBufferSize: readBuffer, WriteBufferSize: writeBuffer,
	}
}

// client returns the client for a database of a standalone target (one
// pool per database: a pooled connection must not change its database).
func (e *engine) client(db int) *redis.Client {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.clients[db]
	if c == nil {
		c = redis.NewClient(e.clientOptions(db))
		e.clients[db] = c
	}
	return c
}

// pipeliner is what writes go through: the cluster client, or the client
// of the job's database.
func (e *engine) pipeliner(db int) redis.Cmdable {
	if e.cluster {
		return e.cc
	}
	return e.client(db)
}

func (e *engine) closeClients() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.clients {
		c.Close()
	}
	if e.cc != nil {
		e.cc.Close()
	}
}

// eachMaster calls fn for every master (the server itself when
// standalone), one after the other in address order.
func (e *engine) eachMaster(fn func(addr string, c *redis.Client) error) error {
	if !e.cluster {
		return fn(e.ep.addr, e.client(e.ep.db))
	}
	var masters []*redis.Client
	ch := make(chan *redis.Client, 64)
	done := make(chan struct{})
	go func() {
		for c := range ch {
			masters = append(masters, c)
		}
		close(done)
	}()
	err := e.cc.ForEachMaster(e.ctx, func(_ context.Context, c *redis.Client) error {
		ch <- c
		return nil
	})
	close(ch)
	<-done
	if err != nil {
		return e.connErr(e.ep.addr, err)
	}
	sort.Slice(masters, func(i, j int) bool { return masters[i].Options().Addr < masters[j].Options().Addr })
	for _, c := range masters {
		if err := fn(c.Options().Addr, c); err != nil {
			return err
		}
	}
	return nil
}

// redisErr returns the message of a server error reply, or "" for nil and
// transport errors.
func redisErr(err error) (string, bool) {
	var re redis.Error
	if err == nil || !errors.As(err, &re) {
		return "", false
	}
	return re.Error(), true
}

// authErr tells an authentication refusal.
func authErr(err error) bool {
	msg, ok := redisErr(err)
	return ok && (strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") ||
		strings.Contains(msg, "invalid password") || strings.Contains(msg, "AUTH"))
}

// connErr words the failure of a first command to a server.
func (e *engine) connErr(addr string, err error) error {
	if authErr(err) {
		return fmt.Errorf("%s: authentication failed: %v", addr, err)
	}
	if _, ok := redisErr(err); ok {
		return fmt.Errorf("%s: %v", addr, err)
	}
	return fmt.Errorf("connecting to %s: %w", addr, err)
}

// abortHook stops the run when a cluster node's connection breaks: go-redis
// would otherwise send that node's part of a pipeline again, and commands
// already applied would run twice. Unacknowledged keys stay for a resume.
type abortHook struct {
	e    *engine
	addr string
}

func (abortHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (abortHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h abortHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		if _, isReply := redisErr(err); err != nil && !isReply && !errors.Is(err, context.Canceled) {
			h.e.abort(fmt.Errorf("%s: %w", h.addr, err))
		}
		return err
	}
}
