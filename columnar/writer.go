package columnar

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"
)

// Row is a row type this package writes.
type Row interface{ KeyRow | DiffRow }

// WriterOptions tune a Writer. The zero value is the default.
type WriterOptions struct {
	// RowGroupRows caps the rows of a row group (default 1,048,576).
	RowGroupRows int64
	// RowGroupBytes cuts a row group once the data written to it passes
	// this many bytes before compression (default 64 MiB). A writer
	// holds one row group, compressed, until it is complete, plus its
	// dictionaries and one page per column: this bounds its memory.
	RowGroupBytes int64
	// Metadata is added to the file footer's key/value metadata.
	Metadata map[string]string
	// Encoders above 1 has a KeyRow writer encode and compress its
	// columns on two goroutines (the key, key_utf8 and prefix columns on
	// one, the others on the other), each holding its columns of a row
	// group twice more, compressed, on their way to the output. A DiffRow
	// writer has one encoder.
	Encoders int
}

const (
	defaultRowGroupRows  = 1 << 20
	defaultRowGroupBytes = 64 << 20
	// batchRows rows are handed to the Parquet encoder at once.
	batchRows = 1024
	// dictionaryMaxBytes bounds a column's dictionary per row group; a
	// column with more distinct values (prefixes with an ID segment)
	// goes on in plain encoding.
	dictionaryMaxBytes = 1 << 20
	// rowOverhead approximates a row's fixed-size columns, for
	// RowGroupBytes.
	rowOverhead = 96
)

// Writer streams rows of one kind into a Parquet file. Write copies the
// row, so the caller may reuse it and what it points to. Rows are
// encoded and compressed on goroutines of the Writer's own, in batches,
// while the caller produces the next ones: with WriterOptions.Encoders
// above 1, a KeyRow writer encodes its columns on two goroutines, each
// into a Parquet file of its own in memory, and joins their row groups
// in the output (their pages copied as they are). Close completes the
// file (the footer) but does not close the underlying io.Writer. Only the
// output is written to: it need not seek, so it may be a pipe or an S3
// upload. A Writer is not safe for concurrent use.
type Writer[T Row] struct {
	out   io.Writer
	popts []parquet.WriterOption
	opts  WriterOptions
	cur   *batch[T]
	// Batches go from Write to every encoder's in, and back through free
	// from the last encoder done with them.
	free     chan *batch[T]
	encoders []*encoder[T]
	splicer  *fileSplicer  // nil: one encoder writing the output itself
	spliced  chan struct{} // closed when the splicing goroutine ends
	failed   atomic.Pointer[error]

	groupBytes int64
	groupRows  int64
	rows       int64
	closed     bool
}

// encoder writes the batches it receives: with one encoder, to the output
// (pw), cutting row groups with Flush; with several, its columns of each
// row group into a part (part) for the splicer.
type encoder[T Row] struct {
	in    chan *batch[T]
	pw    *parquet.GenericWriter[T]
	part  partWriter[T]
	parts chan *bytes.Buffer // complete parts, in row group order
	bufs  chan *bytes.Buffer // buffers for parts, back from the splicer
}

// batch is rows on their way to the encoders. arena holds their byte
// slices; ints, floats, int32s and strs the values of their pointer
// fields (allocated with room for every row, so they never move).
type batch[T Row] struct {
	rows   []T
	arena  []byte
	ints   []int64
	floats []float64
	int32s []int32
	strs   []string
	// cut ends the row group after these rows.
	cut bool
	// left counts the encoders yet to write the batch.
	left atomic.Int32
}

func newBatch[T Row]() *batch[T] {
	return &batch[T]{
		rows:   make([]T, 0, batchRows),
		arena:  make([]byte, 0, 64<<10),       // non-nil: an empty key is not null
		ints:   make([]int64, 0, 8*batchRows), // a DiffRow has 8 *int64
		floats: make([]float64, 0, batchRows),
		int32s: make([]int32, 0, batchRows),
		strs:   make([]string, 0, 2*batchRows),
	}
}

func (b *batch[T]) reset() {
	clear(b.rows) // drop references to old arena arrays
	clear(b.strs)
	b.rows, b.arena, b.strs = b.rows[:0], b.arena[:0], b.strs[:0]
	b.ints, b.floats, b.int32s = b.ints[:0], b.floats[:0], b.int32s[:0]
	b.cut = false
}

const (
	// batchesQueued is how many batches may wait for one encoder.
	batchesQueued = 3
	// batchesQueuedSplit is how many may wait for two: a batch goes back
	// to Write only when both encoders are done with it, so this is how
	// far the faster may run ahead of the slower. With 3 they ran nearly
	// in step, each waiting on the other at every stall; 32 (about 13 MiB
	// of batches) took the export of mixed.rdb from 0.39x to 0.47x of
	// analyze (BENCHMARKS.md). Export gives two encoders to one writer
	// at a time only, so this adds to the memory bound once.
	batchesQueuedSplit = 32
	// partsPerEncoder is how many parts an encoder may hold: one being
	// written, one waiting for the splicer.
	partsPerEncoder = 2
)

