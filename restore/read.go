package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// Reasons keys are skipped for.
const (
	skipModule = "module value (--skip-modules)"
	skipEmpty  = "empty collection (a server skips it when loading)"
)

func (e *engine) readAll(sources []Input) error {
	go e.wakeOnCancel()
	first := 0
	if e.cp != nil {
		first = e.cp.Source
	}
	e.databases()
	for i := first; i < len(sources); i++ {
		if err := e.readSource(i, sources[i]); err != nil {
			return err
		}
		if e.ctx.Err() != nil {
			return context.Cause(e.ctx)
		}
	}
	return nil
}

// databases reads how many databases a standalone target has.
func (e *engine) databases() {
	if e.cluster {
		e.ndb = 1
		return
	}
	e.ndb = 16
	if v, ok := configGet(e, e.client(e.ep.DB), "databases"); ok {
		e.ndb = int(v)
	}
}

// rawCompatible reports whether the target loads payloads of the source's
// own RDB version.
func (e *engine) rawCompatible(d rdb.Dialect, v int) bool {
	if e.tgtVer >= 80 { // Valkey 9: its own 80, and Redis formats up to 11
		return (d == rdb.DialectValkey && v <= e.tgtVer) || (d == rdb.DialectRedis && v <= 11)
	}
	return d == rdb.DialectRedis && v <= e.tgtVer
}

func (e *engine) readSource(idx int, in Input) error {
	name := in.Name
	src, size, err := in.Open(e.ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	opts := append([]rdb.Option{rdb.WithName(name)}, e.o.ReaderOptions...)
	var off, hw int64
	if e.cp != nil && idx == e.cp.Source && e.cp.Offset > 0 {
		off, hw = e.cp.Offset, e.cp.HighWater
		if _, err := io.CopyN(io.Discard, src, off); err != nil {
			return fmt.Errorf("%s: skipping to the checkpoint offset %d: %v", name, off, err)
		}
		opts = append(opts, rdb.Resume(rdb.Dialect(e.cp.Dialect), e.cp.RDBVersion, e.cp.DB, off))
		e.srcDialect, e.srcVer = rdb.Dialect(e.cp.Dialect), e.cp.RDBVersion
		if size >= 0 {
			size -= off
		}
	}
	opts = append(opts, rdb.WithSize(size))
	r := rdb.NewReader(src, opts...)
	e.trk.newSource(idx, off)
	if hw > e.trk.hiWater {
		e.trk.hiWater = hw
	}
	copts := e.cmdOpts()
	raw := false
	started := false
	curDB := 0
	t0 := time.Now()
	var sent int64
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !started {
			started = true
			e.srcDialect, e.srcVer = r.Dialect(), r.Version()
			raw = e.rawCompatible(r.Dialect(), r.Version())
		}
		if err := e.ctx.Err(); err != nil {
			return context.Cause(e.ctx)
		}
		switch rec.Kind {
		case rdb.KindSelectDB:
			curDB = rec.DB
		case rdb.KindFunction:
			if rec.Offset >= hw {
				e.loadFunction(name, rec)
			}
		case rdb.KindModuleAux:
			e.note("module aux data in the snapshot is not restored (only module keys are, by RESTORE)")
		case rdb.KindKey:
			if err := e.key(idx, name, r, rec, raw, hw, &copts); err != nil {
				return err
			}
			if e.o.Rate > 0 {
				sent++
				want := time.Duration(float64(sent) / e.o.Rate * float64(time.Second))
				if d := want - time.Since(t0); d > 0 {
					time.Sleep(d)
				}
			}
			continue
		}
		e.trk.advance(r.Offset(), curDB)
	}
}

