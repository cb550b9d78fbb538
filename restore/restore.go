// Package restore writes the keys of RDB snapshots into a running Redis or
// Valkey server or Redis Cluster, faithfully and fast.
//
// An empty standalone target can instead receive everything at once, the
// way a replica receives its master's data (Options.Method, sync.go): told
// REPLICAOF this process, it loads an RDB stream written for its version
// with its own loader, as fast as it loads a file at startup. Otherwise,
// or when that is not possible, each key takes the fastest path the target
// allows:
//
//   - MSET of up to 128 plain strings (no TTL, no LRU/LFU data) at a time,
//     when overwriting is safe: with Replace, or when the run found the
//     target empty (standalone targets only; never with SkipExisting);
//   - SET key value [PXAT ms] [NX] for other strings (RESTORE for those
//     with a TTL before 6.2, which has no PXAT);
//   - RESTORE key ttl payload ABSTTL [IDLETIME|FREQ] [REPLACE] with the
//     value exactly as stored in the file, when the target loads the file's
//     RDB version (nothing is decoded);
//   - RESTORE with a payload re-encoded for the target's older RDB version
//     (rdb.EncodeDumpFrom) otherwise;
//   - commands (SET/APPEND, RPUSH, SADD, ZADD, HSET + HPEXPIREAT, XADD +
//     XSETID + XGROUP + XCLAIM) in bounded chunks, built under a temporary
//     key in the same slot and RENAMEd into place, when the payload would
//     exceed the target's proto-max-bulk-len (or with Mode Commands).
//
// Module values are only restored by RESTORE. Function libraries are
// loaded with FUNCTION LOAD on every master. Keys whose expiry has passed
// are skipped, and so are empty collections (a server skips them when it
// loads a file).
//
// Nothing is written before the checks that keep a restore from losing
// data (safety.go, precheck.go): a replica target is refused unless
// DetachReplica; a maxmemory that cannot hold the snapshot, or an
// evicting policy, unless AllowEviction; and one pass over the sources
// lists all the target cannot hold (hash field TTLs before 7.4, newer
// stream metadata, module key metadata, module values without their
// module, databases it lacks), refusing the run unless a Policy (or
// SkipModules, MapDB) leaves each out. DryRun stops after the checks. A
// restore reports success only once the target's keys per database and
// evicted_keys agree with what it wrote.
//
// Progress can be checkpointed to a file so that an interrupted run
// resumes without losing or duplicating anything.
//
// Servers are reached through github.com/redis/go-redis/v9: each of
// Options.Workers writers sends its keys in pipelines of up to
// Options.Pipeline commands (per master in a cluster), and every reply is
// mapped back to its key. In a cluster, go-redis's cluster client routes
// each command by slot and follows MOVED and ASK.
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/internal/periodic"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
	"github.com/rdbtool/rdbtool/source"
)

// Conflict says what to do about keys that already exist in the target.
type Conflict int

const (
	// Refuse: the target must be empty (no keys, no function libraries);
	// a key found to exist anyway fails.
	Refuse Conflict = iota
	// Replace overwrites existing keys (RESTORE ... REPLACE, RENAME).
	Replace
	// SkipExisting leaves existing keys as they are and reports them.
	SkipExisting
)

// Mode chooses how values are sent.
type Mode int

const (
	Auto     Mode = iota // RESTORE when possible, commands for oversized values
	Commands             // always commands (except module values)
)

