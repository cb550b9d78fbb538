package columnar

import (
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
// encoded and compressed on a goroutine of the Writer's own, in batches,
// while the caller produces the next ones. Close completes the file (the
// footer) but does not close the underlying io.Writer. Only the output
// is written to: it need not seek, so it may be a pipe or an S3 upload.
// A Writer is not safe for concurrent use.
type Writer[T Row] struct {
	pw   *parquet.GenericWriter[T]
	opts WriterOptions
	cur  *batch[T]
	// Batches circulate between Write and the encoding goroutine.
	full, free chan *batch[T]
	done       chan struct{}
	failed     atomic.Pointer[error] // the encoder's error

	groupBytes int64
	groupRows  int64
	rows       int64
	closed     bool
}

// batch is rows on their way to the encoder. arena holds their byte
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

// batchesInFlight is how many batches circulate: one being filled, the
// others queued or being encoded.
const batchesInFlight = 3

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
		pw:   parquet.NewGenericWriter[T](w, popts...),
		opts: opts,
		full: make(chan *batch[T], batchesInFlight),
		free: make(chan *batch[T], batchesInFlight),
		done: make(chan struct{}),
	}
	for i := 0; i < batchesInFlight-1; i++ {
		wr.free <- newBatch[T]()
	}
	wr.cur = newBatch[T]()
	go wr.encode()
	return wr
}

// encode hands full batches to the Parquet encoder until full is closed.
// After an error it only recycles batches.
func (w *Writer[T]) encode() {
	defer close(w.done)
	for b := range w.full {
		if w.failed.Load() == nil {
			var err error
			if _, err = w.pw.Write(b.rows); err == nil && b.cut {
				err = w.pw.Flush()
			}
			if err != nil {
				err = fmt.Errorf("parquet: %w", err)
				w.failed.Store(&err)
			}
		}
		b.reset()
		w.free <- b
	}
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
	w.rows++
	if w.groupRows++; w.groupRows == w.opts.RowGroupRows {
		w.groupRows, w.groupBytes = 0, 0 // the encoder cuts the row group here
	}
	if w.groupBytes >= w.opts.RowGroupBytes {
		w.groupRows, w.groupBytes = 0, 0
		b.cut = true
	}
	if b.cut || len(b.rows) == cap(b.rows) {
		w.send()
	}
	return nil
}

// send queues the current batch and takes a free one.
func (w *Writer[T]) send() {
	w.full <- w.cur
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
// goroutine has ended when it returns.
func (w *Writer[T]) Close() error {
	if w.closed {
		return errClosed
	}
	w.closed = true
	if len(w.cur.rows) > 0 {
		w.full <- w.cur
	}
	close(w.full)
	<-w.done
	if p := w.failed.Load(); p != nil {
		return *p
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("parquet: %w", err)
	}
	return nil
}
