package rdb_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// readValues reads every key value of data into memory, in file order;
// a value that cannot be read is nil.
func readValues(t *testing.T, data []byte) []*rdb.Value {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data))
	var out []*rdb.Value
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			v, err := r.ReadValue()
			if err != nil {
				v = nil
			}
			out = append(out, v)
		}
	}
}

// TestRawValueIsDumpPayload: for every key of every corpus file, the
// stored bytes RawValue returns, completed with AppendDumpTrailer, are a
// DUMP payload that decodes to the value the file holds; with a small read
// buffer too, so that values span refills.
func TestRawValueIsDumpPayload(t *testing.T) {
	t.Parallel()
	keys := 0
	local := filepath.Join(corpustest.Root(), "testdata")
	for _, f := range corpustest.Files(t) {
		if testing.Short() && !strings.HasPrefix(f.RDB, local) {
			continue // -short: the fixtures in testdata, not the large shared files
		}
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		want := readValues(t, data)
		r := rdb.NewReader(bytes.NewReader(data), rdb.WithBufferSize(4096))
		i := 0
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			raw, err := r.RawValue()
			if want[i] == nil {
				i++
				continue // a value ReadValue refuses (pre-release module type)
			}
			if err != nil {
				t.Fatalf("%s: key %q: %v", f.Name, rec.Key, err)
			}
			if raw[0] != rec.RDBType {
				t.Fatalf("%s: key %q: RawValue starts with %d, the type byte is %d", f.Name, rec.Key, raw[0], rec.RDBType)
			}
			payload := rdb.AppendDumpTrailer(bytes.Clone(raw), r.Version())
			dr, err := rdb.NewDumpReader(payload)
			if err != nil {
				t.Fatalf("%s: key %q: %v", f.Name, rec.Key, err)
			}
			if _, err := dr.Next(); err != nil {
				t.Fatalf("%s: key %q: %v", f.Name, rec.Key, err)
			}
			got, err := dr.ReadValue()
			if err != nil {
				t.Fatalf("%s: key %q: payload: %v", f.Name, rec.Key, err)
			}
			if _, err := dr.Next(); err != io.EOF {
				t.Fatalf("%s: key %q: payload not used up: %v", f.Name, rec.Key, err)
			}
			if !sameValue(reflect.ValueOf(got), reflect.ValueOf(want[i])) {
				t.Errorf("%s: key %q: payload decodes to another value", f.Name, rec.Key)
			}
			if rec.Size == 0 {
				t.Errorf("%s: key %q: Record.Size not set after RawValue", f.Name, rec.Key)
			}
			i++
			keys++
		}
	}
	if keys < 1000 {
		t.Errorf("only %d keys checked", keys)
	}
}

// TestRawValueAfterRead: RawValue refuses a value already (partly) read,
// and outside a key.
func TestRawValueAfterRead(t *testing.T) {
	var buf bytes.Buffer
	w, _ := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
	w.WriteString(rdb.KeyHeader{Key: []byte("k")}, []byte("v"))
	w.Close()
	r := rdb.NewReader(bytes.NewReader(buf.Bytes()))
	if _, err := r.RawValue(); !errors.Is(err, rdb.ErrWrongType) {
		t.Errorf("before Next: %v, want ErrWrongType", err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadString(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.RawValue(); !errors.Is(err, rdb.ErrWrongType) {
		t.Errorf("after ReadString: %v, want ErrWrongType", err)
	}
}

// sameValue is reflect.DeepEqual, except that a nil slice equals an empty
// one (whether a reader hands out nil or empty is not part of a value).
func sameValue(a, b reflect.Value) bool {
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || x != x && y != y
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}
