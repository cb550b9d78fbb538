package rdb

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Reading one file on every core.
//
// The format is sequential only in its framing: where a record ends is
// known once it has been walked, but walking a value (lengths, string
// headers) costs a fraction of decoding it. ReadParallel walks records on
// one goroutine with the caller's Reader, which keeps its CRC-64 over
// every byte, copies contiguous runs of whole records into batches (or,
// given WithReaderAt, notes their offsets for the worker to read them
// itself), and hands each batch to a worker whose own Reader decodes the
// records again from those bytes: as Next would have returned them, with
// the same offsets and the same errors. Results go to a sink on the calling
// goroutine, in file order unless asked otherwise.
//
// Memory stays bounded whatever the values: a batch holds records that
// were wholly inside the framing Reader's buffer, a fixed number of
// batches circulate, and a record that does not fit in the buffer's
// look-ahead (a 2 GiB list) is handed to Work on the framing goroutine
// with the framing Reader, which streams it as the sequential path does;
// or, when the handler's Split allows it, handed to the workers in parts
// of up to a batch's size each (a run of its elements, or of its
// quicklist nodes), so that one large value keeps every core busy too.

// ParallelOptions tunes ReadParallel.
type ParallelOptions struct {
	// Workers is how many goroutines decode records beside the framing
	// goroutine; 0 means runtime.GOMAXPROCS(0).
	Workers int
	// Unordered lets Sink receive results in the order batches finish
	// rather than in file order. The error returned is still the one the
	// sequential path would return first, but results of records after it
	// may have reached Sink.
	Unordered bool
	// KeysOnly calls Work, and so Sink, for key records only. The other
	// records are still framed, checked and given to Framing.
	KeysOnly bool
	// BufferSize is the framing Reader's least buffer size (0: 1 MiB,
	// at least 4 KiB); records over a quarter of it may not be batched
	// (see ParallelHandler.Split). Smaller buffers batch fewer records,
	// which tests use to reach those paths with small files.
	BufferSize int
	// BatchBytes is how many bytes of records a batch holds before it is
	// handed out, and the size of a large value's parts (0: 128 KiB).
	// Larger batches cost less to hand over, and more memory for a
	// handler that keeps much per record (rendered output).
	BatchBytes int
	// Batches is how many batches circulate (0: Workers+2; at least
	// Workers+1): more let the framing goroutine run further ahead of a
	// worker or sink that falls behind, for more memory.
	Batches int
}

// ParallelHandler holds what ReadParallel calls. Framing, Sink and
// SinkBatch are optional.
type ParallelHandler[T any] struct {
	// Framing is called on the framing goroutine for every record, in
	// file order, with the record as Next returned it; for a key, before
	// its value is read (the handler must not read it), and without its
	// Encoding, which only Work sees. Every record
	// before a key has been given to Framing before that key reaches Work,
	// so per-file settings learnt from aux fields can be fixed here.
	Framing func(rec *Record) error
	// Work is called for every record (or every key, with KeysOnly) on one
	// of the workers, with w.Reader positioned at rec: the value can be
	// read with any of the Reader's value methods, and what is left unread
	// is skipped. Work must not call Next. It writes its result into out,
	// which it finds zeroed. Calls with the same w.ID never run at once;
	// calls with different IDs do.
	Work func(w *Worker, rec *Record, out *T) error
	// Sink receives each result Work wrote, on the goroutine that called
	// ReadParallel, one call at a time, in file order unless Unordered.
	// The result is valid until Sink returns.
	Sink func(*T) error
	// SinkBatch, when set, is called instead of Sink with the results of
	// a run of records at once (up to a few thousand), on the same terms:
	// for a sink that prepares for many results together (convert looks
	// their keys up in its duplicate check together). It handles them in
	// order and stops at its first error.
	SinkBatch func([]T) error
	// Split, when set, is asked on the framing goroutine about a key
	// whose value is too large to batch, with the record as Framing saw
	// it (the name still in the buffer, no Encoding): true lets its value
	// be handed to Work in parts, if its encoding allows (a plain list,
	// set, sorted set or hash, or a quicklist: elements or nodes stored
	// one after another). Each part is an ordinary value of the record's
	// type holding a run of the elements (or nodes), in file order; Work
	// is called once per part with the same record and learns which part
	// it has from Worker.Part. Parts go to Sink one after another, in
	// order, with nothing between them; a part that does not fit a batch
	// (an element larger than the look-ahead) is given to Work on the
	// framing goroutine, with the rest of the value, as the last part.
	// Split is ignored with Unordered.
	Split func(rec *Record) bool
}

