package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/internal/redisurl"
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

// parseTarget reads the target URL with the Options' credentials and TLS
// settings (internal/redisurl: the same URLs every command takes).
func parseTarget(raw string, o *Options) (*redisurl.Endpoint, error) {
	ep, err := redisurl.Parse(raw, redisurl.Options{Username: o.Username, Password: o.Password, TLS: redisurl.TLS(o.TLS)})
	if err != nil {
		return nil, fmt.Errorf("target %w", err)
	}
	return ep, nil
}

// redactURL hides a password in a URL for messages.
func redactURL(s string) string { return redisurl.Redact(s) }

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
		Network: e.ep.Network, Addr: e.ep.Addr, Username: e.ep.Username, Password: e.ep.Password, DB: db, TLSConfig: e.ep.TLS,
		Protocol: 2, DisableIdentity: true, MaintNotificationsConfig: noMaint(),
		MaxRetries: -1, DialerRetries: 1, DialTimeout: dialTimeout, ReadTimeout: ioTimeout, WriteTimeout: ioTimeout,
		PoolSize: e.o.Workers + 2, ReadBufferSize: readBuffer, WriteBufferSize: writeBuffer,
	}
}

func (e *engine) clusterOptions() *redis.ClusterOptions {
	return &redis.ClusterOptions{
		Addrs: []string{e.ep.Addr}, Username: e.ep.Username, Password: e.ep.Password, TLSConfig: e.ep.TLS,
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
		return fn(e.ep.Addr, e.client(e.ep.DB))
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
		return e.connErr(e.ep.Addr, err)
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