// Options configure Restore.
type Options struct {
	// Target is a redis:// or rediss:// URL: [user[:password]@]host[:port][/db].
	// A database in the URL is where database 0 of the snapshot goes when
	// MapDB does not say otherwise.
	Target   string
	Cluster  bool // the target is a Redis Cluster: route keys by slot
	Username string
	Password string
	TLS      TLSOptions

	Workers  int     // connections per target node (default 4)
	Pipeline int     // commands in flight per connection (default 256)
	Rate     float64 // keys per second, 0 for no limit

	Conflict Conflict
	Mode     Mode
	// Policy lets content the target cannot hold be left out instead of
	// refusing the key: rdb.DropFieldTTLs, rdb.DowngradeStreams,
	// rdb.DropKeyMeta, rdb.DropFunctions.
	Policy rdb.Policy
	// MaxPayload caps RESTORE payloads; larger values go the command way.
	// 0: the target's proto-max-bulk-len (512 MB if it cannot be read).
	MaxPayload int64
	// ChunkElements / ChunkBytes bound each command of the command path.
	ChunkElements, ChunkBytes int

	// Filter keeps a key when it returns true (nil keeps all).
	Filter func(rec *rdb.Record) bool
	// MapDB maps a snapshot database to a target database (nil: identity).
	MapDB func(db int) int

	// Method: key by key (the zero value), or by a replication full sync
	// when the target allows it (MethodAuto) or must (MethodSync); see
	// sync.go. A full sync needs an empty standalone target that can
	// connect to this process: at SyncListen ("host:port", port 0 for any;
	// default the address this host has on its way to the target).
	Method     Method
	SyncListen string

	// Checkpoint is a file recording progress; an existing one is resumed.
	// The checkpoint records the target's run_id and keys per database: a
	// resume into a target that restarted empty or lost keys is refused.
	Checkpoint string

	// DetachReplica allows restoring into a replica by promoting it
	// (REPLICAOF NO ONE); without it a replica target is refused.
	DetachReplica bool
	// AllowEviction allows a target whose maxmemory-policy may evict keys,
	// or whose maxmemory cannot hold the snapshot; evicted keys are then
	// reported in a note instead of failing the final check.
	AllowEviction bool
	// SkipModules leaves module values out (reported as skipped): a
	// target without their module cannot load them.
	SkipModules bool
	// DryRun runs every check made before writing (target role, memory,
	// what the target cannot hold) and reports, writing nothing.
	DryRun bool
	// Verify compares the target with the sources afterwards.
	Verify bool

	Progress      io.Writer // progress lines (nil: none)
	ReaderOptions []rdb.Option
	// Open opens a source name (default source.Open).
	Open func(ctx context.Context, name string) (*source.Source, error)
}