// ValuePart tells which part of a value Work was given (see
// ParallelHandler.Split).
type ValuePart struct {
	Index int  // 0 for the first part
	Last  bool // no part of this value follows
	// Count is the whole value's element count as stored (quicklists:
	// its node count), for writers that need it before the elements.
	Count uint64
	// ValueOffset is the file offset of the value's first byte (its
	// count), for working out the whole value's stored size once the last
	// part has been read.
	ValueOffset int64
}

// Worker is what Work runs with.
type Worker struct {
	// ID is below Workers for the workers; it equals Workers for records
	// too large to batch, which Work gets on the framing goroutine (see
	// Inline).
	ID int
	// Reader is positioned at the record Work was given.
	Reader *Reader
	arena  *[]byte
	inline bool
	part   *ValuePart
}

// Part returns which part of the record's value Work was given, or nil
// when it was given the whole value.
func (w *Worker) Part() *ValuePart { return w.part }

// Inline reports that Work was given a record too large to batch, on the
// framing goroutine with the framing Reader, whose value is streamed from
// the input as the sequential path streams it. Unless Unordered, Sink has
// then returned for every earlier result and is not called until Work
// returns, so Work may write a large value to Sink's destination itself
// rather than hold it in its result.
func (w *Worker) Inline() bool { return w.inline }

// Keep copies b into memory that stays valid until Sink has returned for
// the result of the record being worked on: for keeping key names and
// values, which the Reader reuses, in a result.
func (w *Worker) Keep(b []byte) []byte {
	a := *w.arena
	start := len(a)
	a = append(a, b...)
	*w.arena = a
	return a[start:len(a):len(a)]
}

// KeepWith is Keep for a result built in place: fill is given the memory
// Keep copies into and must only append to it; what it appends stays
// valid as Keep's copies do, without being copied.
func (w *Worker) KeepWith(fill func(dst []byte) []byte) []byte {
	a := *w.arena
	start := len(a)
	a = fill(a)
	*w.arena = a
	return a[start:len(a):len(a)]
}

// Batch and buffer sizes. A batch is large enough that handing it over
// costs little beside decoding it; the framing Reader's buffer holds four
// times the largest record batched, so that refilling it moves little.
const (
	parallelBatchBytes   = 128 << 10
	parallelBatchRecords = 4096
	parallelMaxBatches   = 64
)

// parallelBufferSize is the framing Reader's least buffer size by default.
const parallelBufferSize = 1 << 20

