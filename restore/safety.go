package restore

// The checks that keep a restore from losing data while reporting
// success: a replica or read-only target is refused before anything is
// written; so is a target whose maxmemory cannot hold the snapshot or
// whose eviction policy could delete what was written; a resume notices a
// target that restarted empty or lost keys since the checkpoint; and a
// last cheap check (keys per database, evicted_keys) must hold before a
// restore reports success.

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/internal/display"
	"github.com/rdbtool/rdbtool/rdb"
)

// ErrUnsafeTarget is wrapped by the errors of the checks made before
// writing: a replica, a read-only target, a maxmemory too small for the
// snapshot, an evicting policy, a target that lost data since the
// checkpoint.
var ErrUnsafeTarget = errors.New("the target cannot safely receive the restore")

// ErrLost is wrapped by the error of the final check: the target does not
// hold every key the restore wrote.
var ErrLost = errors.New("the target does not hold every key written")

// NodeState is what a master held, as the checkpoint records it.
type NodeState struct {
	RunID   string        `json:"run_id"`
	Keys    map[int]int64 `json:"keys"`    // per database
	Expires map[int]int64 `json:"expires"` // keys with a TTL, per database
	Evicted int64         `json:"evicted_keys"`
	Expired int64         `json:"expired_keys"`
}

// nodeState reads run_id, the keyspace and the eviction and expiry
// counters of one master.
func (e *engine) nodeState(addr string, c *redis.Client) (NodeState, error) {
	st := NodeState{Keys: map[int]int64{}, Expires: map[int]int64{}}
	for _, section := range []string{"server", "stats", "keyspace"} {
		s, err := c.Info(e.ctx, section).Result()
		if err != nil {
			return st, fmt.Errorf("%s: INFO %s: %v", addr, section, err)
		}
		for k, v := range parseInfo(s) {
			switch {
			case k == "run_id":
				st.RunID = v
			case k == "evicted_keys":
				st.Evicted, _ = strconv.ParseInt(v, 10, 64)
			case k == "expired_keys":
				st.Expired, _ = strconv.ParseInt(v, 10, 64)
			case strings.HasPrefix(k, "db"):
				db, err := strconv.Atoi(k[2:])
				if err != nil {
					continue
				}
				for _, f := range strings.Split(v, ",") {
					name, n, _ := strings.Cut(f, "=")
					x, _ := strconv.ParseInt(n, 10, 64)
					switch name {
					case "keys":
						st.Keys[db] = x
					case "expires":
						st.Expires[db] = x
					}
				}
			}
		}
	}
	return st, nil
}

// targetState reads the state of every master.
func (e *engine) targetState() (map[string]NodeState, error) {
	m := map[string]NodeState{}
	err := e.eachMaster(func(addr string, c *redis.Client) error {
		st, err := e.nodeState(addr, c)
		m[stateKey(e.cluster, addr)] = st
		return err
	})
	return m, err
}

// stateKey names a master in the checkpoint: its address in a cluster;
// "standalone" otherwise, so that a resume may reach the same server by
// another address.
func stateKey(cluster bool, addr string) string {
	if cluster {
		return addr
	}
	return "standalone"
}

// checkRole refuses a target that is a replica (writing to it would need
// REPLICAOF NO ONE, which makes it leave its master) unless DetachReplica
// says to promote it.
func (e *engine) checkRole(addr string, c *redis.Client) error {
	s, err := c.Info(e.ctx, "replication").Result()
	if err != nil {
		return nil // the probe that follows reports an unreachable target
	}
	info := parseInfo(s)
	if info["role"] != "slave" {
		return nil
	}
	master := info["master_host"] + ":" + info["master_port"]
	if !e.o.DetachReplica {
		return fmt.Errorf("%w: %s is a replica of %s (link %s): restoring into it would make it leave its master; restore into the master, or give --detach-replica to promote this server (REPLICAOF NO ONE)",
			ErrUnsafeTarget, addr, master, info["master_link_status"])
	}
	if e.o.DryRun {
		e.note(fmt.Sprintf("%s is a replica of %s: --detach-replica would promote it (REPLICAOF NO ONE)", addr, master))
		return nil
	}
	if err := c.Do(e.ctx, "REPLICAOF", "NO", "ONE").Err(); err != nil {
		return fmt.Errorf("%s: REPLICAOF NO ONE (--detach-replica): %v", addr, err)
	}
	e.note(fmt.Sprintf("%s was a replica of %s: promoted to a master (--detach-replica)", addr, master))
	return nil
}

// readOnly words a write the probe saw refused for good: a read-only
// replica, or a master without its min-replicas.
func readOnly(addr string, err error) error {
	msg, ok := redisErr(err)
	if !ok {
		return nil
	}
	if strings.HasPrefix(msg, "READONLY") || strings.HasPrefix(msg, "NOREPLICAS") || strings.HasPrefix(msg, "MISCONF") {
		return fmt.Errorf("%w: %s refuses writes: %s", ErrUnsafeTarget, addr, msg)
	}
	return nil
}

