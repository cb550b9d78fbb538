// Package restore writes the keys of RDB snapshots into a running Redis or
// Valkey server or Redis Cluster, faithfully and fast.
//
// Restore takes the snapshots as Inputs, in order (FileInputs for files,
// or any stream that can be opened again from its start), and the target
// and choices as Options; it returns a Report of what was written,
// skipped, refused or failed, key by key.
//
// An empty standalone target can instead receive everything at once, the
// way a replica receives its master's data (Options.Method): told
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
// data: a replica target is refused unless
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
// each command by slot and follows MOVED and ASK. Every failure is in the
// error or the Report; go-redis's own logger, which is process-wide, may
// print them too unless the program turns it off (rdbtool does).
package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/internal/redisurl"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
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
	Cluster  bool       // the target is a Redis Cluster: route keys by slot
	Username string     // ACL user; overrides the URL's
	Password string     // overrides the URL's
	TLS      TLSOptions // for rediss:// targets

	Workers  int     // connections per target node (default 4)
	Pipeline int     // commands in flight per connection (default 256)
	Rate     float64 // keys per second, 0 for no limit

	Conflict Conflict // what to do with keys the target already holds (default Refuse)
	Mode     Mode     // RESTORE where possible, or always commands
	// Policy lets content the target cannot hold be left out instead of
	// refusing the key: rdb.DropFieldTTLs, rdb.DowngradeStreams,
	// rdb.DropKeyMeta, rdb.DropFunctions.
	Policy rdb.Policy
	// MaxPayload caps RESTORE payloads; larger values go the command way.
	// 0: the target's proto-max-bulk-len (512 MB if it cannot be read).
	MaxPayload int64
	// ChunkElements / ChunkBytes bound each command of the command path.
	ChunkElements, ChunkBytes int

	// Filter keeps a key when it returns true (nil keeps all): the
	// command's is rewrite.KeyFilter.Keep.
	Filter func(rec *rdb.Record) bool
	// MapDB maps a snapshot database to a target database (nil: identity,
	// with database 0 going to the URL's database): the command's is
	// rewrite.DBMap.DB.
	MapDB func(db int) int

	// Method: key by key (the zero value), or by a replication full sync
	// when the target allows it (MethodAuto) or must (MethodSync); see
	// the package documentation. A full sync needs an empty standalone
	// target that can connect to this process: at SyncListen ("host:port",
	// port 0 for any; default the address this host has on its way to the
	// target).
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

	Progress      io.Writer    // progress lines (nil: none)
	ReaderOptions []rdb.Option // for reading the sources (rdb.WithoutChecksum, ...)
}

type engine struct {
	o        Options
	ep       *redisurl.Endpoint
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

// Restore writes the keys of the inputs into the target, in order (see
// FileInputs for files).
func Restore(ctx context.Context, sources []Input, o Options) (*Report, error) {
	start := time.Now()
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Pipeline <= 0 {
		o.Pipeline = 256
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
			if !slices.Equal(cp.Sources, names(sources)) {
				return nil, fmt.Errorf("checkpoint %s is for sources %q, not %q: remove it to start over", o.Checkpoint, cp.Sources, names(sources))
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
	// A checkpoint saved before the first periodic read of the target
	// (a target killed in the first second) still records a state.
	e.cpState = before
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
func (e *engine) trySync(sources []Input, start time.Time) (done bool, err error) {
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
