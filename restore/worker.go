package restore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
)

type worker struct {
	e  *engine
	n  *node
	ch chan *job
	c  *conn
}

// pend is a reply the reader goroutine expects, or a barrier.
type pend struct {
	j       *job
	kind    byte // 's' SELECT, 'a' ASKING, 'r' RESTORE
	barrier chan struct{}
}

// run writes commands as jobs arrive while a second goroutine reads the
// replies, so the connection is never idle waiting for a round trip.
func (w *worker) run() {
	e := w.e
	defer e.wg.Done()
	pq := make(chan pend, e.o.Pipeline)
	readerDone := make(chan struct{})
	started := false
	defer func() {
		close(pq)
		if started {
			<-readerDone
		}
		if w.c != nil {
			w.c.close()
		}
	}()
	push := func(p pend) bool {
		select {
		case pq <- p:
			return true
		default:
		}
		if err := w.c.flush(); err != nil {
			w.fail(err)
			return false
		}
		select {
		case pq <- p:
			return true
		case <-e.ctx.Done():
			return false
		}
	}
	var ttl, extra []byte
	abs := e.tgtMajor >= 5 || e.valkey
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for {
		// Batch writes: flush only when no job arrives for a moment (or the
		// buffer fills, or the reply queue is full), not after each job.
		var j *job
		var ok bool
		select {
		case j, ok = <-w.ch:
		default:
			if w.c != nil && w.c.bw.Buffered() > 0 {
				idle.Reset(200 * time.Microsecond)
				select {
				case j, ok = <-w.ch:
				case <-idle.C:
					if err := w.c.flush(); err != nil {
						w.fail(err)
					}
					j, ok = <-w.ch
				}
				if !idle.Stop() {
					select {
					case <-idle.C:
					default:
					}
				}
			} else {
				j, ok = <-w.ch
			}
		}
		if !ok {
			break
		}
		if e.ctx.Err() != nil {
			e.finish(j)
			continue
		}
		if w.c == nil {
			c, err := dial(e.ctx, w.n.addr, e.ep)
			if err != nil {
				w.fail(err)
				e.finish(j)
				continue
			}
			w.c = c
			started = true
			go w.reader(pq, readerDone)
		}
		if j.kind == jobCommands {
			// Wait until every reply is in, then own the connection.
			if err := w.c.flush(); err != nil {
				w.fail(err)
				e.finish(j)
				continue
			}
			b := make(chan struct{})
			if !push(pend{barrier: b}) {
				e.finish(j)
				continue
			}
			select {
			case <-b:
			case <-e.ctx.Done():
				e.finish(j)
				continue
			}
			if w.selectDB(j.db) {
				err := w.c.flush()
				var r reply
				if err == nil {
					r, err = w.c.read()
				}
				if err == nil {
					err = r.err()
				}
				if err != nil {
					w.fail(fmt.Errorf("SELECT %d: %v", j.db, err))
					e.finish(j)
					continue
				}
			}
			w.commandJob(j)
			continue
		}
		c := w.c
		if w.selectDB(j.db) && !push(pend{j: j, kind: 's'}) {
			e.finish(j)
			continue
		}
		if j.ask != "" {
			c.write(bASKING)
			if !push(pend{j: j, kind: 'a'}) {
				e.finish(j)
				continue
			}
		}
		at := j.expireAt
		if at != 0 && !abs {
			at -= time.Now().UnixMilli()
			if at <= 0 {
				at = 1
			}
		}
		ttl = strconv.AppendInt(ttl[:0], at, 10)
		if j.kind == jobSet {
			args := [][]byte{bSET, j.key, j.payload}
			if j.expireAt != 0 {
				args = append(args, bPXAT, ttl)
			}
			if !(j.replace || e.o.Conflict == Replace) {
				args = append(args, bNX)
			}
			c.write(args...)
			if !push(pend{j: j, kind: 'r'}) {
				e.finish(j)
			}
			continue
		}
		args := [][]byte{bRESTORE, j.key, ttl, j.payload}
		if j.expireAt != 0 && abs {
			args = append(args, bABSTTL)
		}
		if abs {
			if j.idle >= 0 {
				extra = strconv.AppendInt(extra[:0], j.idle, 10)
				args = append(args, bIDLETIME, extra)
			} else if j.freq >= 0 {
				extra = strconv.AppendInt(extra[:0], int64(j.freq), 10)
				args = append(args, bFREQ, extra)
			}
		}
		if j.replace || e.o.Conflict == Replace {
			args = append(args, bREPLACE)
		}
		c.write(args...)
		if !push(pend{j: j, kind: 'r'}) {
			e.finish(j)
		}
	}
	if w.c != nil && e.ctx.Err() == nil {
		if err := w.c.flush(); err != nil {
			w.fail(err)
		}
	}
}

