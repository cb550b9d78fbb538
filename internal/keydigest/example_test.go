package keydigest_test

import (
	"fmt"

	"github.com/rdbtool/rdbtool/internal/keydigest"
)

func Example() {
	type record struct {
		db     int
		key    string
		offset int64
	}
	records := []record{{0, "a", 9}, {0, "b", 20}, {1, "a", 31}, {0, "a", 40}}

	set := keydigest.New(keydigest.Options{MemLimit: 64 << 20})
	for _, r := range records {
		first, dup, err := set.Add(set.Digest(r.db, []byte(r.key)), r.offset)
		if err != nil {
			panic(err)
		}
		if dup {
			// The earlier occurrence is still in memory: known at once.
			fmt.Printf("db %d key %q at %d repeats the one at %d\n", r.db, r.key, r.offset, first)
		}
	}
	// The repeats whose first occurrence had been spilled to disk.
	err := set.Finish(func(d keydigest.Dup) error {
		fmt.Printf("the record at %d repeats the one at %d\n", d.Second, d.First)
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output:
	// db 0 key "a" at 40 repeats the one at 9
}