// ReadParallel reads every remaining record of r (a Reader from NewReader,
// not yet past its last record) as described above: Framing for each
// record in order, Work for each record on Workers goroutines, Sink for
// each result. It returns nil once r.Next has returned io.EOF (the
// checksum is then verified: see r.Checksum), or the first error in file
// order, whether from reading, Framing, Work or Sink: for errors in the
// file, the same *Error the sequential path returns. Nothing is called
// after it returns.
func ReadParallel[T any](ctx context.Context, r *Reader, o ParallelOptions, h ParallelHandler[T]) error {
	if r.payload {
		return errors.New("rdb: ReadParallel reads files, not DUMP payloads")
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	bufSize := o.BufferSize
	if bufSize <= 0 {
		bufSize = parallelBufferSize
	}
	bufSize = max(bufSize, 4096)
	if in := r.in; in.w == 0 && len(in.buf) != bufSize && (len(in.buf) < bufSize || o.BufferSize > 0) {
		in.buf, in.spare = make([]byte, bufSize), nil
	}
	// By default a batch per worker, one being filled and one being sunk:
	// more in flight measured no faster on mixed.rdb for dump and convert
	// and took dump's peak RSS from 35 to 40 MiB (analyze asks for more).
	nb := workers + 2
	if o.Batches > 0 {
		nb = max(o.Batches, workers+1)
	}
	nb = min(nb, parallelMaxBatches)
	batchBytes := o.BatchBytes
	if batchBytes <= 0 {
		batchBytes = parallelBatchBytes
	}
	p := &parallelRun[T]{
		r: r, o: o, h: h, workers: workers,
		maxRecord:  len(r.in.buf) / 4,
		batchBytes: batchBytes,
		ra:         r.opts.readerAt,
		free:       make(chan *parBatch[T], nb),
		work:       make(chan *parBatch[T], nb),
		out:        make(chan *parBatch[T], nb),
		quit:       make(chan struct{}),
	}
	for range nb {
		p.free <- &parBatch[T]{done: make(chan struct{}, 1)}
	}
	stable := p.watchInput()
	var wg sync.WaitGroup
	for id := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.runWorker(id)
		}()
	}
	framed := make(chan struct{})
	go func() {
		defer close(framed)
		p.frame(ctx)
	}()
	if o.Unordered {
		// Workers send finished batches to out themselves: close it once
		// neither they nor the framing goroutine can.
		go func() {
			<-framed
			wg.Wait()
			close(p.out)
		}()
	}
	for b := range p.out {
		if !o.Unordered {
			<-b.done
		}
		p.collect(b)
		b.reset(p.batchBytes)
		p.free <- b
	}
	<-framed
	wg.Wait()
	// A file rewritten during the read may also have made the workers'
	// bytes undecodable: the change is then the error to report.
	if err := stable(); err != nil && (p.err == nil || errors.As(p.err, new(*Error))) {
		p.err = err
	}
	return p.err
}

// statter is an input that can tell its size and modification time.
type statter interface{ Stat() (fs.FileInfo, error) }

// watchInput returns the check made once a read with a ReaderAt has
// ended well: that the input, when it can tell, has the size and
// modification time it had at the start. The framing goroutine checksums
// what it read and the workers decode what they read later; a file
// rewritten in between would give results from bytes nobody checksummed.
func (p *parallelRun[T]) watchInput() func() error {
	st, ok := p.ra.(statter)
	if !ok {
		return func() error { return nil }
	}
	before, err := st.Stat()
	if err != nil {
		return func() error { return nil }
	}
	return func() error {
		after, err := st.Stat()
		if err == nil && after.Size() == before.Size() && after.ModTime().Equal(before.ModTime()) {
			return nil
		}
		return p.changed(p.r.in.offset(), "its size or modification time differs from the start of the read")
	}
}

// changed is the error for an input that changed during the read.
func (p *parallelRun[T]) changed(off int64, what string) error {
	return &Error{Name: p.r.opts.name, Offset: off, What: what, Err: ErrChanged}
}

// take adds whole records, the bytes rec of the framing Reader's buffer,
// to b: copied, or with a ReaderAt only counted, the worker reading them.
func (p *parallelRun[T]) take(b *parBatch[T], rec []byte) {
	if p.ra == nil {
		if b.buf == nil {
			b.buf = make([]byte, 0, 2*p.batchBytes)
		}
		b.buf = append(b.buf, rec...)
		return
	}
	n := len(b.buf) + len(rec)
	if n > cap(b.buf) {
		// Nothing of b.buf is read yet: no copy.
		b.buf = make([]byte, len(b.buf), max(n, 2*p.batchBytes))
	}
	b.buf = b.buf[:n]
}

// load reads a batch's bytes from the ReaderAt, when there is one.
func (p *parallelRun[T]) load(b *parBatch[T]) error {
	if p.ra == nil || len(b.buf) == 0 {
		return nil
	}
	n, err := p.ra.ReadAt(b.buf, b.off)
	if n == len(b.buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		return p.changed(b.off+int64(n), "the input ends before records the framing pass read there")
	}
	return &Error{Name: p.r.opts.name, Offset: b.off + int64(n), What: "reading records for a worker", Err: err}
}

