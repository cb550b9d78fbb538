package restore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
)

// worker writes the jobs of its channel in go-redis pipelines: every job
// waiting when the previous pipeline returns goes into the next one (up to
// e.batch commands), so the pipeline stays full while the server is the
// bottleneck, and there is no waiting for more work when it is not.
//
// Plain strings that may be overwritten (job.msetOK) are gathered into
// MSET commands of up to msetKeys keys or msetBytes bytes, which saves the
// server its per-command work (about a tenth of its time for small
// strings; the rest is per key, as when it loads the file) and the client
// most of its per-command work. An MSET is one command: its keys are
// acknowledged (or fail) together, and a checkpoint covers all of them or
// none.
//
// A pipeline holds the keys of one target database and one (source,
// source database) group: keys are unique within a group, so an MSET,
// which goes into the pipeline where it is closed rather than where its
// first key was, never reorders two writes of one key.
type worker struct {
	e    *engine
	ch   chan *job
	db   int    // database of the batch (standalone)
	grp  [2]int // source and source database of the batch
	jobs []*job // the batch's keys, in command order
	ends []int  // cmds[i] writes jobs[ends[i-1]:ends[i]]
	cmds []redis.Cmder
	args []any // the batch's arguments, reused from batch to batch
	pipe map[int]redis.Pipeliner

	// the open MSET
	ms      []*job
	msArgs  []any
	msBytes int
}

// MSET batches: up to msetKeys keys and about msetBytes of values each
// (variables for the benchmark; msetKeys 0 turns MSET off).
var (
	msetKeys  = 128
	msetBytes = 1 << 20
)

func (w *worker) run() {
	e := w.e
	defer e.wg.Done()
	w.pipe = map[int]redis.Pipeliner{}
	w.args = make([]any, 0, 9*e.batch)
	for {
		j, ok := <-w.ch
		if !ok {
			return
		}
		w.add(j)
	drain:
		for w.pending() < e.batch {
			select {
			case j, ok = <-w.ch:
				if !ok {
					w.exec()
					return
				}
				w.add(j)
			default:
				break drain
			}
		}
		w.exec()
	}
}

// pending is the number of commands of the batch, the open MSET included.
func (w *worker) pending() int {
	n := len(w.cmds)
	if len(w.ms) > 0 {
		n++
	}
	return n
}

// add queues a job's command, or runs a command-path job after what is
// queued.
func (w *worker) add(j *job) {
	e := w.e
	if e.ctx.Err() != nil {
		e.finish(j)
		return
	}
	if j.kind == jobCommands {
		w.exec()
		w.commandJob(j)
		return
	}
	if grp := [2]int{j.srcIdx, j.srcDB}; w.pending() > 0 && (grp != w.grp || (j.db != w.db && !e.cluster)) {
		w.exec()
	}
	w.db, w.grp = j.db, [2]int{j.srcIdx, j.srcDB}
	if j.msetOK && !e.noMSet.Load() {
		w.addMSet(j)
		return
	}
	w.addCmd(j)
}

// addCmd queues a job's own command.
func (w *worker) addCmd(j *job) {
	cmd := redis.NewStatusCmd(w.e.ctx, w.writeArgs(j)...)
	cmd.SetFirstKeyPos(1) // saves go-redis's cluster routing a command-table lookup
	w.jobs = append(w.jobs, j)
	w.cmds = append(w.cmds, cmd)
	w.ends = append(w.ends, len(w.jobs))
}

// addMSet adds a plain string to the open MSET.
func (w *worker) addMSet(j *job) {
	if len(w.ms) == 0 {
		w.msArgs = make([]any, 1, 1+2*msetKeys)
		w.msArgs[0] = "MSET"
	}
	j.viaMSet = true
	w.ms = append(w.ms, j)
	w.msArgs = append(w.msArgs, j.key, j.payload)
	w.msBytes += len(j.key) + len(j.payload)
	if len(w.ms) >= msetKeys || w.msBytes >= msetBytes {
		w.closeMSet()
	}
}

// closeMSet queues the open MSET.
func (w *worker) closeMSet() {
	if len(w.ms) == 0 {
		return
	}
	cmd := redis.NewStatusCmd(w.e.ctx, w.msArgs...)
	cmd.SetFirstKeyPos(1)
	w.jobs = append(w.jobs, w.ms...)
	w.cmds = append(w.cmds, cmd)
	w.ends = append(w.ends, len(w.jobs))
	clear(w.ms)
	w.ms, w.msArgs, w.msBytes = w.ms[:0], nil, 0
}

