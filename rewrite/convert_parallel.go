package rewrite

import (
	"context"
	"fmt"
	"runtime"

	"github.com/rdbtool/rdbtool/rdb"
)

// convertedRecord is what a worker of convertParallel made of a record:
// a key encoded for the target, a key left out, or a copy of another
// record for Converter.Record. It is small: a batch holds thousands.
type convertedRecord struct {
	key     rdb.EncodedKey   // key.Key is the key's name, also when err is set
	db      int              // the key's database in the input
	offset  int64            // the key's offset
	other   *rdb.Record      // the whole record when it is not a key
	part    *rdb.EncodedPart // a part of a large value (ParallelHandler.Split)
	skipped bool             // a key left out by the filter
	done    bool             // written already (a record too large to batch)
	err     error
}

// convertParallel is the loop of Convert on rdb.ReadParallel: keys
// are decoded and re-encoded for the target on jobs workers (0: one per
// CPU) and written in file order, so the output is byte for byte the one
// the loop writes. rec is the record r returned last, not yet converted.
func (c *Converter) convertParallel(ctx context.Context, r *rdb.Reader, rec *rdb.Record, jobs int) (err error) {
	// Errors read as Convert's loop words them.
	keyErr := func(rec *rdb.Record, err error) error {
		return fmt.Errorf("key %q (db %d): %w", rec.Key, rec.DB, err)
	}
	recErr := func(rec *rdb.Record, err error) error {
		if err != nil && rec.Kind == rdb.KindKey {
			return keyErr(rec, err)
		}
		return err
	}
	if err := recErr(rec, c.Record(r, rec)); err != nil {
		return err
	}
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	encs := make([]*rdb.KeyEncoder, jobs+1) // by Worker.ID, each used by one goroutine
	for i := range encs {
		encs[i] = c.w.NewKeyEncoder()
	}
	cur := rdb.Record{Kind: rdb.KindKey} // the key being sunk, for the converter
	// skipParts: the value in parts being sunk is a repeat left out.
	// The sink sets it; the framing goroutine reads it for a last part
	// given to Work there, once every earlier result is sunk.
	skipParts := false
	sink := func(o *convertedRecord) error {
		switch {
		case o.done:
			return nil
		case o.part != nil:
			p := o.part
			cur.DB, cur.Offset, cur.Key = o.db, o.offset, p.Key
			if p.Part.Index == 0 {
				ok, err := c.beforeKey(&cur)
				if err != nil {
					return recErr(&cur, err)
				}
				skipParts = !ok
			}
			if skipParts {
				return nil
			}
			return recErr(&cur, c.keyError(&cur, c.w.WriteEncodedPart(p)))
		case o.other != nil:
			return c.Record(nil, o.other)
		case o.skipped:
			c.stats.Filtered++
			return nil
		}
		cur.DB, cur.Offset, cur.Key = o.db, o.offset, o.key.Key
		if ok, err := c.beforeKey(&cur); !ok || err != nil {
			return recErr(&cur, err)
		}
		if o.err != nil {
			return keyErr(&cur, c.keyError(&cur, o.err))
		}
		return recErr(&cur, c.keyError(&cur, c.w.WriteEncoded(o.key)))
	}
	var names [][]byte
	defer func() {
		if err != nil {
			// A value in parts cut short (the read was canceled) leaves no
			// temporary files behind.
			c.w.AbandonParts()
		}
	}()
	return rdb.ReadParallel(ctx, r, rdb.ParallelOptions{Workers: jobs, BufferSize: convertBufferSize}, rdb.ParallelHandler[convertedRecord]{
		// A large set, sorted set or hash is encoded in parts on the
		// workers rather than on the framing goroutine, alone.
		Split: func(rec *rdb.Record) bool { return c.Keeps(rec) && c.w.SplitsValue(rec) },
		Work: func(w *rdb.Worker, rec *rdb.Record, out *convertedRecord) error {
			part := w.Part()
			if w.Inline() {
				// Every earlier record is written: stream this one (or the
				// rest of a value in parts).
				out.done = true
				if part != nil && part.Index > 0 {
					if skipParts {
						return nil
					}
					return recErr(rec, c.keyError(rec, c.w.CopyRest(w.Reader, rec)))
				}
				return recErr(rec, c.Record(w.Reader, rec))
			}
			if part != nil {
				p := encs[w.ID].CopyPart(w, rec)
				out.db, out.offset, out.part = rec.DB, rec.Offset, &p
				return nil
			}
			if rec.Kind != rdb.KindKey {
				o := *rec
				o.AuxKey, o.AuxValue = w.Keep(rec.AuxKey), w.Keep(rec.AuxValue)
				o.Function, o.ModuleAux = w.Keep(rec.Function), w.Keep(rec.ModuleAux)
				out.other = &o
				return nil
			}
			if !c.Keeps(rec) {
				out.skipped = true
				return nil
			}
			out.db, out.offset = rec.DB, rec.Offset
			name := w.Keep(rec.Key)
			// An error is the sink's to report, after beforeKey's, in the
			// order the sequential loop meets them.
			k, err := encs[w.ID].CopyKey(w.Reader, rec)
			k.Bytes, k.Key = w.Keep(k.Bytes), name
			out.key, out.err = k, err
			return nil
		},
		SinkBatch: func(rs []convertedRecord) error {
			for i := range rs {
				if i%prefetchKeys == 0 {
					// The duplicate-key check waits on memory for each key
					// of a large file: for a run of keys, once.
					names = names[:0]
					for _, o := range rs[i:min(i+prefetchKeys, len(rs))] {
						if o.key.Bytes != nil && o.err == nil {
							names = append(names, o.key.Key)
						}
					}
					c.w.PrefetchKeys(names)
				}
				if err := sink(&rs[i]); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// convertDigestMemory bounds the Writer's duplicate checks (as check's
// --mem-limit 8M): their table, 4 MiB, stays in the cache, and the file's
// other keys go to sorted runs on disk. With the default 32 MiB the
// table was a third of convert's peak RSS and missed the cache on nearly
// every key.
const convertDigestMemory = 8 << 20

// convertBufferSize is ReadParallel's buffer size (0: its default);
// tests make it small so that most values go in parts.
var convertBufferSize = 0

// prefetchKeys is how many keys convertParallel's sink looks up in the
// duplicate-key check together.
const prefetchKeys = 64

// resolveJobs is the number of goroutines --jobs asks for: the CPUs Go
// uses for 0. One means the one-goroutine path, which a single CPU runs
// fastest.
func resolveJobs(jobs int) int {
	if jobs <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return jobs
}