// fail stops the run on a connection error; unacknowledged jobs stay
// for a resume.
func (w *worker) fail(err error) {
	w.e.abort(fmt.Errorf("%s: %w", w.n.addr, err))
}

// reader reads the replies of what run wrote, in order.
func (w *worker) reader(pq chan pend, done chan struct{}) {
	defer close(done)
	e := w.e
	broken := false
	for p := range pq {
		if p.barrier != nil {
			close(p.barrier)
			continue
		}
		if broken || e.ctx.Err() != nil {
			broken = true
			if p.kind == 'r' {
				e.finish(p.j)
			}
			continue
		}
		r, err := w.c.read()
		if err != nil {
			broken = true
			w.fail(err)
			if p.kind == 'r' {
				e.finish(p.j)
			}
			continue
		}
		switch p.kind {
		case 's':
			if r.err() != nil {
				broken = true
				w.fail(fmt.Errorf("SELECT %d: %v", p.j.db, r.err()))
			}
		case 'r':
			w.restoreReply(p.j, r)
		}
	}
}

var (
	bRESTORE  = []byte("RESTORE")
	bABSTTL   = []byte("ABSTTL")
	bIDLETIME = []byte("IDLETIME")
	bFREQ     = []byte("FREQ")
	bREPLACE  = []byte("REPLACE")
	bSELECT   = []byte("SELECT")
	bASKING   = []byte("ASKING")
	bSET      = []byte("SET")
	bPXAT     = []byte("PXAT")
	bNX       = []byte("NX")
)

func (w *worker) selectDB(db int) bool {
	if w.e.cluster || w.c.db == db {
		return false
	}
	w.c.write(bSELECT, strconv.AppendInt(nil, int64(db), 10))
	w.c.db = db
	return true
}

func (w *worker) restoreReply(j *job, r reply) {
	e := w.e
	if r.kind != '-' {
		if j.kind == jobSet && r.null { // SET NX: the key exists
			r = reply{kind: '-', str: []byte("BUSYKEY")}
		} else {
			e.done(j, true, "", "", false)
			return
		}
	}
	msg := string(r.str)
	switch {
	case strings.HasPrefix(msg, "BUSYKEY"):
		if e.o.Conflict == SkipExisting && !j.replace {
			e.done(j, false, "exists in the target (--skip-existing)", "", false)
		} else {
			e.done(j, false, "", "the key exists in the target (use --replace or --skip-existing)", false)
		}
	case strings.HasPrefix(msg, "MOVED ") || strings.HasPrefix(msg, "ASK ") || strings.HasPrefix(msg, "TRYAGAIN") || strings.HasPrefix(msg, "CLUSTERDOWN"):
		w.redirect(j, msg)
	case strings.HasPrefix(msg, "OOM"):
		e.done(j, false, "", "the target is out of memory: "+msg, false)
	case j.typ == rdb.TypeModule && (strings.Contains(msg, "Bad data format") || strings.Contains(msg, "payload")):
		e.done(j, false, "", fmt.Sprintf("module value: the target cannot load it (is the module loaded there?): %s", msg), false)
	default:
		e.done(j, false, "", "RESTORE: "+msg, false)
	}
}

