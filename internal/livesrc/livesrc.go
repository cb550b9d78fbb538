// Package livesrc reads the keys of a running Redis or Valkey server as if
// they came from an RDB file: SCAN finds the keys, DUMP serializes each
// value in the RDB object format (read with rdb.NewDumpReader), and
// PEXPIRETIME (or PTTL on servers before 7.0) gives the absolute expiry.
// The result is a stream of (*rdb.Record, *rdb.Reader) pairs, the same as
// a file's keys, so code that reads files reads servers unchanged.
//
// A server is not a snapshot: keys written while the scan runs may or may
// not be seen, and SCAN may return a key more than once (callers dedupe).
package livesrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/internal/redisurl"
	"github.com/rdbtool/rdbtool/rdb"
)

// IsURL tells whether name names a server (redis://, rediss://,
// valkey://, valkeys:// or unix://).
func IsURL(name string) bool { return redisurl.IsURL(name) }

// Server is a connection to one server.
type Server struct {
	name          string
	opt           *redis.Options
	dbFixed       bool // the URL named a database
	clients       map[int]*redis.Client
	noPExpireTime bool
	opts          []rdb.Option
}

// Open parses a server URL (redis://[user:pass@]host:port[/db], rediss://
// with tls-* query options, unix:///path?db=N; see internal/redisurl) and
// checks that the server answers. Without a database in the URL every
// non-empty database is read.
func Open(ctx context.Context, rawURL string, opts ...rdb.Option) (*Server, error) {
	ep, err := redisurl.Parse(rawURL, redisurl.Options{})
	if err != nil {
		return nil, err
	}
	opt := ep.RedisOptions()
	opt.Protocol = 2
	opt.DisableIdentity = true
	opt.PoolSize = 2
	opt.ReadTimeout = 60 * time.Second
	s := &Server{name: ep.Name, opt: opt, dbFixed: ep.HasDB, clients: map[int]*redis.Client{}, opts: opts}
	if err := s.client(opt.DB).Ping(ctx).Err(); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return s, nil
}

// Name returns the URL with any password hidden.
func (s *Server) Name() string { return s.name }

func (s *Server) client(db int) *redis.Client {
	if c := s.clients[db]; c != nil {
		return c
	}
	o := *s.opt
	o.DB = db
	c := redis.NewClient(&o)
	s.clients[db] = c
	return c
}

// Close closes every connection.
func (s *Server) Close() error {
	for _, c := range s.clients {
		c.Close()
	}
	s.clients = map[int]*redis.Client{}
	return nil
}

// Time returns the server's clock in Unix milliseconds.
func (s *Server) Time(ctx context.Context) (int64, error) {
	t, err := s.client(s.opt.DB).Time(ctx).Result()
	if err != nil {
		return 0, err
	}
	return t.UnixMilli(), nil
}

// DBs returns the databases to read: the URL's, or every database that
// INFO keyspace lists. want >= 0 restricts to that database.
func (s *Server) DBs(ctx context.Context, want int) ([]int, error) {
	if s.dbFixed {
		if want >= 0 && want != s.opt.DB {
			return nil, nil
		}
		return []int{s.opt.DB}, nil
	}
	info, err := s.client(s.opt.DB).Info(ctx, "keyspace").Result()
	if err != nil {
		return nil, err
	}
	var dbs []int
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "db") {
			continue
		}
		i := strings.IndexByte(line, ':')
		if i < 0 {
			continue
		}
		n, err := strconv.Atoi(line[2:i])
		if err != nil {
			continue
		}
		if want < 0 || n == want {
			dbs = append(dbs, n)
		}
	}
	return dbs, nil
}

// Scanner walks the keys of the selected databases.
type Scanner struct {
	s      *Server
	ctx    context.Context
	dbs    []int
	match  string
	cursor uint64
	begun  bool
	batch  []item
	pos    int
}

type item struct {
	key     string
	payload []byte
	expire  int64
}

// Scan returns a Scanner over databases dbs, with an optional SCAN MATCH
// pattern.
func (s *Server) Scan(ctx context.Context, dbs []int, match string) *Scanner {
	return &Scanner{s: s, ctx: ctx, dbs: dbs, match: match}
}

