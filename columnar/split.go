package columnar

import (
	"io"

	"github.com/parquet-go/parquet-go"
)

// A KeyRow writer with two encoders splits the columns between them by
// weight: keyColumns (the key, its text and its prefix: most of the bytes
// to compress) on one, keyOtherColumns on the other. Their tags are
// KeyRow's; TestSplitColumnsAreKeyRows holds them to it.
type keyColumns struct {
	Key     []byte `parquet:"key"`
	KeyUTF8 []byte `parquet:"key_utf8,optional,string"`
	Prefix  []byte `parquet:"prefix,optional,dict,string"`
}

type keyOtherColumns struct {
	Source         string   `parquet:"source,dict"`
	Shard          *string  `parquet:"shard,optional,dict"`
	SnapshotTime   *int64   `parquet:"snapshot_time,optional,dict,timestamp(millisecond)"`
	ServerVersion  *string  `parquet:"server_version,optional,dict"`
	RDBVersion     int32    `parquet:"rdb_version,dict"`
	DB             int32    `parquet:"db,dict"`
	Type           string   `parquet:"type,dict"`
	Encoding       string   `parquet:"encoding,dict"`
	EstimatedBytes int64    `parquet:"estimated_bytes"`
	Elements       int64    `parquet:"elements"`
	LargestElement *int64   `parquet:"largest_element,optional"`
	ExpireAt       *int64   `parquet:"expire_at,optional,timestamp(millisecond)"`
	TTLSeconds     *float64 `parquet:"ttl_seconds,optional"`
	IdleSeconds    *int64   `parquet:"idle_seconds,optional"`
	LFUFreq        *int32   `parquet:"lfu_freq,optional"`
}

func keyColumnsOf(dst []keyColumns, rows []KeyRow) []keyColumns {
	for i := range rows {
		r := &rows[i]
		dst = append(dst, keyColumns{Key: r.Key, KeyUTF8: r.KeyUTF8, Prefix: r.Prefix})
	}
	return dst
}

func keyOtherColumnsOf(dst []keyOtherColumns, rows []KeyRow) []keyOtherColumns {
	for i := range rows {
		r := &rows[i]
		dst = append(dst, keyOtherColumns{Source: r.Source, Shard: r.Shard, SnapshotTime: r.SnapshotTime,
			ServerVersion: r.ServerVersion, RDBVersion: r.RDBVersion, DB: r.DB, Type: r.Type, Encoding: r.Encoding,
			EstimatedBytes: r.EstimatedBytes, Elements: r.Elements, LargestElement: r.LargestElement,
			ExpireAt: r.ExpireAt, TTLSeconds: r.TTLSeconds, IdleSeconds: r.IdleSeconds, LFUFreq: r.LFUFreq})
	}
	return dst
}

// partWriter writes some of the columns of rows of type T into a part:
// a Parquet file of one row group, which the splicer joins with the
// other encoders' parts of the same rows.
type partWriter[T Row] interface {
	reset(w io.Writer)
	write(rows []T) error
	close() error
}

// columnsWriter is a partWriter of the columns of C, converted from T.
type columnsWriter[T Row, C any] struct {
	popts []parquet.WriterOption
	pw    *parquet.GenericWriter[C]
	conv  func([]C, []T) []C
	rows  []C
}

func (c *columnsWriter[T, C]) reset(w io.Writer) {
	if c.pw == nil {
		c.pw = parquet.NewGenericWriter[C](w, c.popts...)
		return
	}
	c.pw.Reset(w)
}

func (c *columnsWriter[T, C]) write(rows []T) error {
	c.rows = c.conv(c.rows[:0], rows)
	_, err := c.pw.Write(c.rows)
	clear(c.rows) // drop references to the batch
	return err
}

func (c *columnsWriter[T, C]) close() error { return c.pw.Close() }

// splitKeyRows returns the partWriters of a KeyRow writer of two
// encoders; nil for other row types.
func splitKeyRows[T Row](popts []parquet.WriterOption) []partWriter[T] {
	if _, ok := any((*T)(nil)).(*KeyRow); !ok {
		return nil
	}
	keys := &columnsWriter[KeyRow, keyColumns]{popts: popts, conv: keyColumnsOf}
	others := &columnsWriter[KeyRow, keyOtherColumns]{popts: popts, conv: keyOtherColumnsOf}
	return []partWriter[T]{any(keys).(partWriter[T]), any(others).(partWriter[T])}
}
