package diff

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/rdbtool/rdbtool/internal/keyglob"
	"github.com/rdbtool/rdbtool/rdb"
)

// readKey is one key as a worker of readFileParallel digested it.
type readKey struct {
	kb      []byte // db as a uvarint, then the key (in the batch's memory)
	key     []byte // the key part of kb
	db      int
	typ     rdb.Type
	e       entry
	skipped bool // filtered out by database or pattern
	expired bool // left out as expired at the cutoff
}

// readFileParallel is readSide for a file, with values digested on
// rdb.ReadParallel's workers and the keys emitted in file order here, so
// that the side's table, spill parts and counts are what readSide makes.
// dg digests the key the stream already holds (its first).
func (c *comparer) readFileParallel(ctx context.Context, s *side, fs *fileStream, dg *digester, label string, emit func(k []byte, e *entry) error) error {
	match := []byte(c.opts.Match)
	var n int64
	// take files one key as readSide does, in its own memory: the workers'
	// and the stream's first key's.
	take := func(rec *rdb.Record, r *rdb.Reader, d *digester, keep func([]byte) []byte, out *readKey) error {
		out.db, out.typ = rec.DB, rec.Type
		if c.opts.FilterDB && rec.DB != c.opts.DB || c.opts.Match != "" && !keyglob.Match(match, rec.Key) || c.opts.Filter != nil && !c.opts.Filter(rec) {
			out.skipped = true
			return nil
		}
		if c.cutoff != 0 && rec.ExpireAt != 0 && rec.ExpireAt <= c.cutoff {
			out.expired = true
			return nil
		}
		v, err := d.value(rec, r)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		var tmp [binary.MaxVarintLen64]byte
		kb := keep(append(binary.AppendUvarint(tmp[:0:binary.MaxVarintLen64], uint64(rec.DB)), rec.Key...))
		out.kb, out.key = kb, kb[len(kb)-len(rec.Key):]
		out.e = entry{dg: v, exp: rec.ExpireAt, off: rec.Offset}
		return nil
	}
	sink := func(k *readKey) error {
		if n&1023 == 0 && c.opts.Progress != nil && n > 0 {
			c.opts.Progress("read "+label, n)
		}
		n++
		switch {
		case k.skipped:
			return nil
		case k.expired:
			s.expired++
			return nil
		}
		if err := emit(k.kb, &k.e); err != nil {
			return err
		}
		s.byDB[k.db]++
		s.byType[k.typ]++
		s.prefix.count(k.key, 1)
		return nil
	}
	if rec := fs.pending; rec != nil {
		fs.pending = nil
		var first readKey
		copyOut := func(b []byte) []byte { return append([]byte(nil), b...) }
		if err := take(rec, fs.r, dg, copyOut, &first); err != nil {
			return err
		}
		if err := sink(&first); err != nil {
			return err
		}
	}
	if !fs.eof {
		workers := c.opts.Jobs
		if workers <= 0 {
			workers = runtime.GOMAXPROCS(0)
		}
		digesters := make([]*digester, workers+1) // by Worker.ID: one goroutine each
		err := rdb.ReadParallel(ctx, fs.r, rdb.ParallelOptions{Workers: workers, KeysOnly: true}, rdb.ParallelHandler[readKey]{
			Work: func(w *rdb.Worker, rec *rdb.Record, out *readKey) error {
				d := digesters[w.ID]
				if d == nil {
					d = newDigester()
					d.cutoff = c.cutoff
					digesters[w.ID] = d
				}
				return take(rec, w.Reader, d, w.Keep, out)
			},
			Sink: sink,
		})
		fs.eof = true
		var re *rdb.Error
		if errors.As(err, &re) && !errors.Is(err, io.EOF) && err == error(re) {
			return fmt.Errorf("%s: %w", s.name, err) // from reading, as readSide wraps it
		}
		if err != nil {
			return err
		}
	}
	s.prefix.finish()
	return nil
}
