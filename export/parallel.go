package export

import (
	"context"
	"runtime"

	"github.com/rdbtool/rdbtool/rdb"
)

// framingBufferSize is ReadParallel's buffer size (0: its default); tests
// make it small to render most values in parts.
var framingBufferSize = 0

// jsonLine is one key rendered by a worker, and the error that cut it
// short, if any (the sequential writer leaves such a line partial too);
// or one part of a key's line, when its value was handed out in parts.
type jsonLine struct {
	line []byte
	err  error
	// kept is the batch's kept memory up to the end of line, which
	// starts at start in it: the last line of a batch sees every line
	// before it there, one after another, for the sink to write at once.
	kept  []byte
	start int

	part  bool
	last  bool // the value's last part
	wrote bool // the part wrote an element
	// comma: the line starts with the comma before the part's first
	// element, which Sink drops when no earlier part wrote one.
	comma bool
}

// WriteRecords writes every remaining key of r as WriteKey does, and
// every slot info record as WriteSlotInfo does, in file order, with values
// decoded and rendered on workers goroutines (0: runtime.GOMAXPROCS) by
// rdb.ReadParallel. The output is byte for byte that of calling those for
// each record, up to and including a partial line before an error. The
// elements of a list, set, sorted set or hash too large to batch are
// rendered in parts, a batch's worth each (the line's parts are held in
// memory until their turn); other keys too large to batch are written by
// streaming their values, as WriteKey does.
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
	// One per Worker.ID, rendering into the kept memory of its results
	// (no io.Writer); each is used only by the goroutine of its ID.
	rs := make([]*JSONWriter, workers+1)
	partWrote := false // an earlier part of the current value wrote an element
	return rdb.ReadParallel(ctx, r, rdb.ParallelOptions{Workers: workers, BufferSize: framingBufferSize}, rdb.ParallelHandler[jsonLine]{
		Split: func(*rdb.Record) bool { return true },
		Work: func(w *rdb.Worker, rec *rdb.Record, out *jsonLine) error {
			if rec.Kind != rdb.KindKey && rec.Kind != rdb.KindSlotInfo || keep != nil && rec.Kind == rdb.KindKey && !keep(rec) {
				return nil
			}
			part := w.Part()
			if w.Inline() {
				// Every earlier line (and part) is out: stream this one.
				if part != nil {
					_, out.err = j.writePart(w.Reader, rec, part, !partWrote)
					partWrote = false
				} else {
					out.err = j.writeRecord(w.Reader, rec)
				}
				return nil
			}
			rd := rs[w.ID]
			if rd == nil {
				rd = &JSONWriter{}
				rs[w.ID] = rd
			}
			// Render straight into the memory the line is kept in.
			out.line = w.KeepWith(func(dst []byte) []byte {
				rd.buf, out.start = dst, len(dst)
				defer func() { out.kept = rd.buf }()
				if part != nil {
					out.part, out.last = true, part.Last
					out.wrote, out.err = rd.writePart(w.Reader, rec, part, part.Index == 0)
					out.comma = out.wrote && part.Index > 0
				} else {
					out.err = rd.writeRecord(w.Reader, rec)
				}
				return rd.buf
			})
			rd.buf = nil
			return nil
		},
		SinkBatch: func(ls []jsonLine) error {
			// Whole lines follow one another in the batch's kept memory:
			// write runs of them with one call rather than copying each.
			var run []byte // the kept memory of the run's last line
			from := 0      // where the run starts in it
			for i := range ls {
				l := &ls[i]
				if l.kept == nil && l.line == nil && l.err == nil && !l.part {
					continue // a record with no line
				}
				if !l.part && l.err == nil && l.kept != nil {
					if run == nil || l.start != len(run) {
						j.write(run[from:])
						run, from = l.kept, l.start
					} else {
						run = l.kept
					}
					continue
				}
				j.write(run[from:])
				run = nil
				line := l.line
				if l.part {
					if l.comma && !partWrote {
						line = line[1:]
					}
					partWrote = (partWrote || l.wrote) && !l.last
				}
				j.write(line)
				if l.err != nil {
					return l.err
				}
			}
			j.write(run[from:])
			return j.err // the output failed (a full disk): stop reading
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
