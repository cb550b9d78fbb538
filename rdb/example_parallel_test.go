package rdb_test

import (
	"context"
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