// checkMemory refuses, before anything is written, a target whose
// maxmemory cannot hold the snapshot or whose eviction policy could
// delete keys the restore wrote (unless AllowEviction).
func (e *engine) checkMemory(sources []Input) error {
	type mem struct {
		addr      string
		max, used int64
		policy    string
		allocator string
	}
	var nodes []mem
	err := e.eachMaster(func(addr string, c *redis.Client) error {
		s, err := c.Info(e.ctx, "memory").Result()
		if err != nil {
			return fmt.Errorf("%s: INFO memory: %v", addr, err)
		}
		info := parseInfo(s)
		m := mem{addr: addr, policy: info["maxmemory_policy"], allocator: info["mem_allocator"]}
		m.max, _ = strconv.ParseInt(info["maxmemory"], 10, 64)
		m.used, _ = strconv.ParseInt(info["used_memory"], 10, 64)
		nodes = append(nodes, m)
		return nil
	})
	if err != nil {
		return err
	}
	var room int64
	limited := false
	for _, n := range nodes {
		if n.max <= 0 {
			continue
		}
		limited = true
		room += max(n.max-n.used, 0)
		if n.policy != "noeviction" && !e.o.AllowEviction {
			return fmt.Errorf("%w: %s has maxmemory %d and maxmemory-policy %s: it may evict keys the restore writes and the restore would still report them written; set maxmemory-policy noeviction (or maxmemory 0), or give --allow-eviction to accept losing keys",
				ErrUnsafeTarget, n.addr, n.max, n.policy)
		}
	}
	if !limited {
		return nil
	}
	if e.cp != nil {
		// used_memory already holds what the interrupted run wrote: the
		// whole snapshot's estimate on top of it would refuse a resume
		// that fits. The final check still catches evictions.
		e.note("resumed: the target's maxmemory was not checked against the snapshot again")
		return nil
	}
	need, err := e.estimateLoadedBytes(sources, nodes[0].allocator)
	if err != nil {
		return fmt.Errorf("estimating the memory the snapshot needs: %w", err)
	}
	e.rep.EstimatedBytes = need
	if need > room && !e.o.AllowEviction {
		return fmt.Errorf("%w: the snapshot needs about %s in the target (%s memory model) but maxmemory leaves %s free (%s): raise maxmemory, or give --allow-eviction to accept losing keys",
			ErrUnsafeTarget, humanBytes(need), e.rep.TargetVersion, humanBytes(room), describeNodes(nodes, func(m mem) string {
				return fmt.Sprintf("%s: maxmemory %d, used_memory %d, %s", m.addr, m.max, m.used, m.policy)
			}))
	}
	return nil
}

func humanBytes(n int64) string { return display.Bytes(uint64(max(n, 0))) }

func describeNodes[T any](nodes []T, f func(T) string) string {
	var s []string
	for _, n := range nodes {
		s = append(s, f(n))
	}
	return strings.Join(s, "; ")
}

// estimateLoadedBytes is how much memory the keys of the sources will add
// to the target's used_memory, by the analyze package's load prediction
// for the target's version and allocator (the keys the filter keeps;
// expired keys left out), raised by the prediction's known accuracy so a
// snapshot near the limit is refused rather than evicted. The one place
// the restore asks for a memory prediction.
func (e *engine) estimateLoadedBytes(sources []Input, memAllocator string) (int64, error) {
	ver, _ := analyze.ParseServerVersion(e.rep.TargetVersion)
	// INFO's mem_allocator does not tell Redis's own jemalloc from a
	// distribution's system jemalloc, whose coarser size classes need
	// more: assume the larger unless the target says libc.
	alloc := analyze.JemallocSystem
	if strings.HasPrefix(memAllocator, "libc") {
		alloc = analyze.Libc
	}
	p := analyze.NewLoadPredictor(analyze.Options{ServerVersion: &ver, Allocator: alloc, Now: time.UnixMilli(e.now)})
	for _, in := range sources {
		if err := e.predictSource(p, in); err != nil {
			return 0, err
		}
	}
	pred := p.Prediction()
	return int64(pred.AddedUpper()), nil
}

// predictSource adds the keys of one source that the restore writes.
func (e *engine) predictSource(p *analyze.LoadPredictor, in Input) error {
	r, src, err := e.openReader(in)
	if err != nil {
		return err
	}
	defer src.Close()
	for {
		if err := e.ctx.Err(); err != nil {
			return err
		}
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case rec.Kind == rdb.KindResizeDB:
			p.ResizeDB(rec)
		case rec.Kind != rdb.KindKey:
		case rec.ExpireAt != 0 && rec.ExpireAt <= e.now:
		case e.o.Filter != nil && !e.o.Filter(rec):
		default:
			if err := p.Add(r, rec); err != nil {
				return err
			}
		}
	}
}