// NewWriter returns a Writer of Parquet to w: zstd compression,
// dictionary encoding for the columns with few distinct values,
// statistics for every column.
func NewWriter[T Row](w io.Writer, opts WriterOptions) *Writer[T] {
	if opts.RowGroupRows <= 0 {
		opts.RowGroupRows = defaultRowGroupRows
	}
	if opts.RowGroupBytes <= 0 {
		opts.RowGroupBytes = defaultRowGroupBytes
	}
	popts := []parquet.WriterOption{
		// zstd's fastest level: within a few percent of the default's
		// ratio on these columns at about half its CPU time.
		parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
		parquet.MaxRowsPerRowGroup(opts.RowGroupRows),
		parquet.DictionaryMaxBytes(dictionaryMaxBytes),
		parquet.DataPageStatistics(true),
		parquet.CreatedBy("rdbtool", "1", ""),
		// Keys are long, unique byte strings: page min/max in the column
		// index are cut to 64 bytes (what engines compare anyway).
		parquet.ColumnIndexSizeLimit(func([]string) int { return 64 }),
	}
	for k, v := range opts.Metadata {
		popts = append(popts, parquet.KeyValueMetadata(k, v))
	}
	wr := &Writer[T]{
		out:     w,
		popts:   popts,
		opts:    opts,
		spliced: make(chan struct{}),
	}
	var parts []partWriter[T]
	if opts.Encoders > 1 {
		parts = splitKeyRows[T](popts)
	}
	if parts != nil {
		// The file of no rows gives the splicer the whole schema.
		var template bytes.Buffer
		err := parquet.NewGenericWriter[T](&template, popts...).Close()
		if err == nil {
			wr.splicer, err = newFileSplicer(w, template.Bytes())
		}
		if err != nil {
			wr.fail(fmt.Errorf("parquet: %w", err))
			parts = nil
		}
	}
	if parts == nil {
		wr.encoders = []*encoder[T]{{pw: parquet.NewGenericWriter[T](w, popts...)}}
	}
	for _, p := range parts {
		e := &encoder[T]{part: p, bufs: make(chan *bytes.Buffer, partsPerEncoder)}
		for j := 0; j < partsPerEncoder; j++ {
			e.bufs <- new(bytes.Buffer)
		}
		wr.encoders = append(wr.encoders, e)
	}
	queued := batchesQueued
	if len(wr.encoders) > 1 {
		queued = batchesQueuedSplit
	}
	wr.free = make(chan *batch[T], queued+1)
	for _, e := range wr.encoders {
		e.in = make(chan *batch[T], queued)
		e.parts = make(chan *bytes.Buffer, 1)
		go wr.encode(e)
	}
	for i := 0; i < queued; i++ {
		wr.free <- newBatch[T]()
	}
	wr.cur = newBatch[T]()
	go wr.splice()
	return wr
}

// encode writes the batches e receives until e.in is closed. After an
// error it only recycles batches; an encoder of parts still hands one
// over at every cut, so that the splicer, which then drops them, never
// waits for a part that will not come.
func (w *Writer[T]) encode(e *encoder[T]) {
	defer close(e.parts)
	var buf *bytes.Buffer // the part being written
	for b := range e.in {
		var err error
		switch {
		case e.pw != nil:
			if w.failed.Load() == nil {
				if _, err = e.pw.Write(b.rows); err == nil && b.cut {
					err = e.pw.Flush()
				}
			}
		default:
			if buf == nil {
				buf = <-e.bufs
				buf.Reset()
				e.part.reset(buf)
			}
			if w.failed.Load() == nil {
				if err = e.part.write(b.rows); err == nil && b.cut {
					err = e.part.close()
				}
			}
		}
		if err != nil {
			w.fail(fmt.Errorf("parquet: %w", err))
		}
		if buf != nil && b.cut {
			e.parts <- buf
			buf = nil
		}
		if b.left.Add(-1) == 0 {
			b.reset()
			w.free <- b
		}
	}
}

// splice joins the encoders' parts of each row group into the output, in
// order. It ends when an encoder has ended, after draining the others.
func (w *Writer[T]) splice() {
	defer close(w.spliced)
	parts := make([]*bytes.Buffer, len(w.encoders))
	data := make([][]byte, len(w.encoders))
	for done := false; !done; {
		for i, e := range w.encoders {
			var ok bool
			if parts[i], ok = <-e.parts; !ok {
				done = true
				break
			}
			data[i] = parts[i].Bytes()
		}
		if !done && w.failed.Load() == nil {
			if err := w.splicer.add(data); err != nil {
				w.fail(err)
			}
		}
		for i, p := range parts {
			if p != nil {
				w.encoders[i].bufs <- p
			}
			parts[i] = nil
		}
	}
	for _, e := range w.encoders {
		for p := range e.parts {
			e.bufs <- p
		}
	}
}

