package export

import (
	"bytes"
	"context"
	"runtime"

	"github.com/rdbtool/rdbtool/rdb"
)

// jsonLine is one key rendered by a worker, and the error that cut it
// short, if any (the sequential writer leaves such a line partial too).
type jsonLine struct {
	line []byte
	err  error
}

// WriteRecords writes every remaining key of r as WriteKey does, and
// every slot info record as WriteSlotInfo does, in file order, with values
// decoded and rendered on workers goroutines (0: runtime.GOMAXPROCS) by
// rdb.ReadParallel. The output is byte for byte that of calling those for
// each record, up to and including a partial line before an error. Keys too large to batch are written by streaming
// their values, as WriteKey does; other lines are held in memory until
// their turn.
func (j *JSONWriter) WriteRecords(ctx context.Context, r *rdb.Reader, workers int) error {
	return j.WriteRecordsFiltered(ctx, r, workers, nil)
}

// WriteRecordsFiltered is WriteRecords writing only the keys keep
// returns true for (nil: all); keep is called on the workers, several at
// once (rewrite.KeyFilter.Keep may be).
func (j *JSONWriter) WriteRecordsFiltered(ctx context.Context, r *rdb.Reader, workers int, keep func(*rdb.Record) bool) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type renderer struct {
		buf bytes.Buffer
		jw  *JSONWriter
	}
	// One per Worker.ID; each is used only by the goroutine of its ID.
	rs := make([]*renderer, workers+1)
	return rdb.ReadParallel(ctx, r, rdb.ParallelOptions{Workers: workers}, rdb.ParallelHandler[jsonLine]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *jsonLine) error {
			if rec.Kind != rdb.KindKey && rec.Kind != rdb.KindSlotInfo || keep != nil && rec.Kind == rdb.KindKey && !keep(rec) {
				return nil
			}
			if w.Inline() {
				// Every earlier line is out: stream this one.
				out.err = j.writeRecord(w.Reader, rec)
				return nil
			}
			rd := rs[w.ID]
			if rd == nil {
				rd = &renderer{}
				rd.jw = NewJSONWriter(&rd.buf)
				rs[w.ID] = rd
			}
			err := rd.jw.writeRecord(w.Reader, rec)
			rd.jw.Flush()
			out.line, out.err = w.Keep(rd.buf.Bytes()), err
			rd.buf.Reset()
			return nil
		},
		Sink: func(l *jsonLine) error {
			j.w.Write(l.line)
			return l.err
		},
	})
}

// writeRecord writes a key or a slot info record.
func (j *JSONWriter) writeRecord(r *rdb.Reader, rec *rdb.Record) error {
	if rec.Kind == rdb.KindSlotInfo {
		return j.WriteSlotInfo(rec)
	}
	return j.WriteKey(r, rec)
}
