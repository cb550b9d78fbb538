package rdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// copiedRecords lists the records of an RDB file as text, keys with their
// values read into memory.
func copiedRecords(t *testing.T, data []byte) []string {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data))
	var out []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case rdb.KindKey:
			v, err := r.ReadValue()
			if err != nil {
				t.Fatal(err)
			}
			kind := "key"
			switch v.Type {
			case rdb.TypeList, rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash:
				if len(v.Items)+len(v.ZSet)+len(v.Hash) == 0 {
					kind = "empty-key" // a Writer leaves it out, as a server does
				}
			}
			out = append(out, fmt.Sprintf("%s db=%d %q exp=%d idle=%d freq=%d %s", kind, rec.DB, rec.Key, rec.ExpireAt, rec.Idle, rec.Freq, canonValue(v)))
		case rdb.KindAux:
			out = append(out, fmt.Sprintf("aux %s=%s", rec.AuxKey, rec.AuxValue))
		case rdb.KindSelectDB:
			out = append(out, fmt.Sprintf("select %d", rec.DB))
		case rdb.KindResizeDB:
			out = append(out, fmt.Sprintf("resize %d %d", rec.DBSize, rec.ExpiresSize))
		case rdb.KindFunction:
			out = append(out, fmt.Sprintf("function %q", rec.FunctionCode()))
		default:
			out = append(out, rec.Kind.String())
		}
	}
}

// copySource is an RDB 11 file with the aux fields a Redis 7.2 server
// writes (and replication state), two databases and keys of several types.
func copySource(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"redis-ver", "7.2.6"}, {"redis-bits", "64"}, {"ctime", "1700000000"},
		{"used-mem", "1234567"}, {"repl-stream-db", "0"}, {"repl-id", "0123456789abcdef0123456789abcdef01234567"},
		{"repl-offset", "99"}, {"aof-base", "1"}} {
		must(t, w.WriteAux([]byte(kv[0]), []byte(kv[1])))
	}
	must(t, w.WriteFunction([]byte("#!lua name=lib\nredis.register_function('f', function() return 1 end)")))
	must(t, w.SelectDB(0))
	must(t, w.ResizeDB(3, 1))
	must(t, w.WriteString(rdb.KeyHeader{Key: []byte("s"), ExpireAt: 4102444800000}, []byte("hello")))
	l, _ := w.BeginList(rdb.KeyHeader{Key: []byte("l"), Idle: 7, HasIdle: true}, 3)
	for _, e := range []string{"a", "12", "c"} {
		must(t, l.Add(rdb.Element{Member: []byte(e)}))
	}
	must(t, l.Close())
	h, _ := w.BeginHash(rdb.KeyHeader{Key: []byte("h")}, -1)
	must(t, h.Add(rdb.Element{Member: []byte("f"), Value: []byte("v")}))
	must(t, h.Close())
	must(t, w.SelectDB(2))
	must(t, w.ResizeDB(1, 0))
	z, _ := w.BeginZSet(rdb.KeyHeader{Key: []byte("z")}, 2)
	must(t, z.Add(rdb.Element{Member: []byte("m"), Score: 1.5}))
	must(t, z.Add(rdb.Element{Member: []byte("n"), Score: -2}))
	must(t, z.Close())
	must(t, w.Close())
	return buf.Bytes()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyTo(t *testing.T, src []byte, target rdb.Target, opts rdb.CopyOptions) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	err = rdb.Copy(w, rdb.NewReader(bytes.NewReader(src)), opts)
	return buf.Bytes(), err
}

