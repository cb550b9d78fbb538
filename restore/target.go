package restore

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/redis/go-redis/v9"
)

// ErrNotEmpty is returned when the target holds data and neither Replace
// nor SkipExisting was chosen.
var ErrNotEmpty = errors.New("the target is not empty")

// connect discovers the masters and probes the target.
func (e *engine) connect() error {
	if e.cluster {
		if e.ep.DB != 0 {
			return fmt.Errorf("a Redis Cluster has only database 0; drop /%d from the URL", e.ep.DB)
		}
		e.cc = redis.NewClusterClient(e.clusterOptions())
		e.cc.OnNewNode(func(c *redis.Client) { c.AddHook(abortHook{e: e, addr: c.Options().Addr}) })
		slots, err := e.cc.ClusterSlots(e.ctx).Result()
		if err != nil {
			if _, isReply := redisErr(err); !isReply || authErr(err) {
				return e.connErr(e.ep.Addr, err)
			}
			return fmt.Errorf("CLUSTER SLOTS on %s: %v (is it a cluster node? leave out --cluster for a standalone server)", e.ep.Addr, err)
		}
		var served [16384]bool
		for _, r := range slots {
			for s := max(r.Start, 0); s <= r.End && s < 16384 && len(r.Nodes) > 0; s++ {
				served[s] = true
			}
		}
		for s, ok := range served {
			if !ok {
				return fmt.Errorf("cluster at %s: slot %d is not served by any node", e.ep.Addr, s)
			}
		}
	}
	first := true
	err := e.eachMaster(func(addr string, c *redis.Client) error {
		e.rep.Nodes = append(e.rep.Nodes, addr)
		if err := e.checkRole(addr, c); err != nil {
			return err
		}
		err := e.probe(addr, c, first)
		first = false
		return err
	})
	sort.Strings(e.rep.Nodes)
	return err
}

// probe reads a master's version and limits.
func (e *engine) probe(addr string, c *redis.Client, first bool) error {
	ctx := e.ctx
	is, err := c.Info(ctx, "server").Result()
	if err != nil {
		if _, isReply := redisErr(err); isReply && !authErr(err) {
			return fmt.Errorf("%s: INFO server: %v", addr, err)
		}
		return e.connErr(addr, err)
	}
	info := parseInfo(is)
	ver := info["redis_version"]
	if v := info["valkey_version"]; v != "" {
		ver, e.valkey = v, true
	}
	if info["server_name"] == "valkey" {
		e.valkey = true
	}
	major, minor := parseVersion(ver)
	rdbVer := rdbVersionOf(e.valkey, major, minor)
	// A DUMP of a scratch key tells the RDB version exactly.
	probeKey := "{" + slotTag(e.firstSlot(c)) + "}rdbtool:restore:probe"
	setErr := c.Do(ctx, "SET", probeKey, "x", "PX", 60000).Err()
	if err := readOnly(addr, setErr); err != nil {
		return err
	}
	if setErr == nil {
		if d, err := c.Dump(ctx, probeKey).Result(); err == nil && len(d) >= 10 {
			rdbVer = int(d[len(d)-10]) | int(d[len(d)-9])<<8
		}
		c.Del(ctx, probeKey)
	}
	if e.msetWanted() {
		// Plain strings go in MSET batches: a user whose ACL allows SET
		// but not MSET, or a renamed MSET, keeps the key-by-key SET.
		var mset *redis.StatusCmd
		c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			mset = p.MSet(ctx, probeKey, "x")
			p.PExpire(ctx, probeKey, time.Minute)
			return nil
		})
		if err := mset.Err(); err == nil {
			c.Del(ctx, probeKey)
		} else if _, always := msetRefused(err); always {
			e.noMSet.Store(true)
			e.rep.Notes = append(e.rep.Notes, fmt.Sprintf("MSET is not available (%v): plain strings are written key by key", err))
		}
	}
	if first || rdbVer < e.tgtVer || (e.tgtVer >= 80) != (rdbVer >= 80) {
		if !first && (e.tgtVer >= 80) != (rdbVer >= 80) {
			rdbVer = min(rdbVer, 11)
		}
		e.tgtVer, e.tgtMajor, e.tgtMinor = rdbVer, major, minor
		e.rep.TargetVersion = ver
		if e.valkey {
			e.rep.TargetVersion = "valkey " + ver
		}
	}
	e.rep.TargetRDB = e.tgtVer
	tv := e.tgtVer
	switch {
	case tv >= 80:
		e.target = rdb.Target{Dialect: rdb.DialectValkey, Version: rdb.MaxValkeyVersion}
	case tv > rdb.MaxRedisVersion:
		e.target = rdb.Target{Dialect: rdb.DialectRedis, Version: rdb.MaxRedisVersion}
	case tv < 6:
		return fmt.Errorf("%s: server %s loads RDB %d; restore needs a server of 2.8 or later", addr, ver, tv)
	default:
		e.target = rdb.Target{Dialect: rdb.DialectRedis, Version: tv}
	}
	mp := int64(512 << 20)
	if v, ok := configGet(e, c, "proto-max-bulk-len"); ok {
		mp = v
	}
	if e.o.MaxPayload > 0 && e.o.MaxPayload < mp {
		mp = e.o.MaxPayload
	}
	if e.maxPay == 0 || mp < e.maxPay {
		e.maxPay = mp
	}
	return nil
}

