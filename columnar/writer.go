package columnar

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
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
// row, so the caller may reuse it and what it points to. Close completes
// the file (the footer) but does not close the underlying io.Writer.
// Only the output is written to: it need not seek, so it may be a pipe or
// an S3 upload. A Writer is not safe for concurrent use.
type Writer[T Row] struct {
	pw    *parquet.GenericWriter[T]
	opts  WriterOptions
	batch []T
	// arena holds the batch's byte slices; ints, floats and int32s the
	// values of its pointer fields (sized so they never move).
	arena  []byte
	ints   []int64
	floats []float64
	int32s []int32
	strs   []string

	groupBytes int64
	groupRows  int64
	rows       int64
	err        error
}

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
		parquet.Compression(&parquet.Zstd),
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
	return &Writer[T]{
		pw:     parquet.NewGenericWriter[T](w, popts...),
		opts:   opts,
		batch:  make([]T, 0, batchRows),
		arena:  make([]byte, 0, 64<<10), // non-nil: an empty key is not null
		ints:   make([]int64, 0, 5*batchRows),
		strs:   make([]string, 0, 2*batchRows),
		floats: make([]float64, 0, batchRows),
		int32s: make([]int32, 0, batchRows),
	}
}

// Rows returns how many rows were written.
func (w *Writer[T]) Rows() int64 { return w.rows }

// Write adds one row.
func (w *Writer[T]) Write(row *T) error {
	if w.err != nil {
		return w.err
	}
	w.batch = append(w.batch, *row)
	n := rowOverhead
	switch r := any(&w.batch[len(w.batch)-1]).(type) {
	case *KeyRow:
		n += len(r.Key) + len(r.KeyUTF8) + len(r.Prefix)
		r.Key, r.KeyUTF8, r.Prefix = w.keep3(r.Key, r.KeyUTF8, r.Prefix)
		r.LargestElement = w.keepInt(r.LargestElement)
		r.IdleSeconds = w.keepInt(r.IdleSeconds)
		r.ExpireAt, r.SnapshotTime = w.keepInt(r.ExpireAt), w.keepInt(r.SnapshotTime)
		r.Shard, r.ServerVersion = w.keepString(r.Shard), w.keepString(r.ServerVersion)
		if r.TTLSeconds != nil {
			w.floats = append(w.floats, *r.TTLSeconds)
			r.TTLSeconds = &w.floats[len(w.floats)-1]
		}
		if r.LFUFreq != nil {
			w.int32s = append(w.int32s, *r.LFUFreq)
			r.LFUFreq = &w.int32s[len(w.int32s)-1]
		}
	case *DiffRow:
		n += len(r.Key) + len(r.KeyUTF8) + len(r.Prefix)
		r.Key, r.KeyUTF8, r.Prefix = w.keep3(r.Key, r.KeyUTF8, r.Prefix)
		r.OldLen, r.NewLen, r.LenDelta = w.keepInt(r.OldLen), w.keepInt(r.NewLen), w.keepInt(r.LenDelta)
		r.OldExpireAt, r.NewExpireAt = w.keepInt(r.OldExpireAt), w.keepInt(r.NewExpireAt)
		r.OldType, r.NewType = w.keepString(r.OldType), w.keepString(r.NewType)
	}
	w.groupBytes += int64(n)
	w.rows++
	if w.groupRows++; w.groupRows == w.opts.RowGroupRows {
		w.groupRows, w.groupBytes = 0, 0 // the encoder cuts the row group here
	}
	if len(w.batch) == cap(w.batch) {
		return w.flushBatch()
	}
	return nil
}

// keep3 copies a key and the text and prefix columns (which usually
// share its bytes) into the arena, preserving nil.
func (w *Writer[T]) keep3(key, text, prefix []byte) ([]byte, []byte, []byte) {
	start := len(w.arena)
	w.arena = append(w.arena, key...)
	k := w.arena[start:len(w.arena):len(w.arena)]
	alias := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		if len(b) <= len(key) && len(key) > 0 && len(b) > 0 && &b[0] == &key[0] {
			return k[:len(b):len(b)]
		}
		s := len(w.arena)
		w.arena = append(w.arena, b...)
		return w.arena[s:len(w.arena):len(w.arena)]
	}
	return k, alias(text), alias(prefix)
}

func (w *Writer[T]) keepInt(p *int64) *int64 {
	if p == nil {
		return nil
	}
	w.ints = append(w.ints, *p)
	return &w.ints[len(w.ints)-1]
}

func (w *Writer[T]) keepString(p *string) *string {
	if p == nil {
		return nil
	}
	w.strs = append(w.strs, *p)
	return &w.strs[len(w.strs)-1]
}

func (w *Writer[T]) flushBatch() error {
	if len(w.batch) > 0 {
		if _, err := w.pw.Write(w.batch); err != nil {
			w.err = fmt.Errorf("parquet: %w", err)
			return w.err
		}
	}
	clear(w.batch) // drop references to the arena's old arrays
	w.batch, w.arena = w.batch[:0], w.arena[:0]
	w.ints, w.floats, w.int32s = w.ints[:0], w.floats[:0], w.int32s[:0]
	clear(w.strs)
	w.strs = w.strs[:0]
	if w.groupBytes >= w.opts.RowGroupBytes {
		w.groupBytes, w.groupRows = 0, 0
		if err := w.pw.Flush(); err != nil {
			w.err = fmt.Errorf("parquet: %w", err)
			return w.err
		}
	}
	return nil
}

// Close writes what is buffered and the file footer.
func (w *Writer[T]) Close() error {
	if w.err != nil {
		return w.err
	}
	if err := w.flushBatch(); err != nil {
		return err
	}
	if err := w.pw.Close(); err != nil {
		w.err = fmt.Errorf("parquet: %w", err)
		return w.err
	}
	w.err = fmt.Errorf("columnar: writer closed")
	return nil
}
