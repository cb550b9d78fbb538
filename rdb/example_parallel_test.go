package rdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/rdbtool/rdbtool/rdb"
)

// Count the elements of every key on all cores, with the results in file
// order: Work runs on the workers, Sink here.
func ExampleReadParallel() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/main.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	type count struct {
		key      []byte
		elements int
	}
	var keys, elements int
	var first []byte
	err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{KeysOnly: true}, rdb.ParallelHandler[count]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *count) error {
			out.key = w.Keep(rec.Key) // rec.Key is reused: keep it with the result
			if rec.Type == rdb.TypeString || rec.Type == rdb.TypeStream || rec.Type == rdb.TypeModule {
				out.elements = 1
				return nil
			}
			for _, err := range w.Reader.Elements() {
				if err != nil {
					return err
				}
				out.elements++
			}
			return nil
		},
		Sink: func(c *count) error {
			if keys == 0 {
				first = append(first, c.key...)
			}
			keys++
			elements += c.elements
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	st, _ := r.Checksum()
	fmt.Printf("%d keys, %d elements, first %s, checksum %s\n", keys, elements, first, st)
	// Output:
	// 96 keys, 3330 elements, first s1:str:int:14, checksum verified
}

// Write keys a run at a time, telling the duplicate-key check which names
// come next so that it looks them up together (convert's parallel sink
// does this for each ParallelHandler.SinkBatch). A repeat is still
// refused where it comes.
func ExampleWriter_PrefetchKeys() {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
	if err != nil {
		log.Fatal(err)
	}
	names := [][]byte{[]byte("a"), []byte("b"), []byte("a")}
	w.PrefetchKeys(names)
	for _, k := range names {
		err := w.WriteString(rdb.KeyHeader{Key: k}, []byte("v"))
		fmt.Printf("%s: refused %v\n", k, errors.Is(err, rdb.ErrDuplicateKey))
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	// Output:
	// a: refused false
	// b: refused false
	// a: refused true
}
