package restore

import (
	"context"
	"sync"

	"github.com/rdbtool/rdbtool/rdb"
)

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
