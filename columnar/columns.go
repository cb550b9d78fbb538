package columnar

import (
	"fmt"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// A Writer hands its rows to parquet-go column by column, as values,
// rather than through parquet-go's reflection over row structs: that
// shredding took as long as the scan, and by column the columns can be
// encoded and compressed on several goroutines at once.

// column fills the values of one column from a batch of rows: vals has
// one value per row, at definition level 0 (null) or 1 (set) for an
// optional column, and the column's index.
type column[T Row] struct {
	name string
	// cost weighs the column's work (its bytes before compression per
	// row, roughly), to share the columns between the encoders.
	cost int
	fill func(rows []T, vals []parquet.Value, col int)
}

// Values get their levels in place (SetDefinitionLevel, SetColumnIndex),
// which the compiler inlines, unlike parquet.Value.Level: once per cell.

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func reqBytes[T Row](name string, cost int, get func(*T) []byte) column[T] {
	return column[T]{name, cost, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			v := parquet.ByteArrayValue(get(&rows[i]))
			v.SetColumnIndex(col)
			vals[i] = v
		}
	}}
}

func reqString[T Row](name string, cost int, get func(*T) string) column[T] {
	return column[T]{name, cost, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			v := parquet.ByteArrayValue(bytesOf(get(&rows[i])))
			v.SetColumnIndex(col)
			vals[i] = v
		}
	}}
}

// optBytes is an optional byte array column; a nil slice is null.
func optBytes[T Row](name string, cost int, get func(*T) []byte) column[T] {
	return column[T]{name, cost, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			if b := get(&rows[i]); b != nil {
				v := parquet.ByteArrayValue(b)
				v.SetDefinitionLevel(1)
				v.SetColumnIndex(col)
				vals[i] = v
			} else {
				v := parquet.NullValue()
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}
	}}
}

func optString[T Row](name string, cost int, get func(*T) *string) column[T] {
	return column[T]{name, cost, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			if p := get(&rows[i]); p != nil {
				v := parquet.ByteArrayValue(bytesOf(*p))
				v.SetDefinitionLevel(1)
				v.SetColumnIndex(col)
				vals[i] = v
			} else {
				v := parquet.NullValue()
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}
	}}
}

func reqInt32[T Row](name string, get func(*T) int32) column[T] {
	return column[T]{name, 1, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			v := parquet.Int32Value(get(&rows[i]))
			v.SetColumnIndex(col)
			vals[i] = v
		}
	}}
}

func reqInt64[T Row](name string, get func(*T) int64) column[T] {
	return column[T]{name, 8, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			v := parquet.Int64Value(get(&rows[i]))
			v.SetColumnIndex(col)
			vals[i] = v
		}
	}}
}

func reqBool[T Row](name string, get func(*T) bool) column[T] {
	return column[T]{name, 1, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			v := parquet.BooleanValue(get(&rows[i]))
			v.SetColumnIndex(col)
			vals[i] = v
		}
	}}
}

func optInt64[T Row](name string, cost int, get func(*T) *int64) column[T] {
	return column[T]{name, cost, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			if p := get(&rows[i]); p != nil {
				v := parquet.Int64Value(*p)
				v.SetDefinitionLevel(1)
				v.SetColumnIndex(col)
				vals[i] = v
			} else {
				v := parquet.NullValue()
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}
	}}
}

func optInt32[T Row](name string, get func(*T) *int32) column[T] {
	return column[T]{name, 1, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			if p := get(&rows[i]); p != nil {
				v := parquet.Int32Value(*p)
				v.SetDefinitionLevel(1)
				v.SetColumnIndex(col)
				vals[i] = v
			} else {
				v := parquet.NullValue()
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}
	}}
}

