package diff_test

import (
	"context"
	"fmt"
	"log"

	"github.com/rdbtool/rdbtool/diff"
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