// Next returns the next key: a record with Key, DB, Type and ExpireAt set,
// and the reader positioned at its value. It returns io.EOF at the end.
func (sc *Scanner) Next() (*rdb.Record, *rdb.Reader, error) {
	for {
		for sc.pos < len(sc.batch) {
			it := &sc.batch[sc.pos]
			sc.pos++
			rec, r, err := sc.s.decode(it.key, it.payload, it.expire, sc.dbs[0])
			if err != nil {
				return nil, nil, err
			}
			if rec != nil {
				return rec, r, nil
			}
		}
		if len(sc.dbs) == 0 {
			return nil, nil, io.EOF
		}
		if sc.begun && sc.cursor == 0 {
			sc.dbs = sc.dbs[1:]
			sc.begun = false
			continue
		}
		if err := sc.fetch(); err != nil {
			return nil, nil, err
		}
	}
}

func (sc *Scanner) fetch() error {
	c := sc.s.client(sc.dbs[0])
	keys, cur, err := c.Scan(sc.ctx, sc.cursor, sc.match, 1000).Result()
	if err != nil {
		return fmt.Errorf("%s: SCAN db %d: %w", sc.s.name, sc.dbs[0], err)
	}
	sc.cursor, sc.begun = cur, true
	sc.batch, sc.pos = sc.batch[:0], 0
	if len(keys) == 0 {
		return nil
	}
	items, err := sc.s.dump(sc.ctx, sc.dbs[0], keys)
	if err != nil {
		return err
	}
	sc.batch = items
	return nil
}

// dump fetches DUMP and the expiry of keys in one round trip.
func (s *Server) dump(ctx context.Context, db int, keys []string) ([]item, error) {
	c := s.client(db)
	for attempt := 0; attempt < 2; attempt++ {
		pipe := c.Pipeline()
		dumps := make([]*redis.StringCmd, len(keys))
		exps := make([]*redis.DurationCmd, len(keys))
		var now int64
		for i, k := range keys {
			dumps[i] = pipe.Dump(ctx, k)
			if s.noPExpireTime {
				exps[i] = pipe.PTTL(ctx, k)
			} else {
				exps[i] = pipe.PExpireTime(ctx, k)
			}
		}
		if s.noPExpireTime {
			now = time.Now().UnixMilli()
		}
		_, err := pipe.Exec(ctx)
		if err != nil && !errors.Is(err, redis.Nil) {
			if !s.noPExpireTime && strings.Contains(strings.ToLower(err.Error()), "unknown command") {
				s.noPExpireTime = true
				continue
			}
			return nil, fmt.Errorf("%s: DUMP db %d: %w", s.name, db, err)
		}
		items := make([]item, 0, len(keys))
		for i, k := range keys {
			p, err := dumps[i].Bytes()
			if errors.Is(err, redis.Nil) {
				continue // deleted or expired since SCAN
			}
			if err != nil {
				return nil, fmt.Errorf("%s: DUMP %q: %w", s.name, k, err)
			}
			d := exps[i].Val()
			var at int64
			if d >= 0 {
				if s.noPExpireTime {
					at = now + d.Milliseconds()
				} else {
					at = d.Milliseconds() // go-redis returns PEXPIRETIME as a Duration since the epoch
				}
			}
			items = append(items, item{key: k, payload: p, expire: at})
		}
		return items, nil
	}
	return nil, fmt.Errorf("%s: cannot read expiries", s.name)
}

func (s *Server) decode(key string, payload []byte, expire int64, db int) (*rdb.Record, *rdb.Reader, error) {
	opts := append([]rdb.Option{rdb.WithName(s.name + " key " + strconv.Quote(key))}, s.opts...)
	r, err := rdb.NewDumpReader(payload, opts...)
	if err != nil {
		return nil, nil, err
	}
	rec, err := r.Next()
	if err != nil {
		return nil, nil, err
	}
	rec.Key = []byte(key)
	rec.DB = db
	rec.ExpireAt = expire
	return rec, r, nil
}

// Get reads one key, returning a nil record when it does not exist.
func (s *Server) Get(ctx context.Context, db int, key []byte) (*rdb.Record, *rdb.Reader, error) {
	items, err := s.dump(ctx, db, []string{string(key)})
	if err != nil {
		return nil, nil, err
	}
	if len(items) == 0 {
		return nil, nil, nil
	}
	return s.decode(items[0].key, items[0].payload, items[0].expire, db)
}