// TestCopyAux: Copy rewrites redis-ver for the target, writes aof-base 0,
// keeps the snapshot's facts and leaves the source server's replication
// state out; every other record comes through with its values.
func TestCopyAux(t *testing.T) {
	src := copySource(t)
	out, err := copyTo(t, src, rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, rdb.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aux redis-ver=7.0.15", "aux redis-bits=64", "aux ctime=1700000000", "aux used-mem=1234567", "aux aof-base=0"}
	var wantRest []string
	for _, s := range copiedRecords(t, src) {
		if !strings.HasPrefix(s, "aux ") {
			wantRest = append(wantRest, s)
		}
	}
	want = append(want, wantRest...)
	if got := copiedRecords(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("copied records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// KeepAux and ServerVersion override the defaults.
	out, err = copyTo(t, src, rdb.Target{Dialect: rdb.DialectRedis, Version: 11}, rdb.CopyOptions{
		KeepAux:       func(k []byte) bool { return string(k) == "redis-ver" || string(k) == "repl-offset" },
		ServerVersion: "7.2.0",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := copiedRecords(t, out)[:2]; !reflect.DeepEqual(got, []string{"aux redis-ver=7.2.0", "aux repl-offset=99"}) {
		t.Errorf("with KeepAux: %q", got)
	}
}

// TestCopyFilters: with Keep and MapDB, databases are selected before their
// first kept key, resize hints are left out, and module-free keys pass.
func TestCopyFilters(t *testing.T) {
	src := copySource(t)
	out, err := copyTo(t, src, rdb.Target{Dialect: rdb.DialectRedis, Version: 11}, rdb.CopyOptions{
		Keep:    func(rec *rdb.Record) bool { return rec.Key[0] != 's' },
		MapDB:   func(db int) int { return map[int]int{0: 5, 2: 5}[db] },
		KeepAux: func([]byte) bool { return false },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := copiedRecords(t, out)
	want := []string{`function "#!lua name=lib\nredis.register_function('f', function() return 1 end)"`, "select 5"}
	for _, s := range copiedRecords(t, src) {
		if strings.HasPrefix(s, "key") && !strings.Contains(s, `"s"`) {
			s = strings.Replace(strings.Replace(s, "db=0", "db=5", 1), "db=2", "db=5", 1)
			want = append(want, s)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("copied records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestCopyErrorAborts: a Copy that fails (a function library for RDB 9,
// without DropFunctions) leaves output that no reader takes for a whole
// file, and names the problem.
func TestCopyErrorAborts(t *testing.T) {
	out, err := copyTo(t, copySource(t), rdb.Target{Dialect: rdb.DialectRedis, Version: 9}, rdb.CopyOptions{})
	if !errors.Is(err, rdb.ErrUnsupported) {
		t.Fatalf("Copy to RDB 9: %v, want ErrUnsupported", err)
	}
	r := rdb.NewReader(bytes.NewReader(out))
	for {
		_, err := r.Next()
		if err == io.EOF {
			t.Fatal("the output of a failed Copy reads as a complete file")
		}
		if err != nil {
			if !errors.Is(err, rdb.ErrTruncated) {
				t.Errorf("reading the aborted output: %v, want ErrTruncated", err)
			}
			return
		}
	}
}

// TestCopyCorpusValues: every corpus file copied to its own format holds
// the same keys with the same values, and copied twice gives the same
// bytes (a fixed point).
func TestCopyCorpusValues(t *testing.T) {
	n := 0
	for _, f := range corpustest.Files(t) {
		if testing.Short() && n >= 20 {
			break
		}
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		r := rdb.NewReader(bytes.NewReader(data))
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		target, err := rdb.TargetOf(r)
		if err != nil {
			continue // RDB 1 to 5: not a target
		}
		n++
		once, err := copyTo(t, data, target, rdb.CopyOptions{})
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		twice, err := copyTo(t, once, target, rdb.CopyOptions{})
		if err != nil {
			t.Errorf("%s: copying the copy: %v", f.Name, err)
			continue
		}
		if !bytes.Equal(once, twice) {
			t.Errorf("%s: copying the copy changes %d bytes into %d", f.Name, len(once), len(twice))
		}
		if a, b := keyRecords(copiedRecords(t, data)), keyRecords(copiedRecords(t, once)); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %d keys read, %d in the copy, or values differ", f.Name, len(a), len(b))
		}
	}
	if n < 10 {
		t.Errorf("only %d files copied", n)
	}
}

// keyRecords keeps the key lines of records.
func keyRecords(recs []string) []string {
	var out []string
	for _, s := range recs {
		if strings.HasPrefix(s, "key ") {
			out = append(out, s)
		}
	}
	return out
}

// TestCopyKeyDBMemberExpiry: KeyDB's member expiries, which no Redis file
// can hold, make Copy fail rather than drop them silently; a KeepAux that
// leaves them out is the caller's explicit choice.
func TestCopyKeyDBMemberExpiry(t *testing.T) {
	src, err := os.ReadFile("testdata/keydb-active-replica.rdb")
	if err != nil {
		t.Fatal(err)
	}
	target := rdb.Target{Dialect: rdb.DialectRedis, Version: 9}
	if _, err := copyTo(t, src, target, rdb.CopyOptions{}); !errors.Is(err, rdb.ErrUnsupported) || !strings.Contains(err.Error(), "keydb-subexpire-key") {
		t.Fatalf("Copy of a KeyDB file with member expiries: %v, want ErrUnsupported naming keydb-subexpire-key", err)
	}
	out, err := copyTo(t, src, target, rdb.CopyOptions{KeepAux: func([]byte) bool { return false }})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := keyRecords(copiedRecords(t, src)), keyRecords(copiedRecords(t, out)); len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Errorf("%d keys in the KeyDB file, %d in the copy, or values differ", len(a), len(b))
	}
}
