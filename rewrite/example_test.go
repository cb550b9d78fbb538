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

// Keep the strings of database 1 of a Redis 7.4 file and write them for
// Redis 6.2, whose files hold no function libraries (DropFunctions leaves
// the file's library out, as --drop-functions does).
func ExampleConverter() {
	in, err := os.Open("../testdata/corpus/redis-7.4.1/main.rdb")
	if err != nil {
		panic(err)
	}
	defer in.Close()
	target, _ := rdb.ParseTarget("redis-6.2")
	filter := &rewrite.KeyFilter{DBs: []int{1}, Types: []rdb.Type{rdb.TypeString}}

	var out bytes.Buffer
	c, err := rewrite.NewConverter(&out, rdb.WriterOptions{Target: target, Policy: rdb.DropFunctions}, rewrite.ConvertOptions{Filter: filter})
	if err != nil {
		panic(err)
	}
	if err := c.Start(); err != nil {
		panic(err)
	}
	if err := c.Convert(context.Background(), rdb.NewReader(in), nil); err != nil {
		panic(err)
	}
	if err := c.Close(); err != nil {
		panic(err)
	}
	fmt.Println(c.Writer().Stats().Keys, "keys written,", c.Stats().Filtered, "left out by the filter")

	r := rdb.NewReader(&out)
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.Kind == rdb.KindKey {
			fmt.Printf("RDB %d db %d %s\n", r.Version(), rec.DB, rec.Key)
		}
	}
	// Output:
	// 5 keys written, 96 left out by the filter
	// RDB 9 db 1 s1:ttl:far
	// RDB 9 db 1 s1:db1:str
	// RDB 9 db 1 s1:ttl:str
	// RDB 9 db 1 s1:db1:int
	// RDB 9 db 1 s1:ttl:strsec
}

// Split database 0 of a file into the halves of the cluster's slots, as
// two nodes owning slots 0-8191 and 8192-16383 would hold them.
func ExampleSplit() {
	in, err := os.Open("../testdata/corpus/redis-7.4.1/main.rdb")
	if err != nil {
		panic(err)
	}
	defer in.Close()
	ranges, _ := rewrite.SlotRanges(8192)
	outs := []io.Writer{new(bytes.Buffer), new(bytes.Buffer)}
	wo := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 12}}
	o := rewrite.ConvertOptions{Filter: &rewrite.KeyFilter{DBs: []int{0}}}
	convs, err := rewrite.Split(context.Background(), rdb.NewReader(in), nil, wo, o, ranges, outs)
	if err != nil {
		panic(err)
	}
	for i, c := range convs {
		fmt.Printf("slots %d-%d: %d keys\n", ranges[i].First, ranges[i].Last, c.Writer().Stats().Keys)
	}
	// Output:
	// slots 0-8191: 36 keys
	// slots 8192-16383: 43 keys
}
