package diff_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/internal/corpustest"
)

// The per-file passes on ReadParallel's workers give the same result,
// byte for byte in JSON, as on one goroutine: in memory and spilled,
// filtered and not.
func TestParallelReadIdentical(t *testing.T) {
	pairs := [][2]string{
		{"redis-6.2.16/main", "redis-7.0.15/main"},
		{"redis-7.0.15/main", "valkey-8.0.1/main"},
		{"redis-7.4.1/main", "redis-8.6.3/main"},
		{"redis-2.8.24/main", "redis-3.2.13/main"},
	}
	if testing.Short() {
		pairs = pairs[:1] // -short runs under -race
	}
	asOf := time.UnixMilli(1700000000000)
	for _, p := range pairs {
		fa, fb := corpustest.Find(t, p[0]), corpustest.Find(t, p[1])
		for _, o := range []diff.Options{{AsOf: asOf}, {AsOf: asOf, MemLimit: 4 << 10}, {AsOf: asOf, Match: "*a*", FilterDB: true}} {
			var want []byte
			for _, jobs := range []int{1, 2, 8} {
				o.Jobs = jobs
				res, err := diff.Compare(context.Background(), diff.FileInput(fa.RDB), diff.FileInput(fb.RDB), o)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				if err := diff.WriteJSON(&buf, res, false); err != nil {
					t.Fatal(err)
				}
				if jobs == 1 {
					want = buf.Bytes()
				} else if !bytes.Equal(buf.Bytes(), want) {
					t.Fatalf("%v, %+v: %d workers: %s\none goroutine: %s", p, o, jobs, buf.Bytes(), want)
				}
			}
		}
	}
}