type parBatch[T any] struct {
	seq       int
	buf       []byte // whole records, buf[0] at file offset off
	off       int64
	n         int // records in buf
	db        int // database selected before the first record
	dialect   Dialect
	version   int
	redisVer  string
	valkeyVer string
	size      int64 // the input's size, as the framing Reader knows it

	// A part of a large value (see ParallelHandler.Split): buf holds
	// partCount elements or nodes of partRec's value.
	isPart    bool
	part      ValuePart
	partRec   Record
	partCount uint64

	results []T
	dirty   int    // results[:dirty] may hold values: see slot
	arena   []byte // Worker.Keep
	err     error  // the error that ended this batch, after results
	done    chan struct{}
	// barrier, when set, is closed by the collector once it has sunk
	// every batch before this one (which holds nothing).
	barrier chan struct{}
}

// slot returns a zeroed result at the end of results.
// Results past len(results) up to dirty may hold an earlier batch's
// values; reset clears them in one go, which costs less than zeroing each
// result as it is handed out (a sixth of a worker's overhead in analyze).
func (b *parBatch[T]) slot() *T {
	var zero T
	n := len(b.results)
	if n < cap(b.results) {
		b.results = b.results[:n+1]
		if n < b.dirty {
			b.results[n] = zero // left by a Work that failed
		}
	} else {
		b.results = append(b.results, zero)
	}
	b.dirty = max(b.dirty, n+1)
	return &b.results[n]
}

func (b *parBatch[T]) reset(batchBytes int) {
	clear(b.results[:b.dirty])
	b.dirty = 0
	if cap(b.buf) > 4*batchBytes {
		b.buf = nil // after a batch of unusually large records
	}
	b.buf, b.results, b.arena, b.n, b.err, b.barrier = b.buf[:0], b.results[:0], b.arena[:0], 0, nil, nil
	b.isPart, b.partRec = false, Record{}
}

type parallelRun[T any] struct {
	r          *Reader
	o          ParallelOptions
	h          ParallelHandler[T]
	workers    int
	maxRecord  int
	batchBytes int // ParallelOptions.BatchBytes
	// ra, when set (WithReaderAt), is where workers read their batches'
	// bytes: the framing goroutine only sizes b.buf.
	ra io.ReaderAt

	free chan *parBatch[T] // batches not in use
	work chan *parBatch[T] // batches for the workers
	out  chan *parBatch[T] // batches for the sink: in file order, or as they finish

	stop     atomic.Bool
	quit     chan struct{} // closed with stop set
	quitOnce sync.Once

	// Framing goroutine only.
	cur *parBatch[T]
	seq int

	// Collector only.
	err    error
	errSeq int
}

func (p *parallelRun[T]) halt() {
	p.quitOnce.Do(func() {
		p.stop.Store(true)
		close(p.quit)
	})
}

// get returns a free batch, or nil once the read is stopping.
func (p *parallelRun[T]) get() *parBatch[T] {
	select {
	case b := <-p.free:
		b.seq = p.seq
		p.seq++
		return b
	case <-p.quit:
		return nil
	}
}

// flush hands the batch being filled to the workers.
func (p *parallelRun[T]) flush() {
	b := p.cur
	if b == nil {
		return
	}
	p.cur = nil
	p.work <- b
	if !p.o.Unordered {
		p.out <- b
	}
}

// finished hands a batch completed on the framing goroutine to the sink.
func (p *parallelRun[T]) finished(b *parBatch[T]) {
	if p.o.Unordered {
		p.out <- b
		return
	}
	b.done <- struct{}{}
	p.out <- b
}

// fail ends the read with err at the current position in file order.
func (p *parallelRun[T]) fail(err error) {
	p.flush()
	if b := p.get(); b != nil {
		b.err = err
		p.finished(b)
	}
}

