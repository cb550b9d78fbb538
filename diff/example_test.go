package diff_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
)

// Compare two snapshots of the corpus, written by Redis 7.0 and by Redis
// 7.4. Encodings differ between the two and do not count: the comparison
// is of the logical content. 7.4 holds hashes with field TTLs that 7.0
// cannot (added), and the expiries, set relative to when each file was
// made, differ.
func Example() {
	ctx := context.Background()
	a := diff.FileInput("../testdata/corpus/redis-7.0.15/main.rdb")
	b := diff.FileInput("../testdata/corpus/redis-7.4.1/main.rdb")
	res, err := diff.Compare(ctx, a, b, diff.Options{MaxDetails: 3})
	if err != nil {
		log.Fatal(err)
	}
	defer res.Close()
	s := res.Summary
	fmt.Printf("keys: %d before, %d after\n", s.A.Keys, s.B.Keys)
	fmt.Printf("same: %v, %+v\n", s.Same, s.Counts)
	n := 0
	err = res.Each(func(d *diff.KeyDiff) error {
		if n < 3 {
			fmt.Printf("db %d %q: %s (%s -> %s)\n", d.DB, d.Key, d.Kind, d.OldType, d.NewType)
		}
		n++
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// keys: 88 before, 93 after
	// same: false, {Removed:0 Added:5 TypeChanged:0 ValueChanged:1 TTLChanged:15}
	// db 0 "s1:hfe:keyttl": added ( -> hash)
	// db 0 "s1:hfe:large": added ( -> hash)
	// db 0 "s1:hfe:largeexp": added ( -> hash)
}

// An Input is a name and a function that opens the snapshot from its
// start, once per pass: here a snapshot held in memory, compared with the
// file it was read from.
func ExampleInput() {
	data, err := os.ReadFile("../testdata/corpus/redis-7.4.1/main.rdb")
	if err != nil {
		log.Fatal(err)
	}
	mem := diff.Input{Name: "in memory", Open: func(context.Context) (*rdb.Reader, func() error, error) {
		return rdb.NewReader(bytes.NewReader(data), rdb.WithName("in memory")), func() error { return nil }, nil
	}}
	res, err := diff.Compare(context.Background(), diff.FileInput("../testdata/corpus/redis-7.4.1/main.rdb"), mem, diff.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer res.Close()
	fmt.Println("same:", res.Summary.Same, "keys:", res.Summary.B.Keys)
	// Output:
	// same: true keys: 93
}

// A cluster's shard set is one snapshot: SetInput reads its parts one
// after the other. Here two files with no key in common stand for two
// shards; the set holds the keys of both.
func ExampleSetInput() {
	a := diff.FileInput("../testdata/corpus/redis-7.0.15/main.rdb")
	b := diff.FileInput("../testdata/corpus/redis-7.0.15/lfu.rdb")
	set := diff.SetInput("main+lfu", a, b)
	res, err := diff.Compare(context.Background(), a, set, diff.Options{SummaryOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer res.Close()
	s := res.Summary
	fmt.Printf("%s: %d keys; %s: %d keys; added %d\n", s.A.Name, s.A.Keys, s.B.Name, s.B.Keys, s.Counts.Added)
	// Output:
	// ../testdata/corpus/redis-7.0.15/main.rdb: 88 keys; main+lfu: 102 keys; added 14
}