// checkResume refuses to resume into a target that no longer holds what
// the checkpoint saw: a restart without persistence, a FLUSHALL. Keys
// with a TTL may have expired meanwhile; keys without one may not vanish.
func (e *engine) checkResume(cp *Checkpoint) error {
	now, err := e.targetState()
	if err != nil {
		return err
	}
	if len(cp.TargetState) == 0 {
		e.note("the checkpoint does not record the target's state (an older rdbtool): only the keys it counts as written are checked")
	}
	restartedAny := false
	addrs := sortedKeys(cp.TargetState)
	for _, addr := range addrs {
		was := cp.TargetState[addr]
		is, ok := now[addr]
		if !ok {
			return fmt.Errorf("%w: the checkpoint %s was written for master %s, which the target no longer has (its masters changed): remove the checkpoint and restore again (with --replace if keys remain)", ErrUnsafeTarget, e.o.Checkpoint, addr)
		}
		restarted := is.RunID != was.RunID
		for _, db := range sortedKeys(was.Keys) {
			least := was.Keys[db] - was.Expires[db]
			if is.Keys[db] < least {
				why := "its data was deleted (FLUSHALL or similar)"
				if restarted {
					why = fmt.Sprintf("it restarted (run_id %s, was %s) without its data", is.RunID, was.RunID)
				}
				return fmt.Errorf("%w: since the checkpoint %s was written %s lost keys: %s; db %d holds %d keys where it held %d (%d without TTL). Resuming would report keys written that the target does not hold: remove %s and restore again (add --replace if some keys remain)",
					ErrUnsafeTarget, e.o.Checkpoint, addr, why, db, is.Keys[db], was.Keys[db], least, e.o.Checkpoint)
			}
		}
		if restarted {
			restartedAny = true
			e.note(fmt.Sprintf("%s restarted since the checkpoint (run_id %s, was %s) and still holds its keys: resumed", addr, is.RunID, was.RunID))
		}
	}
	if !cp.StartedEmpty {
		return nil
	}
	// A restore begun on an empty target put every key the target holds
	// without a TTL there: the keys the checkpoint counts as written
	// without one must all still be there. This also covers a checkpoint
	// saved before the target's state could be recorded.
	noTTL := map[int]int64{}
	for _, st := range now {
		for db, n := range st.Keys {
			noTTL[db] += n - st.Expires[db]
		}
	}
	for _, db := range sortedKeys(cp.Counts.WrittenByDB) {
		if w := cp.Counts.WrittenByDB[db][0]; noTTL[db] < w {
			why := "lost keys (a restart without its data, a FLUSHALL or similar)"
			if restartedAny {
				why = "restarted without its data"
			}
			return fmt.Errorf("%w: since the checkpoint %s was written the target %s: db %d holds %d keys without TTL where the checkpoint counts %d written. Resuming would report keys written that the target does not hold: remove %s and restore again (add --replace if some keys remain)",
				ErrUnsafeTarget, e.o.Checkpoint, why, db, noTTL[db], w, e.o.Checkpoint)
		}
	}
	return nil
}

func sortedKeys[K int | string, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// finalCheck compares the target with what this restore wrote, cheaply:
// no key evicted since the start, and, when the restore began on an
// empty target, every database holding at least the keys written to it
// (keys with a TTL may have expired meanwhile, as expired_keys tells).
func (e *engine) finalCheck(before map[string]NodeState, written map[int][2]int64) error {
	after, err := e.targetState()
	if err != nil {
		return fmt.Errorf("final check: %w", err)
	}
	var evicted, expired int64
	sameRun := true
	keys := map[int]int64{}
	noTTL := map[int]int64{}
	for addr, a := range after {
		b, ok := before[addr]
		if !ok || b.RunID != a.RunID {
			sameRun = false
			continue
		}
		evicted += a.Evicted - b.Evicted
		expired += a.Expired - b.Expired
	}
	for _, a := range after {
		for db, n := range a.Keys {
			keys[db] += n
			noTTL[db] += n - a.Expires[db]
		}
	}
	if !sameRun {
		return fmt.Errorf("final check: %w: the target restarted during the restore (run_id changed)", ErrLost)
	}
	if evicted > 0 {
		if !e.o.AllowEviction {
			return fmt.Errorf("final check: %w: the target evicted %d keys during the restore (evicted_keys)", ErrLost, evicted)
		}
		e.note(fmt.Sprintf("the target evicted %d keys during the restore (--allow-eviction)", evicted))
	}
	if !e.startedEmpty() {
		return nil
	}
	for _, db := range sortedKeys(written) {
		w := written[db]
		if noTTL[db] < w[0] {
			return fmt.Errorf("final check: %w: db %d holds %d keys without TTL where the restore wrote %d", ErrLost, db, noTTL[db], w[0])
		}
		if keys[db]+expired+evicted < w[0]+w[1] && !(e.o.AllowEviction && evicted > 0) {
			return fmt.Errorf("final check: %w: db %d holds %d keys where the restore wrote %d (%d expired meanwhile)", ErrLost, db, keys[db], w[0]+w[1], expired)
		}
	}
	return nil
}

// startedEmpty: the restore began on a target found empty (this run, or
// the run whose checkpoint is resumed), so the keys written are all the
// keys the target should hold.
func (e *engine) startedEmpty() bool {
	if e.o.Conflict != Refuse {
		return false
	}
	if e.cp != nil {
		return e.cp.StartedEmpty
	}
	return e.emptyAtRun
}