// redirect follows MOVED and ASK the way cluster clients do: MOVED
// refreshes the slot map and resends, ASK resends once to the named node
// after ASKING.
func (w *worker) redirect(j *job, msg string) {
	e := w.e
	j.tries++
	if j.tries > 16 || !e.cluster {
		e.done(j, false, "", "cluster redirection did not settle: "+msg, false)
		return
	}
	f := strings.Fields(msg)
	j.ask = ""
	switch f[0] {
	case "MOVED":
		if c, err := dial(e.ctx, f[2], e.ep); err == nil {
			e.slots.load(c)
			c.close()
		}
	case "ASK":
		j.ask = f[2]
	default:
		time.Sleep(time.Duration(j.tries) * 50 * time.Millisecond)
	}
	go e.dispatch(j)
}

var errStop = errors.New("stop")

// commandJob builds a value with commands under a temporary key in the
// key's slot, then renames it into place: no reader sees half a key.
func (w *worker) commandJob(j *job) {
	e := w.e
	c := w.c
	tmp := tempKey(j.key, j.srcIdx, j.off)
	pending := 0
	var firstErr string
	var ioErr error
	readAll := func() {
		for ; pending > 0; pending-- {
			r, err := c.read()
			if err != nil {
				ioErr = err
				return
			}
			if r.kind == '-' && firstErr == "" {
				firstErr = string(r.str)
			}
		}
	}
	send := func(args ...[]byte) {
		if ioErr != nil {
			return
		}
		c.write(args...)
		pending++
		if pending >= e.o.Pipeline {
			if ioErr = c.flush(); ioErr == nil {
				readAll()
			}
		}
	}
	send([]byte("DEL"), tmp)
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
		send(args...)
		if first {
			first = false
			send([]byte("PEXPIRE"), tmp, []byte("86400000")) // a safety net until the RENAME
		}
		if ioErr != nil || firstErr != "" {
			return errStop
		}
		return nil
	})
	if ioErr == nil {
		if ioErr = c.flush(); ioErr == nil {
			readAll()
		}
	}
	if ioErr != nil {
		w.fail(ioErr)
		e.finish(j)
		return
	}
	cleanup := func() {
		c.do("DEL", tmp)
	}
	switch {
	case strings.HasPrefix(firstErr, "MOVED ") || strings.HasPrefix(firstErr, "ASK ") || strings.HasPrefix(firstErr, "TRYAGAIN") || strings.HasPrefix(firstErr, "CLUSTERDOWN"):
		if strings.HasPrefix(firstErr, "ASK ") {
			firstErr = "TRYAGAIN"
		}
		w.redirect(j, firstErr)
		return
	case firstErr != "":
		cleanup()
		reason := firstErr
		if strings.HasPrefix(firstErr, "OOM") {
			reason = "the target is out of memory: " + firstErr
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
		send([]byte("PEXPIREAT"), tmp, strconv.AppendInt(nil, j.expireAt, 10))
	} else {
		send([]byte("PERSIST"), tmp)
	}
	nx := !(j.replace || e.o.Conflict == Replace)
	if nx {
		send([]byte("RENAMENX"), tmp, j.key)
	} else {
		send([]byte("RENAME"), tmp, j.key)
	}
	if ioErr = c.flush(); ioErr != nil {
		w.fail(ioErr)
		e.finish(j)
		return
	}
	var last reply
	for ; pending > 0; pending-- {
		if last, ioErr = c.read(); ioErr != nil {
			w.fail(ioErr)
			e.finish(j)
			return
		}
		if pending > 1 && last.kind == '-' && firstErr == "" {
			firstErr = string(last.str)
		}
	}
	switch {
	case last.kind == '-' && strings.Contains(string(last.str), "no such key"):
		e.done(j, false, "expired before the restore", "", false)
	case last.kind == '-':
		cleanup()
		e.done(j, false, "", "RENAME: "+string(last.str), false)
	case nx && last.n == 0:
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