func (p *parallelRun[T]) frame(ctx context.Context) {
	defer func() {
		close(p.work)
		if !p.o.Unordered {
			close(p.out)
		}
	}()
	r := p.r
	r.framing = true
	defer func() { r.framing = false }()
	for n := 0; ; n++ {
		if p.stop.Load() {
			return
		}
		if n&255 == 0 {
			if err := ctx.Err(); err != nil {
				p.fail(err)
				return
			}
		}
		// Keep maxRecord bytes ahead buffered, so that any record up to
		// that size can be framed inside the buffer. Refill the whole
		// buffer when doing so, so that little is moved per refill.
		in := r.in
		if in.err == nil && in.w-in.r < p.maxRecord {
			in.fill(len(in.buf)) // a short fill is the end of the input, which Next reports
		}
		db, redisVer, valkeyVer := r.db, r.redisVer, r.valkeyVer
		rec, err := r.Next()
		if err == io.EOF {
			p.flush()
			return
		}
		if err != nil {
			p.fail(err)
			return
		}
		if p.h.Framing != nil {
			if err := p.h.Framing(rec); err != nil {
				p.fail(err)
				return
			}
		}
		in = r.in
		start, end := rec.Offset-in.base, int64(-1)
		if start >= 0 { // still in the buffer
			if rec.Kind != KindKey {
				end = in.offset() - in.base
			} else if e, ok := r.frameValue(); ok {
				end = e - in.base
			}
		}
		if end < 0 {
			var ok bool
			if start >= 0 && p.h.Split != nil && !p.o.Unordered && r.splittable() && p.h.Split(rec) {
				ok = p.split(ctx, rec)
			} else {
				ok = p.inline(rec, nil)
			}
			if !ok {
				return
			}
			continue
		}
		b := p.cur
		if b == nil {
			if b = p.get(); b == nil {
				return
			}
			p.cur = b
			b.off, b.db, b.redisVer, b.valkeyVer, b.size = rec.Offset, db, redisVer, valkeyVer, in.size
			b.dialect, b.version = r.dialect, r.version
		}
		p.take(b, in.buf[start:end])
		b.n++
		if len(b.buf) >= p.batchBytes || b.n >= parallelBatchRecords {
			p.flush()
		}
	}
}

// inline runs Work on the framing goroutine for a record that could not
// be batched, in its place in file order: the whole record, or with part
// set the rest of its value, whose earlier parts went to the workers. It
// reports whether to go on.
func (p *parallelRun[T]) inline(rec *Record, part *ValuePart) bool {
	p.flush()
	if !p.o.Unordered {
		// Wait until every earlier result has reached Sink.
		bar := p.get()
		if bar == nil {
			return false
		}
		wait := make(chan struct{})
		bar.barrier = wait
		p.finished(bar)
		select {
		case <-wait:
		case <-p.quit:
			return false
		}
	}
	b := p.get()
	if b == nil {
		return false
	}
	w := &Worker{ID: p.workers, Reader: p.r, arena: &b.arena, inline: true, part: part}
	if rec.Kind == KindKey && part == nil {
		b.err = p.r.keepKey(rec)
	}
	if b.err != nil {
		// reported below
	} else if !p.o.KeysOnly || rec.Kind == KindKey {
		out := b.slot()
		if err := p.h.Work(w, rec, out); err != nil {
			b.results = b.results[:len(b.results)-1]
			b.err = err
		}
	}
	if b.err == nil {
		b.err = p.r.Skip()
	}
	ok := b.err == nil
	p.finished(b)
	return ok
}

// split hands the value of rec, a key whose value is not wholly in the
// buffer, to the workers in parts (see ParallelHandler.Split). It reports
// whether to go on.
func (p *parallelRun[T]) split(ctx context.Context, rec *Record) bool {
	r := p.r
	if err := r.keepKey(rec); err != nil {
		p.fail(err)
		return false
	}
	valueOff := r.in.offset()
	if !r.frameCount() {
		// The count is damaged or the value cannot be as long as it
		// says: the sequential path reports it.
		return p.inline(rec, nil)
	}
	p.flush()
	count := r.val.remaining
	for idx := 0; ; idx++ {
		if p.stop.Load() {
			return false
		}
		if err := ctx.Err(); err != nil { // a part is as long as many records
			p.fail(err)
			return false
		}
		in := r.in
		if in.err == nil && in.w-in.r < p.maxRecord {
			in.fill(len(in.buf))
		}
		from, off := in.r, in.offset()
		n := r.frameUnits(p.batchBytes)
		last := r.val.remaining == 0
		if n == 0 && !last {
			// The next element does not fit in the look-ahead (or is
			// damaged): stream the rest of the value here.
			r.val.started, r.val.part, r.val.partCount = false, true, r.val.remaining
			return p.inline(rec, &ValuePart{Index: idx, Last: true, ValueOffset: valueOff, Count: count})
		}
		b := p.get()
		if b == nil {
			return false
		}
		b.isPart, b.partCount = true, n
		b.part = ValuePart{Index: idx, Last: last, ValueOffset: valueOff, Count: count}
		b.partRec = *rec
		b.arena = append(b.arena[:0], rec.Key...)
		b.partRec.Key = b.arena[:len(rec.Key):len(rec.Key)]
		b.partRec.KeyMeta = nil
		if len(rec.KeyMeta) > 0 {
			// The framing Reader reuses these once it moves on.
			b.partRec.KeyMeta = make([]KeyMeta, len(rec.KeyMeta))
			for i, m := range rec.KeyMeta {
				b.partRec.KeyMeta[i] = KeyMeta{Class: m.Class, Raw: append([]byte(nil), m.Raw...)}
			}
		}
		p.take(b, in.buf[from:in.r])
		b.off, b.db, b.redisVer, b.valkeyVer, b.size = off, r.db, r.redisVer, r.valkeyVer, in.size
		b.dialect, b.version = r.dialect, r.version
		b.n = 1
		p.cur = b
		p.flush()
		if last {
			r.endValue()
			return true
		}
	}
}