// key handles one key record.
func (e *engine) key(idx int, name string, r *rdb.Reader, rec *rdb.Record, raw bool, hw int64, copts *export.CommandOptions) error {
	keep := e.o.Filter == nil || e.o.Filter(rec)
	if !keep {
		if err := r.Skip(); err != nil {
			return err
		}
		e.trk.advance(rec.Offset+rec.Size, rec.DB)
		return nil
	}
	e.keysRead.Add(1)
	if rec.ExpireAt != 0 && rec.ExpireAt <= time.Now().UnixMilli() {
		if err := r.Skip(); err != nil {
			return err
		}
		e.skip("expired before the restore")
		e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 's', reason: "expired before the restore"})
		return nil
	}
	j := &job{srcName: name, srcIdx: idx, off: rec.Offset, key: append([]byte(nil), rec.Key...), typ: rec.Type,
		expireAt: rec.ExpireAt, idle: rec.Idle, freq: rec.Freq}
	j.db, j.srcDB = e.targetDB(rec.DB), rec.DB
	j.replace = e.o.Conflict == Replace || rec.Offset < hw
	refuse := func(reason string) error {
		if err := r.Skip(); err != nil {
			return err
		}
		e.issue(name, j.db, j.key, reason, true)
		e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 'r'})
		return nil
	}
	if e.cluster && j.db != 0 {
		return refuse(fmt.Sprintf("database %d: a cluster has only database 0 (map it with --map-db %d:0)", j.db, rec.DB))
	}
	if j.db >= e.ndb {
		return refuse(fmt.Sprintf("database %d: the target has %d databases", j.db, e.ndb))
	}
	if rec.Type == rdb.TypeModule && e.o.SkipModules {
		if err := r.Skip(); err != nil {
			return err
		}
		e.skip(skipModule)
		e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 's', reason: skipModule})
		return nil
	}
	// Plain strings: SET key value PXAT is the cheapest write for the
	// server (RESTORE costs it a payload check and decode per key).
	// Before 6.2 (no PXAT) only strings without TTL, which may go in MSETs.
	if rec.Type == rdb.TypeString && e.o.Mode == Auto && rec.Idle < 0 && rec.Freq < 0 && len(rec.KeyMeta) == 0 && (e.setPXAT() || (e.mset && rec.ExpireAt == 0)) {
		return e.stringJob(j, r, rec)
	}
	// The payload: as stored when the target loads this RDB version.
	var payload []byte
	if n, ok := r.Len(); ok && n == 0 {
		if err := r.Skip(); err != nil {
			return err
		}
		e.skip(skipEmpty)
		e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 's', reason: skipEmpty})
		return nil
	}
	if raw && len(rec.KeyMeta) == 0 {
		var err error
		if payload, err = rawPayload(r, e.srcVer); err != nil {
			return err
		}
		if emptyPayload(rec.Type, payload) {
			e.skip(skipEmpty)
			e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 's', reason: skipEmpty})
			return nil
		}
	}
	if payload == nil {
		p, err := rdb.EncodeDumpFrom(r, rec, rdb.WriterOptions{Target: e.target, NoCompression: true, Policy: e.o.Policy})
		if errors.Is(err, rdb.ErrEmptyCollection) {
			e.skip(skipEmpty)
			e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 's', reason: skipEmpty})
			return nil
		}
		if errors.Is(err, rdb.ErrAllFieldsExpired) {
			e.skip("every hash field had expired")
			e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 's', reason: "every hash field had expired"})
			return nil
		}
		if err != nil {
			if errors.Is(err, rdb.ErrUnsupported) {
				e.issue(name, j.db, j.key, rewrite.Classify(rec, rdb.WriterOptions{Target: e.target, Policy: e.o.Policy}).String(), true)
				if err := r.Skip(); err != nil {
					return err
				}
				e.settle(rec.Offset, rec.DB, rec.Offset+rec.Size, outcome{kind: 'r'})
				return nil
			}
			return err
		}
		payload, j.reenc = p, true
	}
	end := rec.Offset + rec.Size
	if rec.Size == 0 {
		end = r.Offset()
	}
	switch {
	case rec.Type == rdb.TypeModule && int64(len(payload)) > e.maxPay:
		e.issue(name, j.db, j.key, fmt.Sprintf("module value of %d bytes exceeds the target's proto-max-bulk-len (%d) and has no command form", len(payload), e.maxPay), false)
		e.settle(rec.Offset, rec.DB, end, outcome{kind: 'f'})
		return nil
	case rec.Type != rdb.TypeModule && (e.o.Mode == Commands || int64(len(payload)) > e.maxPay):
		j.kind = jobCommands
	}
	if j.kind == jobCommands && rec.Type == rdb.TypeHash && !copts.FieldTTLs && !copts.DropFieldTTLs && payloadHasFieldTTLs(payload) {
		e.issue(name, j.db, j.key, fmt.Sprintf("hash field TTLs need Redis 7.4 or later (target RDB %d); --drop-field-ttls keeps the fields without TTLs", e.tgtVer), true)
		e.settle(rec.Offset, rec.DB, end, outcome{kind: 'r'})
		return nil
	}
	j.payload = payload
	return e.send(j, rec.Offset, rec.DB, end)
}

// stringJob sends a plain string with SET (or in an MSET), or by commands
// from a re-encoded payload when it is too big for one command.
func (e *engine) stringJob(j *job, r *rdb.Reader, rec *rdb.Record) error {
	v, err := r.ReadString()
	if err != nil {
		return err
	}
	if int64(len(v)) <= e.maxPay/2 {
		j.kind, j.payload = jobSet, append([]byte(nil), v...)
		r.Skip()
		return e.send(j, rec.Offset, rec.DB, rec.Offset+rec.Size)
	}
	// too big for one command: re-encode, then the command path
	p, err := rdb.EncodeDump(&rdb.Value{Type: rdb.TypeString, String: v}, rdb.WriterOptions{Target: e.target, NoCompression: true})
	if err != nil {
		return err
	}
	j.kind, j.payload, j.reenc = jobCommands, p, true
	r.Skip()
	return e.send(j, rec.Offset, rec.DB, rec.Offset+rec.Size)
}