// KeyIssue is a key that was not written, with the reason.
type KeyIssue struct {
	Source string `json:"source"`
	DB     int    `json:"db"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// Report is what Restore did.
type Report struct {
	Target        string
	TargetVersion string // redis_version of the target
	TargetRDB     int    // RDB version the target loads
	Nodes         []string
	Resumed       bool

	Keys            int64 // keys read from the sources (after filters)
	Written         int64
	ByRestore       int64 // written with RESTORE of the stored payload
	ByReencode      int64 // written with RESTORE of a re-encoded payload
	ByCommands      int64 // written with commands
	BySet           int64 // strings written with SET ... PXAT (cheaper for the server than RESTORE)
	ByMSet          int64 // strings without TTL written in MSET batches (cheaper still)
	BySync          int64 // loaded by the target from a replication full sync (Method)
	Skipped         map[string]int64
	Failed          int64      // errors (the reasons are in Issues)
	Refused         int64      // content the target cannot hold
	Issues          []KeyIssue // failed and refused keys (the first 1000)
	Functions       int64
	FunctionsFailed int64
	Notes           []string
	Bytes           int64 // payload bytes sent
	Elapsed         time.Duration
	Verify          *VerifyReport
	// EstimatedBytes is the memory the keys are expected to take in the
	// target (computed when the target has a maxmemory).
	EstimatedBytes int64
	DryRun         bool
	// Incompatible is what the target cannot hold, found before writing
	// by one pass over the sources; when it is not empty nothing was
	// written and Restore returned a *rewrite.Error.
	Incompatible []rewrite.Finding
}

// OK reports whether every key was written or deliberately skipped.
func (r *Report) OK() bool {
	return r.Failed == 0 && r.Refused == 0 && r.FunctionsFailed == 0 && (r.Verify == nil || r.Verify.OK())
}

// Print writes a human summary.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "restore into %s (%s, RDB %d, %d node(s))%s\n", redactURL(r.Target), r.TargetVersion, r.TargetRDB, len(r.Nodes), map[bool]string{true: ", resumed", false: ""}[r.Resumed])
	if r.DryRun {
		fmt.Fprintf(w, "  dry run: nothing was written\n")
	}
	if r.EstimatedBytes > 0 {
		fmt.Fprintf(w, "  estimated memory in the target: %s\n", humanBytes(r.EstimatedBytes))
	}
	if r.DryRun || len(r.Incompatible) > 0 {
		// Nothing was written: no counts to show.
		r.printIncompatible(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if len(r.Incompatible) == 0 {
			fmt.Fprintf(w, "  the checks made before writing pass\n")
		}
		return
	}
	rate := float64(r.Written) / math.Max(r.Elapsed.Seconds(), 1e-3)
	how := fmt.Sprintf("RESTORE %d, re-encoded %d, SET %d, MSET %d, commands %d", r.ByRestore, r.ByReencode, r.BySet, r.ByMSet, r.ByCommands)
	if r.BySync > 0 {
		how = fmt.Sprintf("by a full sync: the target loaded a stream of %d MB", r.Bytes>>20)
	}
	fmt.Fprintf(w, "  keys read:    %d\n  written:      %d (%s) in %.1fs, %.0f keys/s, %d MB\n",
		r.Keys, r.Written, how, r.Elapsed.Seconds(), rate, r.Bytes>>20)
	var reasons []string
	for k := range r.Skipped {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	var total int64
	for _, k := range reasons {
		total += r.Skipped[k]
	}
	fmt.Fprintf(w, "  skipped:      %d\n", total)
	for _, k := range reasons {
		fmt.Fprintf(w, "    %8d  %s\n", r.Skipped[k], k)
	}
	fmt.Fprintf(w, "  refused:      %d\n  failed:       %d\n", r.Refused, r.Failed)
	if r.Functions > 0 || r.FunctionsFailed > 0 {
		fmt.Fprintf(w, "  functions:    %d loaded, %d failed\n", r.Functions, r.FunctionsFailed)
	}
	printIssues(w, r.Issues)
	for _, n := range r.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	if r.Verify != nil {
		r.Verify.Print(w)
	}
}

// printIncompatible lists what the target cannot hold, with counts,
// example keys and the flag that leaves each out.
func (r *Report) printIncompatible(w io.Writer) {
	if len(r.Incompatible) == 0 {
		return
	}
	fmt.Fprintf(w, "  the target cannot hold (nothing was written):\n")
	for _, x := range r.Incompatible {
		fmt.Fprintf(w, "    %8d  %s", x.Count, x.Reason)
		if len(x.Examples) > 0 {
			fmt.Fprintf(w, " (e.g. %s)", strings.Join(x.Examples, ", "))
		}
		fmt.Fprintln(w)
	}
}

// printIssues prints the failed and refused keys one line per reason,
// with a count and a few example keys.
func printIssues(w io.Writer, issues []KeyIssue) {
	var f rewrite.Findings
	for _, is := range issues {
		f.Add(rewrite.Reason{What: is.Reason}, is.DB, []byte(is.Key))
	}
	f.Print(w, "  ")
	if len(issues) == issueLimit {
		fmt.Fprintf(w, "    (only the first %d keys are listed)\n", issueLimit)
	}
}

// issueLimit bounds Report.Issues.
const issueLimit = 1000

// ErrNotEmpty is returned when the target holds data and neither Replace
// nor SkipExisting was chosen.
var ErrNotEmpty = errors.New("the target is not empty")

type jobKind uint8

const (
	jobRestore jobKind = iota
	jobCommands
	jobSet // a string sent as SET key value [PXAT ms] [NX]
)

type job struct {
	seq      int64
	srcName  string
	srcIdx   int
	off      int64
	db       int // target database
	srcDB    int // database in the source
	key      []byte
	kind     jobKind
	reenc    bool
	payload  []byte
	typ      rdb.Type
	expireAt int64
	idle     int64
	freq     int
	replace  bool
	msetOK   bool // a plain string that may be overwritten: may go in an MSET
	viaMSet  bool // sent in an MSET
	module   string
}

type engine struct {
	o        Options
	ep       *endpoint
	ctx      context.Context
	cancel   context.CancelCauseFunc
	cluster  bool
	cc       *redis.ClusterClient  // --cluster: go-redis routes by slot and follows MOVED/ASK
	mu       sync.Mutex            // clients
	clients  map[int]*redis.Client // standalone: a client per database
	workers  []chan *job
	batch    int            // commands per pipeline
	wg       sync.WaitGroup // workers
	jobs     sync.WaitGroup // jobs not finished
	rep      *Report
	repMu    sync.Mutex
	trk      tracker
	target   rdb.Target // for re-encoding
	tgtVer   int        // RDB version the target loads
	tgtMajor int
	tgtMinor int
	valkey   bool
	maxPay   int64
	inflight *byteSem
	now      int64
	ndb      int

	// MSET batching of plain strings (see msetWanted and ownsDB).
	mset                   bool           // the run may use MSET at all
	emptyAtRun             bool           // the target was checked empty by this run
	dbOwner                map[int][2]int // target db -> the (source, source db) that first wrote to it
	lastGroup              [3]int         // ownsDB's cache: source, source db, target db
	lastGroupSet, lastOwns bool
	noMSet                 atomic.Bool // MSET turned out not to be allowed

	written, byRestore, byReenc, byCmd, bySet, byMSet, bySync, failed, refused, bytes atomic.Int64
	keysRead                                                                          atomic.Int64
	skipped                                                                           map[string]int64
	cp                                                                                *Checkpoint
	cpBase                                                                            Counts
	srcVer                                                                            int
	srcDialect                                                                        rdb.Dialect

	syncWritten map[int][2]int64     // keys a full sync wrote per target database (without, with TTL)
	cpState     map[string]NodeState // the target's state last saved in the checkpoint
}

// Restore writes the keys of the sources into the target.
func Restore(ctx context.Context, sources []string, o Options) (*Report, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Pipeline <= 0 {
		o.Pipeline = 256
	}
	if o.Open == nil {
		o.Open = source.Open
	}
	ep, err := parseTarget(o.Target, &o)
	if err != nil {
		return nil, err
	}
	e := &engine{o: o, ep: ep, cluster: o.Cluster, clients: map[int]*redis.Client{}, skipped: map[string]int64{},
		rep: &Report{Target: o.Target, Skipped: map[string]int64{}}, inflight: newByteSem(512 << 20), now: time.Now().UnixMilli()}
	e.ctx, e.cancel = context.WithCancelCause(ctx)
	defer e.cancel(nil)
	defer e.closeClients()
	if err := e.connect(); err != nil {
		return nil, err
	}
	if o.Checkpoint != "" {
		cp, err := loadCheckpoint(o.Checkpoint)
		if err != nil {
			return nil, err
		}
		if cp != nil {
			if strings.Join(cp.Sources, "\x00") != strings.Join(sources, "\x00") {
				return nil, fmt.Errorf("checkpoint %s is for sources %q, not %q: remove it to start over", o.Checkpoint, cp.Sources, sources)
			}
			if err := e.checkResume(cp); err != nil {
				return nil, err
			}
			if cp.Complete {
				e.rep.Notes = append(e.rep.Notes, "checkpoint says this restore already completed; nothing to do")
				e.rep.Resumed = true
				e.cp = cp
				e.finishReport(start)
				if o.Verify {
					e.rep.Verify, err = e.verify(sources)
				}
				return e.rep, err
			}
			e.cp, e.cpBase, e.rep.Resumed = cp, cp.Counts, true
		}
	}
	if e.cp == nil && o.Conflict == Refuse {
		if err := e.checkEmpty(); err != nil {
			return nil, err
		}
		e.emptyAtRun = true
	}
	if err := e.precheck(sources); err != nil {
		return nil, err
	}
	if len(e.rep.Incompatible) > 0 {
		e.rep.DryRun = o.DryRun
		e.finishReport(start)
		return e.rep, &rewrite.Error{Findings: e.rep.Incompatible}
	}
	if err := e.checkMemory(sources); err != nil {
		return nil, err
	}
	before, err := e.targetState()
	if err != nil {
		return nil, err
	}
	if o.DryRun {
		e.rep.DryRun = true
		e.finishReport(start)
		return e.rep, nil
	}
	if e.o.Method != MethodKeys {
		done, err := e.trySync(sources, start)
		if done || err != nil {
			if err == nil {
				err = e.finalCheck(before, e.syncWritten)
			}
			return e.rep, err
		}
	}
	e.mset = e.msetWanted() && !e.noMSet.Load()
	e.startWorkers()
	var stopProgress func()
	if o.Progress != nil {
		stopProgress = e.progress(start)
	}
	stopCP := e.checkpointLoop(sources)
	runErr := e.readAll(sources)
	e.jobs.Wait()
	e.stopWorkers()
	if stopProgress != nil {
		stopProgress()
	}
	if cause := context.Cause(e.ctx); runErr == nil && cause != nil {
		runErr = cause
	}
	stopCP(runErr == nil)
	e.finishReport(start)
	if runErr != nil {
		return e.rep, runErr
	}
	if err := e.finalCheck(before, e.writtenByDB()); err != nil {
		return e.rep, err
	}
	if o.Verify {
		v, err := e.verify(sources)
		e.rep.Verify = v
		if err != nil {
			return e.rep, err
		}
	}
	return e.rep, nil
}

// writtenByDB is the keys written per target database, by this run and
// the runs it resumes: without and with a TTL.
func (e *engine) writtenByDB() map[int][2]int64 {
	m := map[int][2]int64{}
	for db, n := range e.trk.commitState().WrittenByDB {
		m[db] = n
	}
	for db, n := range e.cpBase.WrittenByDB {
		x := m[db]
		m[db] = [2]int64{x[0] + n[0], x[1] + n[1]}
	}
	return m
}

// trySync restores by a full sync when the run allows it. done: the
// restore is over (err says how it went); otherwise the key-by-key path is
// to run on the target, which was left as it was.
func (e *engine) trySync(sources []string, start time.Time) (done bool, err error) {
	ok, why := e.syncEligible()
	if !ok {
		if e.o.Method == MethodSync {
			return true, fmt.Errorf("a full sync is not possible: %s", why)
		}
		return false, nil
	}
	e.databases()
	err = e.syncRestore(sources)
	if errors.Is(err, errSyncNotTaken) && e.o.Method == MethodAuto {
		// Start over key by key: nothing the attempt counted was written.
		e.keysRead.Store(0)
		e.syncWritten = nil
		e.repMu.Lock()
		clear(e.skipped)
		e.repMu.Unlock()
		e.rep.Functions = 0
		e.note(fmt.Sprintf("restored key by key: %v", err))
		return false, nil
	}
	e.finishReport(start)
	if err != nil {
		return true, err
	}
	if e.o.Verify {
		e.rep.Verify, err = e.verify(sources)
	}
	return true, err
}

func (e *engine) finishReport(start time.Time) {
	r := e.rep
	r.Written = e.written.Load() + e.cpBase.Written
	r.ByRestore, r.ByReencode, r.ByCommands, r.BySet, r.ByMSet = e.byRestore.Load(), e.byReenc.Load(), e.byCmd.Load(), e.bySet.Load(), e.byMSet.Load()
	r.BySync = e.bySync.Load()
	r.Failed = e.failed.Load() + e.cpBase.Failed
	r.Refused = e.refused.Load() + e.cpBase.Refused
	r.Bytes = e.bytes.Load()
	r.Keys = e.keysRead.Load()
	e.repMu.Lock()
	for k, v := range e.skipped {
		r.Skipped[k] += v
	}
	for k, v := range e.cpBase.Skipped {
		r.Skipped[k] += v
	}
	e.repMu.Unlock()
	r.Elapsed = time.Since(start)
}

// connect discovers the masters and probes the target.
func (e *engine) connect() error {
	if e.cluster {
		if e.ep.db != 0 {
			return fmt.Errorf("a Redis Cluster has only database 0; drop /%d from the URL", e.ep.db)
		}
		e.cc = redis.NewClusterClient(e.clusterOptions())
		e.cc.OnNewNode(func(c *redis.Client) { c.AddHook(abortHook{e: e, addr: c.Options().Addr}) })
		slots, err := e.cc.ClusterSlots(e.ctx).Result()
		if err != nil {
			if _, isReply := redisErr(err); !isReply || authErr(err) {
				return e.connErr(e.ep.addr, err)
			}
			return fmt.Errorf("CLUSTER SLOTS on %s: %v (is it a cluster node? leave out --cluster for a standalone server)", e.ep.addr, err)
		}
		var served [16384]bool
		for _, r := range slots {
			for s := max(r.Start, 0); s <= r.End && s < 16384 && len(r.Nodes) > 0; s++ {
				served[s] = true
			}
		}
		for s, ok := range served {
			if !ok {
				return fmt.Errorf("cluster at %s: slot %d is not served by any node", e.ep.addr, s)
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

// startWorkers starts --workers writers. In a cluster each pipeline is
// split by go-redis across the masters, so it holds --pipeline commands
// per master: every master sees --workers connections with --pipeline
// commands each, as a standalone server does.
func (e *engine) startWorkers() {
	e.batch = e.o.Pipeline
	if e.cluster {
		e.batch *= max(1, len(e.rep.Nodes))
	}
	for i := 0; i < e.o.Workers; i++ {
		ch := make(chan *job, e.batch)
		e.workers = append(e.workers, ch)
		w := &worker{e: e, ch: ch}
		e.wg.Add(1)
		go w.run()
	}
}

func (e *engine) stopWorkers() {
	for _, ch := range e.workers {
		close(ch)
	}
	e.workers = nil
	e.wg.Wait()
}

// dispatch hands a job to the worker that owns its key (so that the
// writes of one key keep their order).
func (e *engine) dispatch(j *job) {
	h := uint32(2166136261) // FNV-1a
	for _, b := range j.key {
		h = (h ^ uint32(b)) * 16777619
	}
	select {
	case e.workers[int(h%uint32(len(e.workers)))] <- j:
	case <-e.ctx.Done():
		e.finish(j)
	}
}

// finish releases a job that will not be acknowledged (aborted run).
func (e *engine) finish(j *job) {
	e.inflight.release(int64(len(j.payload)))
	e.jobs.Done()
}

func (e *engine) abort(err error) { e.cancel(err) }

// done records a job's result.
func (e *engine) done(j *job, written bool, skipReason string, failReason string, refused bool) {
	o := outcome{kind: 'w'}
	switch {
	case written:
		o.db, o.ttl = j.db, j.expireAt != 0
		e.written.Add(1)
		switch {
		case j.kind == jobCommands:
			e.byCmd.Add(1)
		case j.viaMSet:
			e.byMSet.Add(1)
		case j.kind == jobSet:
			e.bySet.Add(1)
		case j.reenc:
			e.byReenc.Add(1)
		default:
			e.byRestore.Add(1)
		}
		e.bytes.Add(int64(len(j.payload)))
	case skipReason != "":
		e.skip(skipReason)
		o = outcome{kind: 's', reason: skipReason}
	default:
		e.issue(j.srcName, j.db, j.key, failReason, refused)
		o.kind = 'f'
		if refused {
			o.kind = 'r'
		}
	}
	e.trk.ack(j.seq, o)
	e.finish(j)
}

// settle records the outcome of a key the reader decided on itself.
func (e *engine) settle(off int64, db int, end int64, o outcome) {
	e.trk.ack(e.trk.add(off, db, end), o)
}

func (e *engine) skip(reason string) {
	e.repMu.Lock()
	e.skipped[reason]++
	e.repMu.Unlock()
}

func (e *engine) issue(src string, db int, key []byte, reason string, refused bool) {
	if refused {
		e.refused.Add(1)
	} else {
		e.failed.Add(1)
	}
	e.repMu.Lock()
	if len(e.rep.Issues) < issueLimit {
		e.rep.Issues = append(e.rep.Issues, KeyIssue{Source: src, DB: db, Key: string(key), Reason: reason})
	}
	e.repMu.Unlock()
}

func (e *engine) note(s string) {
	e.repMu.Lock()
	defer e.repMu.Unlock()
	for _, n := range e.rep.Notes {
		if n == s {
			return
		}
	}
	e.rep.Notes = append(e.rep.Notes, s)
}

// progress prints a line every second.
func (e *engine) progress(start time.Time) func() {
	return periodic.Every(time.Second, func() {
		el := time.Since(start).Seconds()
		w := e.written.Load()
		fmt.Fprintf(e.o.Progress, "restore: %d keys written (%.0f/s), %d failed, %d refused, %d MB sent, %.0fs\n",
			w, float64(w)/el, e.failed.Load(), e.refused.Load(), e.bytes.Load()>>20, el)
	})
}

// checkpointLoop saves the checkpoint every second; the returned function
// saves it a last time.
func (e *engine) checkpointLoop(sources []string) func(complete bool) {
	if e.o.Checkpoint == "" {
		return func(bool) {}
	}
	save := func(complete bool) {
		off, db, hw, src := e.trk.resume()
		cp := &Checkpoint{FormatVersion: 1, Sources: sources, Target: redactURL(e.o.Target), Source: src, Offset: off, DB: db,
			Dialect: int(e.srcDialect), RDBVersion: e.srcVer, HighWater: hw, Complete: complete}
		cp.Counts = e.trk.commitState()
		cp.Counts.WrittenByDB = e.writtenByDB()
		cp.StartedEmpty = e.startedEmpty()
		// Read after the resume point: the keys acknowledged before it
		// are in these counts.
		if st, err := e.targetState(); err == nil {
			e.cpState = st
		} else if e.cpState == nil && e.cp != nil {
			e.cpState = e.cp.TargetState
		}
		cp.TargetState = e.cpState
		cp.Counts.Written += e.cpBase.Written
		cp.Counts.Failed += e.cpBase.Failed
		cp.Counts.Refused += e.cpBase.Refused
		for k, v := range e.cpBase.Skipped {
			cp.Counts.Skipped[k] += v
		}
		if err := saveCheckpoint(e.o.Checkpoint, cp); err != nil {
			e.note("checkpoint: " + err.Error())
		}
	}
	stop := periodic.Every(time.Second, func() { save(false) })
	return func(complete bool) {
		stop()
		save(complete)
	}
}

// byteSem bounds the payload bytes in flight.
type byteSem struct {
	mu    sync.Mutex
	cond  *sync.Cond
	limit int64
	used  int64
}

func newByteSem(limit int64) *byteSem {
	s := &byteSem{limit: limit}
	s.cond = sync.NewCond(&s.mu)
	return s
}

func (s *byteSem) acquire(ctx context.Context, n int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.used > 0 && s.used+n > s.limit {
		if ctx.Err() != nil {
			return false
		}
		s.cond.Wait()
	}
	s.used += n
	return true
}

func (s *byteSem) release(n int64) {
	s.mu.Lock()
	s.used -= n
	s.mu.Unlock()
	s.cond.Broadcast()
}

func (e *engine) wakeOnCancel() {
	<-e.ctx.Done()
	e.inflight.cond.Broadcast()
}