func (p *parallelRun[T]) runWorker(id int) {
	rd := p.r.batchReader()
	w := &Worker{ID: id, Reader: rd}
	for b := range p.work {
		if !p.stop.Load() {
			w.arena = &b.arena
			p.runBatch(w, b)
		}
		if p.o.Unordered {
			p.out <- b
		} else {
			b.done <- struct{}{}
		}
	}
}

func (p *parallelRun[T]) runBatch(w *Worker, b *parBatch[T]) {
	if err := p.load(b); err != nil {
		b.err = err
		return
	}
	rd := w.Reader
	rd.dialect, rd.version = b.dialect, b.version
	rd.startBatch(b.buf, b.off, b.size, b.db, b.redisVer, b.valkeyVer)
	if b.isPart {
		rd.startPart(&b.partRec, b.partCount)
		w.part = &b.part
		err := p.h.Work(w, &rd.rec, b.slot())
		w.part = nil
		if err != nil {
			b.results = b.results[:len(b.results)-1]
			b.err = err
		} else {
			b.err = rd.Skip()
		}
		return
	}
	for range b.n {
		rec, err := rd.Next()
		if err != nil {
			b.err = err
			return
		}
		if p.o.KeysOnly && rec.Kind != KindKey {
			continue
		}
		if err := p.h.Work(w, rec, b.slot()); err != nil {
			b.results = b.results[:len(b.results)-1]
			b.err = err
			return
		}
	}
	if err := rd.Skip(); err != nil {
		b.err = err
	}
}

// collect gives a finished batch's results to Sink and keeps the first
// error in file order.
func (p *parallelRun[T]) collect(b *parBatch[T]) {
	if b.barrier != nil {
		close(b.barrier)
		return
	}
	if p.err != nil && (!p.o.Unordered || b.seq > p.errSeq) {
		return
	}
	setErr := func(err error) {
		if p.err == nil || b.seq < p.errSeq {
			p.err, p.errSeq = err, b.seq
		}
		p.halt()
	}
	if p.h.SinkBatch != nil {
		if len(b.results) > 0 {
			if err := p.h.SinkBatch(b.results); err != nil {
				setErr(err)
				return
			}
		}
	} else if p.h.Sink != nil {
		for i := range b.results {
			if err := p.h.Sink(&b.results[i]); err != nil {
				setErr(err)
				return
			}
		}
	}
	if b.err != nil {
		setErr(b.err)
	}
}

// frameValue skips the current key's value if it lies wholly in the
// buffered input, returning the offset where it ends; otherwise it
// consumes nothing and reports false. The bytes it passes over stay
// buffered and are checksummed as if read.
func (r *Reader) frameValue() (int64, bool) {
	v := &r.val
	if v.started || v.done {
		return 0, false
	}
	in := r.in
	look := r.lookAhead()
	r.in = look
	err := r.skipRest()
	r.in = in
	if err != nil {
		v.reset(v.typ)
		return 0, false
	}
	in.r = look.r
	r.endValue()
	return in.offset(), true
}