// writeArgs are RESTORE key ttl payload [ABSTTL] [IDLETIME s|FREQ f]
// [REPLACE], or SET key value [PXAT ms] [NX].
func (w *worker) writeArgs(j *job) []any {
	e := w.e
	abs := e.tgtMajor >= 5 || e.valkey
	replace := j.replace || e.o.Conflict == Replace
	at := j.expireAt
	if at != 0 && !abs {
		at -= time.Now().UnixMilli()
		if at <= 0 {
			at = 1
		}
	}
	a := w.args
	start := len(a)
	if j.kind == jobSet {
		a = append(a, "SET", j.key, j.payload)
		if j.expireAt != 0 {
			a = append(a, "PXAT", at)
		}
		if !replace {
			a = append(a, "NX")
		}
	} else {
		a = append(a, "RESTORE", j.key, at, j.payload)
		if j.expireAt != 0 && abs {
			a = append(a, "ABSTTL")
		}
		if abs {
			if j.idle >= 0 {
				a = append(a, "IDLETIME", j.idle)
			} else if j.freq >= 0 {
				a = append(a, "FREQ", j.freq)
			}
		}
		if replace {
			a = append(a, "REPLACE")
		}
	}
	w.args = a
	return a[start:len(a):len(a)]
}

func (w *worker) pipeliner(db int) redis.Pipeliner {
	p := w.pipe[db]
	if p == nil {
		p = w.e.pipeliner(db).Pipeline()
		w.pipe[db] = p
	}
	return p
}

// exec sends the batch and records each key's reply.
func (w *worker) exec() {
	w.closeMSet()
	if len(w.cmds) == 0 {
		return
	}
	e := w.e
	var retry []*job
	if e.ctx.Err() == nil {
		p := w.pipeliner(w.db)
		p.BatchProcess(e.ctx, w.cmds...)
		p.Exec(e.ctx) // the errors are the commands'
		from := 0
		for i, cmd := range w.cmds {
			to := w.ends[i]
			if js := w.jobs[from:to]; js[0].viaMSet {
				retry = w.replyMSet(js, cmd.Err(), retry)
			} else {
				w.reply(js[0], cmd.Err())
			}
			from = to
		}
	} else {
		for _, j := range w.jobs {
			e.finish(j)
		}
	}
	clear(w.cmds)
	clear(w.jobs)
	clear(w.args)
	w.cmds, w.jobs, w.args, w.ends = w.cmds[:0], w.jobs[:0], w.args[:0], w.ends[:0]
	if len(retry) > 0 {
		// The batch held one group's keys, each once: sending these
		// again after it reorders nothing.
		for _, j := range retry {
			j.viaMSet = false
			w.addCmd(j)
		}
		w.exec()
	}
}

// replyMSet records the outcome of an MSET for each of its keys. An MSET
// the server refused as a whole for want of permission (an ACL allowing
// SET but not MSET, or not all of its keys) wrote nothing: its keys are
// returned to be sent again one by one.
func (w *worker) replyMSet(js []*job, err error, retry []*job) []*job {
	e := w.e
	if err == nil {
		for _, j := range js {
			e.done(j, true, "", "", false)
		}
		return retry
	}
	msg, isReply := redisErr(err)
	if !isReply || e.ctx.Err() != nil {
		w.fail(err)
		for _, j := range js {
			e.finish(j)
		}
		return retry
	}
	if refused, always := msetRefused(err); refused {
		if always {
			e.noMSet.Store(true)
			e.note(fmt.Sprintf("MSET refused (%s): plain strings are written key by key", msg))
		}
		return append(retry, js...)
	}
	reason := "MSET: " + msg
	switch {
	case strings.HasPrefix(msg, "OOM"):
		reason = "the target is out of memory: " + msg
	case redirection(msg):
		reason = "cluster redirection did not settle: " + msg
	}
	for _, j := range js {
		e.done(j, false, "", reason, false)
	}
	return retry
}

// msetRefused tells an MSET the server will not run for some of its keys
// (NOPERM: the ACL user may not write them), and whether it will not run
// at all: this user may not use MSET, or the server does not know it
// (renamed away).
func msetRefused(err error) (refused, always bool) {
	msg, ok := redisErr(err)
	switch {
	case !ok:
		return false, false
	case strings.HasPrefix(msg, "ERR unknown command"):
		return true, true
	case strings.HasPrefix(msg, "NOPERM"):
		// "... no permissions to run the 'mset' command" or
		// "... no permissions to access a key"
		return true, strings.Contains(msg, "command")
	}
	return false, false
}

// fail stops the run on a connection error; unacknowledged jobs stay
// for a resume.
func (w *worker) fail(err error) {
	w.e.abort(fmt.Errorf("%s: %w", w.e.ep.Addr, err))
}