// msetWanted says whether plain strings may go in MSET batches: not in a
// cluster (an MSET's keys must share a slot), not when values are sent as
// commands by request, and never with --skip-existing (MSETNX is all or
// nothing: the keys that exist must be skipped one by one).
func (e *engine) msetWanted() bool {
	return !e.cluster && e.o.Mode == Auto && e.o.Conflict != SkipExisting && msetKeys > 0
}

// configGet reads a positive number with CONFIG GET.
func configGet(e *engine, c *redis.Client, name string) (int64, bool) {
	m, err := c.ConfigGet(e.ctx, name).Result()
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(m[name], 10, 64)
	return v, err == nil && v > 0
}

// firstSlot is a slot the master c serves (from the "myself" line of
// CLUSTER NODES), for scratch keys that must live there.
func (e *engine) firstSlot(c *redis.Client) int {
	if !e.cluster {
		return 0
	}
	nodes, err := c.ClusterNodes(e.ctx).Result()
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.Contains(f[2], "myself") {
			continue
		}
		for _, r := range f[8:] {
			lo, _, _ := strings.Cut(r, "-")
			if n, err := strconv.Atoi(lo); err == nil && n >= 0 && n < 16384 {
				return n
			}
		}
	}
	return 0
}

func parseInfo(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			m[k] = v
		}
	}
	return m
}

func parseVersion(v string) (int, int) {
	parts := strings.Split(v, ".")
	major, _ := strconv.Atoi(parts[0])
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	return major, minor
}

// rdbVersionOf is the RDB version a server release loads.
func rdbVersionOf(valkey bool, major, minor int) int {
	return rdb.ReleaseFor(valkey, major, minor).Target.Version
}

// checkEmpty refuses a target that holds keys (in any database) or
// function libraries.
func (e *engine) checkEmpty() error {
	return e.eachMaster(func(addr string, c *redis.Client) error {
		ks, err := c.Info(e.ctx, "keyspace").Result()
		if err != nil {
			return fmt.Errorf("%s: INFO keyspace: %w", addr, err)
		}
		for k, v := range parseInfo(ks) {
			if strings.HasPrefix(k, "db") && !strings.HasPrefix(v, "keys=0,") {
				return fmt.Errorf("%w: %s holds keys (%s:%s); use --replace to overwrite or --skip-existing to keep what is there", ErrNotEmpty, addr, k, v)
			}
		}
		if e.tgtMajor >= 7 {
			if l, err := c.Do(e.ctx, "FUNCTION", "LIST").Slice(); err == nil && len(l) > 0 {
				return fmt.Errorf("%w: %s has %d function libraries; use --replace or --skip-existing", ErrNotEmpty, addr, len(l))
			}
		}
		return nil
	})
}
