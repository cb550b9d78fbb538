package columnar

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
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
// Fields are read at their offset in the row, found once by reflection
// on the same struct tags that give parquet-go the schema, so that a
// cell costs no call.

func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// field returns a pointer to the field at off in row.
func field[F any, T Row](row *T, off uintptr) *F { return (*F)(unsafe.Add(unsafe.Pointer(row), off)) }

// columnOf returns the column of a field of T of type typ at offset off.
func columnOf[T Row](typ reflect.Type, off uintptr, optional bool) (column[T], bool) {
	switch typ {
	case reflect.TypeFor[string]():
		return column[T]{cost: 2, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.ByteArrayValue(bytesOf(*field[string](&rows[i], off)))
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[*string]():
		return column[T]{cost: 2, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.NullValue()
				if p := *field[*string](&rows[i], off); p != nil {
					v = parquet.ByteArrayValue(bytesOf(*p))
					v.SetDefinitionLevel(1)
				}
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[[]byte]():
		if !optional {
			return column[T]{cost: 24, fill: func(rows []T, vals []parquet.Value, col int) {
				for i := range rows {
					v := parquet.ByteArrayValue(*field[[]byte](&rows[i], off))
					v.SetColumnIndex(col)
					vals[i] = v
				}
			}}, true
		}
		// A nil slice is null.
		return column[T]{cost: 24, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.NullValue()
				if b := *field[[]byte](&rows[i], off); b != nil {
					v = parquet.ByteArrayValue(b)
					v.SetDefinitionLevel(1)
				}
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[bool]():
		return column[T]{cost: 1, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.BooleanValue(*field[bool](&rows[i], off))
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[int32]():
		return column[T]{cost: 1, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.Int32Value(*field[int32](&rows[i], off))
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[*int32]():
		return column[T]{cost: 1, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.NullValue()
				if p := *field[*int32](&rows[i], off); p != nil {
					v = parquet.Int32Value(*p)
					v.SetDefinitionLevel(1)
				}
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[int64]():
		return column[T]{cost: 8, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.Int64Value(*field[int64](&rows[i], off))
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[*int64]():
		return column[T]{cost: 6, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.NullValue()
				if p := *field[*int64](&rows[i], off); p != nil {
					v = parquet.Int64Value(*p)
					v.SetDefinitionLevel(1)
				}
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	case reflect.TypeFor[*float64]():
		return column[T]{cost: 6, fill: func(rows []T, vals []parquet.Value, col int) {
			for i := range rows {
				v := parquet.NullValue()
				if p := *field[*float64](&rows[i], off); p != nil {
					v = parquet.DoubleValue(*p)
					v.SetDefinitionLevel(1)
				}
				v.SetColumnIndex(col)
				vals[i] = v
			}
		}}, true
	}
	return column[T]{}, false
}

// columnsOf returns the columns of T in the order of the schema's leaves.
// A field of a type columnOf does not know is a programming error, which
// every test catches.
func columnsOf[T Row](schema *parquet.Schema) []column[T] {
	t := reflect.TypeFor[T]()
	byName := map[string]column[T]{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		c, ok := columnOf[T](f.Type, f.Offset, slices.Contains(strings.Split(opts, ","), "optional"))
		if !ok {
			panic(fmt.Sprintf("columnar: no values for field %s %s", f.Name, f.Type))
		}
		c.name = name
		byName[name] = c
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
	if len(cols) != len(byName) {
		panic(fmt.Sprintf("columnar: %d columns in the schema, %d fields", len(cols), len(byName)))
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