// reply records the outcome of a RESTORE or SET.
func (w *worker) reply(j *job, err error) {
	e := w.e
	if err == nil {
		e.done(j, true, "", "", false)
		return
	}
	msg, isReply := redisErr(err)
	if errors.Is(err, redis.Nil) && j.kind == jobSet { // SET NX: the key exists
		msg, isReply = "BUSYKEY", true
	}
	if !isReply || e.ctx.Err() != nil {
		w.fail(err)
		e.finish(j)
		return
	}
	switch {
	case strings.HasPrefix(msg, "BUSYKEY"):
		if e.o.Conflict == SkipExisting && !j.replace {
			e.done(j, false, "exists in the target (--skip-existing)", "", false)
		} else {
			e.done(j, false, "", "the key exists in the target (use --replace or --skip-existing)", false)
		}
	case redirection(msg):
		// go-redis follows MOVED and ASK, and retries TRYAGAIN and
		// CLUSTERDOWN: what comes back did not settle.
		e.done(j, false, "", "cluster redirection did not settle: "+msg, false)
	case strings.HasPrefix(msg, "OOM"):
		e.done(j, false, "", "the target is out of memory: "+msg, false)
	case j.typ == rdb.TypeModule && (strings.Contains(msg, "Bad data format") || strings.Contains(msg, "payload")):
		e.done(j, false, "", fmt.Sprintf("module value: the target cannot load it (is the module loaded there?): %s", msg), false)
	default:
		e.done(j, false, "", "RESTORE: "+msg, false)
	}
}

func redirection(msg string) bool {
	return strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "TRYAGAIN") || strings.HasPrefix(msg, "CLUSTERDOWN")
}

var errStop = errors.New("stop")

// cmdBatchBytes bounds the argument bytes of one command-path pipeline
// (the generator's buffers are copied, as it reuses them).
const cmdBatchBytes = 16 << 20

// commandJob builds a value with commands under a temporary key in the
// key's slot, then renames it into place: no reader sees half a key.
func (w *worker) commandJob(j *job) {
	e := w.e
	if e.ctx.Err() != nil {
		e.finish(j)
		return
	}
	tmp := tempKey(j.key, j.srcIdx, j.off)
	b := &cmdBatch{e: e, p: w.pipeliner(j.db)}
	b.queue([]any{"DEL", tmp})
	rd, err := rdb.NewDumpReader(j.payload)
	var rec *rdb.Record
	if err == nil {
		rec, err = rd.Next()
	}
	if err != nil {
		e.done(j, false, "", "decoding its payload: "+err.Error(), false)
		return
	}
	copts := e.cmdOpts()
	first := true
	st, genErr := export.ValueCommands(rd, rec, tmp, copts, func(args [][]byte) error {
		b.send(args...)
		if first {
			first = false
			b.queue([]any{"PEXPIRE", tmp, "86400000"}) // a safety net until the RENAME
		}
		if b.ioErr != nil || b.firstErr != "" {
			return errStop
		}
		return nil
	})
	b.exec()
	if b.ioErr != nil {
		w.fail(b.ioErr)
		e.finish(j)
		return
	}
	cleanup := func() {
		e.pipeliner(j.db).Del(e.ctx, string(tmp))
	}
	switch {
	case redirection(b.firstErr):
		cleanup()
		e.done(j, false, "", "cluster redirection did not settle: "+b.firstErr, false)
		return
	case b.firstErr != "":
		cleanup()
		reason := b.firstErr
		if strings.HasPrefix(b.firstErr, "OOM") {
			reason = "the target is out of memory: " + b.firstErr
		}
		e.done(j, false, "", "building the value with commands: "+reason, false)
		return
	case genErr != nil && genErr != errStop:
		cleanup()
		refused := errors.Is(genErr, export.ErrFieldTTL) || errors.Is(genErr, export.ErrModule)
		e.done(j, false, "", genErr.Error(), refused)
		return
	case st.Commands == 0:
		e.done(j, false, "every hash field had expired", "", false)
		return
	}
	if st.LostPending > 0 {
		e.note(fmt.Sprintf("stream %q: %d pending entries refer to deleted entries and cannot be recreated with XCLAIM", j.key, st.LostPending))
	}
	if j.expireAt != 0 {
		b.queue([]any{"PEXPIREAT", tmp, j.expireAt})
	} else {
		b.queue([]any{"PERSIST", tmp})
	}
	nx := !(j.replace || e.o.Conflict == Replace)
	if nx {
		b.cmds = append(b.cmds, redis.NewCmd(e.ctx, "RENAMENX", tmp, j.key))
	} else {
		b.cmds = append(b.cmds, redis.NewCmd(e.ctx, "RENAME", tmp, j.key))
	}
	// The RENAME is the last reply; an error before it is firstErr.
	renameErr := func() error {
		b.exec()
		return b.last.Err()
	}()
	if b.ioErr != nil {
		w.fail(b.ioErr)
		e.finish(j)
		return
	}
	rmsg, _ := redisErr(renameErr)
	switch {
	case renameErr != nil && strings.Contains(rmsg, "no such key"):
		e.done(j, false, "expired before the restore", "", false)
	case renameErr != nil:
		cleanup()
		e.done(j, false, "", "RENAME: "+rmsg, false)
	case nx && intVal(b.last) == 0:
		cleanup()
		if e.o.Conflict == SkipExisting {
			e.done(j, false, "exists in the target (--skip-existing)", "", false)
		} else {
			e.done(j, false, "", "the key exists in the target (use --replace or --skip-existing)", false)
		}
	default:
		e.done(j, true, "", "", false)
	}
}