// emptyPayload reports whether a stored collection holds no element
// (RESTORE refuses it as "Bad data format"; a server loading the file
// skips it). Only tiny payloads can be empty (an empty ziplist, the
// largest empty form, makes a payload of 23 bytes): larger ones are not
// read.
func emptyPayload(t rdb.Type, payload []byte) bool {
	switch t {
	case rdb.TypeList, rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash:
	default:
		return false
	}
	if len(payload) > 24 {
		return false
	}
	r, err := rdb.NewDumpReader(payload)
	if err != nil {
		return false
	}
	if _, err := r.Next(); err != nil {
		return false
	}
	_, err = r.NextElement()
	return err == io.EOF
}

// send hands a job to its worker.
func (e *engine) send(j *job, off int64, db int, end int64) error {
	if e.mset {
		j.msetOK = j.kind == jobSet && j.expireAt == 0 && (j.replace || e.ownsDB(j))
	}
	if !e.inflight.acquire(e.ctx, int64(len(j.payload))) {
		return context.Cause(e.ctx)
	}
	e.jobs.Add(1)
	j.seq = e.trk.add(off, db, end)
	e.dispatch(j)
	return nil
}

// ownsDB says whether no (source, source database) other than the job's
// has sent keys to its target database, in a run that found the target
// empty: then no key of the job's group can exist in the target before it
// is written (a valid RDB file holds a key once per database), and an MSET,
// which overwrites, is as safe as SET NX. Keys of a second group, as
// several sources or --map-db can give, go on with SET NX and are reported
// when they exist. (The reader sees the groups one after the other and
// never returns to one.)
//
// --replace, and keys an interrupted run may have written (j.replace),
// overwrite anyway; --skip-existing never uses MSET (e.mset is false).
func (e *engine) ownsDB(j *job) bool {
	if !e.emptyAtRun {
		return false
	}
	g := [3]int{j.srcIdx, j.srcDB, j.db}
	if g == e.lastGroup && e.lastGroupSet {
		return e.lastOwns
	}
	if e.dbOwner == nil {
		e.dbOwner = map[int][2]int{}
	}
	own, ok := e.dbOwner[j.db]
	if !ok {
		own = [2]int{j.srcIdx, j.srcDB}
		e.dbOwner[j.db] = own
	}
	e.lastGroup, e.lastGroupSet, e.lastOwns = g, true, own == [2]int{j.srcIdx, j.srcDB}
	return e.lastOwns
}

// setPXAT: the target has SET ... PXAT (6.2+).
func (e *engine) setPXAT() bool {
	return e.valkey || e.tgtMajor > 6 || (e.tgtMajor == 6 && e.tgtMinor >= 2)
}

func payloadHasFieldTTLs(p []byte) bool { return rdb.TypeByteHasFieldTTLs(p[0]) }

// loadFunction loads a function library on every master.
func (e *engine) loadFunction(name string, rec *rdb.Record) {
	code := export.FunctionCode(rec)
	lib := libName(code)
	if e.tgtMajor < 7 && !e.valkey {
		if e.o.Policy&rdb.DropFunctions != 0 {
			e.skip("function library: the target has no functions (before 7.0)")
			return
		}
		e.rep.FunctionsFailed++
		e.issue(name, 0, []byte("function library "+lib), "the target has no functions (before Redis 7.0); --drop-functions leaves them out", true)
		return
	}
	args := []any{"FUNCTION", "LOAD"}
	if e.o.Conflict == Replace || e.cp != nil {
		args = append(args, "REPLACE")
	}
	args = append(args, code)
	errStopLoad := errors.New("stop")
	err := e.eachMaster(func(addr string, c *redis.Client) error {
		err := c.Do(e.ctx, args...).Err()
		if err == nil {
			return nil
		}
		if strings.Contains(err.Error(), "already exists") && e.o.Conflict == SkipExisting {
			e.skip("function library exists in the target")
			return errStopLoad
		}
		e.rep.FunctionsFailed++
		e.issue(name, 0, []byte("function library "+lib), fmt.Sprintf("%s: FUNCTION LOAD: %v", addr, err), false)
		return errStopLoad
	})
	if err == nil {
		e.rep.Functions++
	} else if err != errStopLoad {
		e.rep.FunctionsFailed++
		e.issue(name, 0, []byte("function library "+lib), fmt.Sprintf("FUNCTION LOAD: %v", err), false)
	}
}

func libName(code []byte) string {
	line, _, _ := strings.Cut(string(code), "\n")
	if i := strings.Index(line, "name="); i >= 0 {
		return strings.Fields(line[i+5:] + " ")[0]
	}
	return "?"
}