func optDouble[T Row](name string, cost int, get func(*T) *float64) column[T] {
	return column[T]{name, cost, func(rows []T, vals []parquet.Value, col int) {
		for i := range rows {
			if p := get(&rows[i]); p != nil {
				v := parquet.DoubleValue(*p)
				v.SetDefinitionLevel(1)
				v.SetColumnIndex(col)
				vals[i] = v
			} else {
				v := parquet.NullValue()
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}
	}}
}

// keyColumns are KeyRow's columns; their names are those of its struct
// tags, which give the schema.
var keyColumns = []column[KeyRow]{
	reqString("source", 1, func(r *KeyRow) string { return r.Source }),
	optString("shard", 1, func(r *KeyRow) *string { return r.Shard }),
	optInt64("snapshot_time", 1, func(r *KeyRow) *int64 { return r.SnapshotTime }),
	optString("server_version", 1, func(r *KeyRow) *string { return r.ServerVersion }),
	reqInt32("rdb_version", func(r *KeyRow) int32 { return r.RDBVersion }),
	reqInt32("db", func(r *KeyRow) int32 { return r.DB }),
	reqBytes("key", 24, func(r *KeyRow) []byte { return r.Key }),
	optBytes("key_utf8", 24, func(r *KeyRow) []byte { return r.KeyUTF8 }),
	reqString("type", 2, func(r *KeyRow) string { return r.Type }),
	reqString("encoding", 2, func(r *KeyRow) string { return r.Encoding }),
	reqInt64("estimated_bytes", func(r *KeyRow) int64 { return r.EstimatedBytes }),
	reqInt64("elements", func(r *KeyRow) int64 { return r.Elements }),
	optInt64("largest_element", 8, func(r *KeyRow) *int64 { return r.LargestElement }),
	optInt64("expire_at", 4, func(r *KeyRow) *int64 { return r.ExpireAt }),
	optDouble("ttl_seconds", 4, func(r *KeyRow) *float64 { return r.TTLSeconds }),
	optInt64("idle_seconds", 2, func(r *KeyRow) *int64 { return r.IdleSeconds }),
	optInt32("lfu_freq", func(r *KeyRow) *int32 { return r.LFUFreq }),
	optBytes("prefix", 20, func(r *KeyRow) []byte { return r.Prefix }),
}

var diffColumns = []column[DiffRow]{
	reqString("kind", 1, func(r *DiffRow) string { return r.Kind }),
	reqInt32("db", func(r *DiffRow) int32 { return r.DB }),
	reqBytes("key", 24, func(r *DiffRow) []byte { return r.Key }),
	optBytes("key_utf8", 24, func(r *DiffRow) []byte { return r.KeyUTF8 }),
	optString("old_type", 1, func(r *DiffRow) *string { return r.OldType }),
	optString("new_type", 1, func(r *DiffRow) *string { return r.NewType }),
	optInt64("old_expire_at", 4, func(r *DiffRow) *int64 { return r.OldExpireAt }),
	optInt64("new_expire_at", 4, func(r *DiffRow) *int64 { return r.NewExpireAt }),
	reqBool("ttl_changed", func(r *DiffRow) bool { return r.TTLChanged }),
	optInt64("old_len", 4, func(r *DiffRow) *int64 { return r.OldLen }),
	optInt64("new_len", 4, func(r *DiffRow) *int64 { return r.NewLen }),
	optInt64("len_delta", 4, func(r *DiffRow) *int64 { return r.LenDelta }),
	optBytes("prefix", 20, func(r *DiffRow) []byte { return r.Prefix }),
	reqString("old_source", 1, func(r *DiffRow) string { return r.OldSource }),
	reqString("new_source", 1, func(r *DiffRow) string { return r.NewSource }),
	optInt64("old_estimated_bytes", 8, func(r *DiffRow) *int64 { return r.OldEstimatedBytes }),
	optInt64("new_estimated_bytes", 8, func(r *DiffRow) *int64 { return r.NewEstimatedBytes }),
	optInt64("estimated_bytes_delta", 8, func(r *DiffRow) *int64 { return r.EstimatedBytesDelta }),
}

// columnsOf returns the columns of T in the order of the schema's leaves,
// which parquet-go derives from T's struct tags; a column missing from
// the tables above is a programming error, caught by every test.
func columnsOf[T Row](schema *parquet.Schema) []column[T] {
	var table []column[T]
	switch any(table).(type) {
	case []column[KeyRow]:
		table = any(keyColumns).([]column[T])
	case []column[DiffRow]:
		table = any(diffColumns).([]column[T])
	}
	byName := map[string]column[T]{}
	for _, c := range table {
		byName[c.name] = c
	}
	paths := schema.Columns()
	cols := make([]column[T], len(paths))
	for i, p := range paths {
		c, ok := byName[p[0]]
		if len(p) != 1 || !ok {
			panic(fmt.Sprintf("columnar: no values for column %v", p))
		}
		cols[i] = c
	}
	if len(cols) != len(table) {
		panic(fmt.Sprintf("columnar: %d columns in the schema, %d filled", len(cols), len(table)))
	}
	return cols
}

// shareColumns splits the columns between n encoders, heaviest first to
// the least loaded.
func shareColumns[T Row](cols []column[T], n int) [][]int {
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	// Insertion sort by cost, descending: a few dozen columns.
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && cols[order[j]].cost > cols[order[j-1]].cost; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	shares := make([][]int, n)
	load := make([]int, n)
	for _, c := range order {
		least := 0
		for e := range n {
			if load[e] < load[least] {
				least = e
			}
		}
		shares[least] = append(shares[least], c)
		load[least] += cols[c].cost
	}
	return shares
}