// cmdBatch is the pipeline that builds one value with commands: commands
// are queued and sent Options.Pipeline (or cmdBatchBytes of arguments) at
// a time. The first error reply is kept in firstErr; a broken connection
// in ioErr stops further sends.
type cmdBatch struct {
	e        *engine
	p        redis.Pipeliner
	cmds     []redis.Cmder
	arena    []byte // the queued commands' arguments
	firstErr string
	ioErr    error
	last     *redis.Cmd // the last command sent
}

// exec sends the queued commands and reads their replies.
func (b *cmdBatch) exec() {
	e := b.e
	if len(b.cmds) == 0 || b.ioErr != nil {
		return
	}
	b.p.BatchProcess(e.ctx, b.cmds...)
	b.p.Exec(e.ctx)
	for _, c := range b.cmds {
		err := c.Err()
		if err == nil || errors.Is(err, redis.Nil) {
			continue
		}
		if msg, ok := redisErr(err); ok && e.ctx.Err() == nil {
			if b.firstErr == "" {
				b.firstErr = msg
			}
			continue
		}
		b.ioErr = err
		break
	}
	b.last = b.cmds[len(b.cmds)-1].(*redis.Cmd)
	clear(b.cmds)
	b.cmds, b.arena = b.cmds[:0], b.arena[:0]
}

// queue adds a command, sending the batch when it is full.
func (b *cmdBatch) queue(args []any) {
	c := redis.NewCmd(b.e.ctx, args...)
	if s, _ := args[0].(string); s == "XGROUP" {
		c.SetFirstKeyPos(2)
	}
	b.cmds = append(b.cmds, c)
	if len(b.cmds) >= b.e.o.Pipeline || len(b.arena) >= cmdBatchBytes {
		b.exec()
	}
}

// send queues a command given as byte slices, copied into the arena.
func (b *cmdBatch) send(args ...[]byte) {
	if b.ioErr != nil {
		return
	}
	ia := make([]any, len(args))
	for i, a := range args {
		if i == 0 {
			ia[0] = cmdName(a)
			continue
		}
		s := len(b.arena)
		b.arena = append(b.arena, a...)
		ia[i] = b.arena[s:len(b.arena):len(b.arena)]
	}
	b.queue(ia)
}

func intVal(c *redis.Cmd) int64 {
	n, _ := c.Int64()
	return n
}

// cmdNames interns the generator's command names: go-redis routes and
// names a command by its first argument, as a string.
var cmdNames = map[string]string{}

func init() {
	for _, s := range []string{"SET", "APPEND", "RPUSH", "SADD", "ZADD", "HSET", "HPEXPIREAT", "XADD", "XSETID", "XGROUP", "XCLAIM"} {
		cmdNames[s] = s
	}
}

func cmdName(b []byte) string {
	if s, ok := cmdNames[string(b)]; ok {
		return s
	}
	return string(b)
}

// cmdOpts are the command-path settings for this target.
func (e *engine) cmdOpts() export.CommandOptions {
	mb := e.o.ChunkBytes
	if mb <= 0 {
		mb = 1 << 20
	}
	if half := int(e.maxPay / 2); half > 0 && mb > half {
		mb = half
	}
	return export.CommandOptions{
		MaxElements: e.o.ChunkElements, MaxBytes: mb,
		FieldTTLs: e.tgtVer >= 12, DropFieldTTLs: e.o.Policy&rdb.DropFieldTTLs != 0,
		StreamMeta70: e.tgtVer >= 10,
	}
}
