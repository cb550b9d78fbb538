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
// order: Work runs on the workers, Sink here. The file is also given as
// the ReaderAt, so that each worker reads its own records from it.
func ExampleReadParallel() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/main.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f, rdb.WithReaderAt(f))
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

// Count elements again, letting large collections go to the workers in
// parts: each part is an ordinary value holding a run of the elements,
// and Sink adds the parts up. (A 4 KiB buffer makes every collection over
// 1 KiB large; the default buffer is 1 MiB.)
func ExampleParallelHandler_split() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/main.rdb")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	type count struct {
		elements int
		part     bool
		last     bool
	}
	var keys, elements, inParts int
	o := rdb.ParallelOptions{KeysOnly: true, BufferSize: 4096}
	err = rdb.ReadParallel(context.Background(), r, o, rdb.ParallelHandler[count]{
		Split: func(rec *rdb.Record) bool { return true },
		Work: func(w *rdb.Worker, rec *rdb.Record, out *count) error {
			if p := w.Part(); p != nil {
				out.part, out.last = true, p.Last
			}
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
			elements += c.elements
			if !c.part || c.last {
				keys++ // a whole key, or the last part of one
			}
			if c.part && c.last {
				inParts++
			}
			return nil
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d keys, %d elements, %d of the keys read in parts\n", keys, elements, inParts)
	// Output:
	// 96 keys, 3330 elements, 6 of the keys read in parts
}
