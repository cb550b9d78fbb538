package rewrite_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// A file holding key "a" twice in database 0: which record
// --on-duplicate keep-last leaves out.
func ExampleFindRepeats() {
	var buf bytes.Buffer
	w, _ := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, AllowDuplicateKeys: true})
	h := func(k string) rdb.KeyHeader { return rdb.KeyHeader{Key: []byte(k)} }
	w.SelectDB(0)
	w.WriteString(h("a"), []byte("first"))
	w.WriteString(h("b"), []byte("b"))
	w.WriteString(h("a"), []byte("last"))
	w.Close()
	data := buf.Bytes()

	open := func() (*rdb.Reader, io.Closer, error) {
		return rdb.NewReader(bytes.NewReader(data)), io.NopCloser(nil), nil
	}
	everyKey := func(rec *rdb.Record) (int, bool) { return rec.DB, true }
	rep, err := rewrite.FindRepeats(context.Background(), open, everyKey, rewrite.KeepLast, 0, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Keys, "key repeated:", rep.Examples, "-", rep.Left, "record left out")

	// Copy the file, leaving that record out.
	r := rdb.NewReader(bytes.NewReader(data))
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == rdb.KindKey && !rep.Skip(rec.Offset) {
			v, _ := r.ReadString()
			fmt.Printf("%s = %s\n", rec.Key, v)
		}
	}
	// Output:
	// 1 key repeated: [db 0 "a"] - 1 record left out
	// b = b
	// a = last
}

// What a Redis 7.0 target (RDB 10) cannot hold of a Redis 7.4 file, with
// the flag that leaves each out.
func ExampleChecker() {
	f, err := os.Open("../testdata/corpus/redis-7.4.1/main.rdb")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	chk := &rewrite.Checker{Opts: rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}}}
	var found rewrite.Findings
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		if why, bad, err := chk.Key(r, rec); err != nil {
			panic(err)
		} else if bad {
			found.Add(why, rec.DB, rec.Key)
		}
	}
	flags, _ := found.Flags()
	fmt.Println(flags)
	// Output:
	// [--drop-field-ttls --downgrade-streams]
}