// splittable reports whether the current key's value, not yet started,
// is elements (or quicklist nodes) stored one after another behind a
// count, which ReadParallel can hand out in parts.
func (r *Reader) splittable() bool {
	v := &r.val
	if v.started || v.done {
		return false
	}
	switch v.typ {
	case typeList, typeSet, typeZSet, typeZSet2, typeHash, typeListQuicklist, typeListQuicklist2:
		return true
	}
	return false
}

// frameCount reads the current value's count, if it lies in the buffered
// input and the input can hold that many elements; otherwise it consumes
// nothing and reports false.
func (r *Reader) frameCount() bool {
	in := r.in
	look := r.lookAhead()
	r.in = look
	n, err := r.readLen("a collection length")
	r.in = in
	if err != nil || !in.fits(n) || r.val.typ == typeHash && n > math.MaxUint64/2 {
		return false
	}
	in.r = look.r
	r.val.started, r.val.remaining = true, n
	return true
}

// frameUnits passes over whole elements (quicklist nodes) of the current
// value that lie in the buffered input, until more than limit bytes have
// been passed or none is left, and returns how many. The bytes it passes
// over stay buffered and are checksummed as if read.
func (r *Reader) frameUnits(limit int) uint64 {
	in, v := r.in, &r.val
	look := r.lookAhead()
	r.in = look
	var n uint64
	for v.remaining > 0 && look.r-in.r < limit {
		at := look.r
		var err error
		switch v.typ {
		case typeList, typeSet, typeListQuicklist:
			err = r.skipStrings(1, 0, "a collection element")
		case typeHash:
			err = r.skipStrings(2, 0, "a hash field or value")
		case typeZSet2:
			err = r.skipStrings(1, 8, "a sorted set member and score")
		case typeZSet:
			if _, err = r.skipString("a sorted set member"); err == nil {
				_, err = r.readTextScore()
			}
		case typeListQuicklist2:
			if _, err = r.readLen("a quicklist node container"); err == nil {
				_, err = r.skipString("a quicklist node")
			}
		}
		if err != nil {
			look.r = at
			break
		}
		v.remaining--
		n++
	}
	r.in = in
	in.r = look.r
	return n
}

// startPart makes a batchReader, pointed at a part of a value by
// startBatch, return rec as its current key, with a value of count
// elements (or nodes): what Next would return for the key if its value
// had only those.
func (r *Reader) startPart(rec *Record, count uint64) {
	meta := r.rec.KeyMeta[:0] // the Reader's own, as Next keeps it
	r.rec = *rec
	r.rec.KeyMeta = append(meta, rec.KeyMeta...)
	r.inKey = true
	r.val.reset(int(rec.RDBType))
	r.val.part, r.val.partCount = true, count
}

// lookAhead returns r.look set over the bytes buffered in r.in, as a
// fixed input whose end is the end of the buffered bytes. Only the
// fields a fixed input uses are set: this runs for every record framed,
// and a whole-struct assignment (with its pointer write barriers) was a
// third of the framing goroutine's time.
func (r *Reader) lookAhead() *input {
	in, look := r.in, r.look
	if look == nil {
		look = &input{err: io.EOF, fixed: true}
		r.look = look
	}
	if len(look.buf) != len(in.buf) || &look.buf[0] != &in.buf[0] {
		look.buf = in.buf
	}
	look.r, look.w, look.base, look.size = in.r, in.w, in.base, in.size
	return look
}

// batchReader returns a Reader that decodes batches of r's records.
func (r *Reader) batchReader() *Reader {
	rd := &Reader{opts: r.opts, headerDone: true}
	rd.opts.skipChecksum, rd.opts.resume = true, nil
	rd.in = &input{fixed: true, err: io.EOF}
	return rd
}

// startBatch points a batchReader at whole records buf, which start at
// offset off of an input of size bytes, with database db selected. The
// capacity of buf beyond its length is never read (w bounds the data),
// but counts as buffer size for reads of fixed-size fields.
func (r *Reader) startBatch(buf []byte, off, size int64, db int, redisVer, valkeyVer string) {
	in := r.in
	in.buf, in.r, in.w, in.base, in.size = buf[:cap(buf)], 0, len(buf), off, size
	r.db, r.redisVer, r.valkeyVer = db, redisVer, valkeyVer
	r.ended, r.endErr, r.inKey = false, nil, false
	r.rec.Kind = 0
}
