package restore

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rdbtool/rdbtool/internal/periodic"
)

// Checkpoint is what --checkpoint FILE holds: where to pick up again.
// Every key of Sources[:Source] and every key of Sources[Source] before
// byte Offset has been acknowledged by the target (or reported as
// skipped/failed); keys from Offset up to HighWater may have been written
// without acknowledgement and are rewritten idempotently (RESTORE ...
// REPLACE, or a temporary key and RENAME) on resume.
type Checkpoint struct {
	FormatVersion int      `json:"format_version"`
	Sources       []string `json:"sources"`
	Target        string   `json:"target"`
	Source        int      `json:"source"`
	Offset        int64    `json:"offset"`
	DB            int      `json:"db"`
	Dialect       int      `json:"dialect"`
	RDBVersion    int      `json:"rdb_version"`
	HighWater     int64    `json:"high_water"`
	Complete      bool     `json:"complete"`
	Counts        Counts   `json:"counts"`
	// TargetState is what each master held when it was last read, at the
	// run's start or a checkpoint save (run_id, keys per database): a
	// resume refuses a target that has since restarted empty or lost keys.
	TargetState map[string]NodeState `json:"target_state,omitempty"`
	// StartedEmpty: the first run found the target empty, so the target
	// must end up holding every key written (the final check).
	StartedEmpty bool `json:"started_empty,omitempty"`
}

// Counts are running totals kept in the checkpoint.
type Counts struct {
	Written int64            `json:"written"`
	Skipped map[string]int64 `json:"skipped,omitempty"`
	Failed  int64            `json:"failed"`
	Refused int64            `json:"refused"`
	// WrittenByDB counts the keys written per target database: without
	// and with a TTL.
	WrittenByDB map[int][2]int64 `json:"written_by_db,omitempty"`
}

func loadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("checkpoint %s: %v", path, err)
	}
	return &c, nil
}

func saveCheckpoint(path string, c *Checkpoint) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Clean(path))
}

// tracker follows which dispatched keys are acknowledged, in dispatch
// order, to find the resume point.
type tracker struct {
	mu      sync.Mutex
	low     int64 // first seq not yet acknowledged (at done[head])
	head    int
	next    int64     // next seq to hand out
	done    []outcome // window [low, next)
	offs    []int64   // record offsets of the window
	dbs     []int
	srcIdx  int   // source being read
	readPos int64 // offset after the last dispatched key's record
	readDB  int
	hiWater int64
	// committed counts the outcomes of keys before the resume point.
	committed Counts
}

// outcome is what became of a key; kind 0 is pending.
type outcome struct {
	kind   byte // 'w' written, 's' skipped, 'f' failed, 'r' refused
	reason string
	db     int  // written: the target database
	ttl    bool // written: the key has a TTL
}

func (t *tracker) add(off int64, db int, end int64) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	seq := t.next
	t.next++
	t.done = append(t.done, outcome{})
	t.offs = append(t.offs, off)
	t.dbs = append(t.dbs, db)
	t.readPos, t.readDB = end, db
	if end > t.hiWater {
		t.hiWater = end
	}
	return seq
}

// advance records the reader position past records that dispatched nothing.
func (t *tracker) advance(end int64, db int) {
	t.mu.Lock()
	t.readPos, t.readDB = end, db
	t.mu.Unlock()
}

func (t *tracker) ack(seq int64, o outcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.head + int(seq-t.low)
	if seq < t.low || i >= len(t.done) {
		return
	}
	t.done[i] = o
	for t.head < len(t.done) && t.done[t.head].kind != 0 {
		switch o := t.done[t.head]; o.kind {
		case 'w':
			t.committed.Written++
			if t.committed.WrittenByDB == nil {
				t.committed.WrittenByDB = map[int][2]int64{}
			}
			n := t.committed.WrittenByDB[o.db]
			if o.ttl {
				n[1]++
			} else {
				n[0]++
			}
			t.committed.WrittenByDB[o.db] = n
		case 'f':
			t.committed.Failed++
		case 'r':
			t.committed.Refused++
		case 's':
			if t.committed.Skipped == nil {
				t.committed.Skipped = map[string]int64{}
			}
			t.committed.Skipped[o.reason]++
		}
		t.head++
		t.low++
	}
	if t.head > 4096 && t.head > len(t.done)/2 {
		n := copy(t.done, t.done[t.head:])
		t.done = t.done[:n]
		copy(t.offs, t.offs[t.head:])
		t.offs = t.offs[:n]
		copy(t.dbs, t.dbs[t.head:])
		t.dbs = t.dbs[:n]
		t.head = 0
	}
}

// commitState returns the committed counts (a copy).
func (t *tracker) commitState() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.committed
	c.Skipped = map[string]int64{}
	for k, v := range t.committed.Skipped {
		c.Skipped[k] = v
	}
	c.WrittenByDB = map[int][2]int64{}
	for k, v := range t.committed.WrittenByDB {
		c.WrittenByDB[k] = v
	}
	return c
}

// resume returns the offset and database to resume from.
func (t *tracker) resume() (off int64, db int, hw int64, src int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.head < len(t.offs) {
		return t.offs[t.head], t.dbs[t.head], t.hiWater, t.srcIdx
	}
	return t.readPos, t.readDB, t.hiWater, t.srcIdx
}

func (t *tracker) newSource(i int, start int64) {
	t.mu.Lock()
	t.srcIdx, t.readPos, t.hiWater = i, start, start
	t.mu.Unlock()
}

// checkpointLoop saves the checkpoint every second; the returned function
// saves it a last time.
func (e *engine) checkpointLoop(sources []Input) func(complete bool) {
	if e.o.Checkpoint == "" {
		return func(bool) {}
	}
	save := func(complete bool) {
		off, db, hw, src := e.trk.resume()
		cp := &Checkpoint{FormatVersion: 1, Sources: names(sources), Target: redactURL(e.o.Target), Source: src, Offset: off, DB: db,
			Dialect: int(e.srcDialect), RDBVersion: e.srcVer, HighWater: hw, Complete: complete}
		cp.Counts = e.trk.commitState()
		cp.Counts.WrittenByDB = e.writtenByDB()
		cp.StartedEmpty = e.startedEmpty()
		// Read after the resume point: the keys acknowledged before it
		// are in these counts.
		if st, err := e.targetState(); err == nil {
			e.cpState = st
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