func (w *Writer[T]) fail(err error) {
	w.failed.CompareAndSwap(nil, &err)
}

func (w *Writer[T]) err() error {
	if p := w.failed.Load(); p != nil {
		return *p
	}
	if w.closed {
		return errClosed
	}
	return nil
}

var errClosed = errors.New("columnar: writer closed")

// Rows returns how many rows were written.
func (w *Writer[T]) Rows() int64 { return w.rows }

// Write adds one row.
func (w *Writer[T]) Write(row *T) error {
	if err := w.err(); err != nil {
		return err
	}
	b := w.cur
	b.rows = append(b.rows, *row)
	n := rowOverhead
	switch r := any(&b.rows[len(b.rows)-1]).(type) {
	case *KeyRow:
		n += len(r.Key) + len(r.KeyUTF8) + len(r.Prefix)
		r.Key, r.KeyUTF8, r.Prefix = b.keep3(r.Key, r.KeyUTF8, r.Prefix)
		r.LargestElement = b.keepInt(r.LargestElement)
		r.IdleSeconds = b.keepInt(r.IdleSeconds)
		r.ExpireAt, r.SnapshotTime = b.keepInt(r.ExpireAt), b.keepInt(r.SnapshotTime)
		r.Shard, r.ServerVersion = b.keepString(r.Shard), b.keepString(r.ServerVersion)
		if r.TTLSeconds != nil {
			b.floats = append(b.floats, *r.TTLSeconds)
			r.TTLSeconds = &b.floats[len(b.floats)-1]
		}
		if r.LFUFreq != nil {
			b.int32s = append(b.int32s, *r.LFUFreq)
			r.LFUFreq = &b.int32s[len(b.int32s)-1]
		}
	case *DiffRow:
		n += len(r.Key) + len(r.KeyUTF8) + len(r.Prefix)
		r.Key, r.KeyUTF8, r.Prefix = b.keep3(r.Key, r.KeyUTF8, r.Prefix)
		r.OldLen, r.NewLen, r.LenDelta = b.keepInt(r.OldLen), b.keepInt(r.NewLen), b.keepInt(r.LenDelta)
		r.OldExpireAt, r.NewExpireAt = b.keepInt(r.OldExpireAt), b.keepInt(r.NewExpireAt)
		r.OldType, r.NewType = b.keepString(r.OldType), b.keepString(r.NewType)
		r.OldEstimatedBytes, r.NewEstimatedBytes = b.keepInt(r.OldEstimatedBytes), b.keepInt(r.NewEstimatedBytes)
		r.EstimatedBytesDelta = b.keepInt(r.EstimatedBytesDelta)
	}
	w.groupBytes += int64(n)
	w.groupRows++
	w.rows++
	if w.groupRows == w.opts.RowGroupRows || w.groupBytes >= w.opts.RowGroupBytes {
		b.cut = true
	}
	if b.cut || len(b.rows) == cap(b.rows) {
		w.send()
	}
	return nil
}

// send queues the current batch for every encoder and takes a free one.
func (w *Writer[T]) send() {
	if w.cur.cut {
		w.groupRows, w.groupBytes = 0, 0
	}
	w.cur.left.Store(int32(len(w.encoders)))
	for _, e := range w.encoders {
		e.in <- w.cur
	}
	w.cur = <-w.free
}

// keep3 copies a key and the text and prefix columns (which usually
// share its bytes) into the arena, preserving nil.
func (b *batch[T]) keep3(key, text, prefix []byte) ([]byte, []byte, []byte) {
	start := len(b.arena)
	b.arena = append(b.arena, key...)
	k := b.arena[start:len(b.arena):len(b.arena)]
	alias := func(p []byte) []byte {
		if p == nil {
			return nil
		}
		if len(p) <= len(key) && len(p) > 0 && &p[0] == &key[0] {
			return k[:len(p):len(p)]
		}
		s := len(b.arena)
		b.arena = append(b.arena, p...)
		return b.arena[s:len(b.arena):len(b.arena)]
	}
	return k, alias(text), alias(prefix)
}

func (b *batch[T]) keepInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	b.ints = append(b.ints, *p)
	return &b.ints[len(b.ints)-1]
}

func (b *batch[T]) keepString(p *string) *string {
	if p == nil {
		return nil
	}
	b.strs = append(b.strs, *p)
	return &b.strs[len(b.strs)-1]
}

// Close writes what is buffered and the file footer. The Writer's
// goroutines have ended when it returns.
func (w *Writer[T]) Close() error {
	if w.closed {
		return errClosed
	}
	w.closed = true
	if w.groupRows > 0 {
		w.cur.cut = true // the last row group ends here
		w.send()
	}
	for _, e := range w.encoders {
		close(e.in)
	}
	<-w.spliced
	if p := w.failed.Load(); p != nil {
		return *p
	}
	if w.splicer != nil {
		return w.splicer.close()
	}
	if err := w.encoders[0].pw.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}
