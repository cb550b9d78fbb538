package analyze_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

func Example() {
	f, err := os.Open("../testdata/corpus/redis-7.2.6/lfu.rdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	a := analyze.New(analyze.Options{Top: 3, Allocator: analyze.Libc})
	rep, err := a.AnalyzeReader(context.Background(), "lfu.rdb", rdb.NewReader(f))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("server:", rep.Files[0].Server)
	fmt.Println("keys:", rep.Totals.Keys, "hot keys:", len(rep.HotKeys))
	// Output:
	// server: redis-7.2.6
	// keys: 14 hot keys: 3
}

// The memory a server reports once it has loaded a snapshot, and whether
// the snapshot fits under a maxmemory limit.
func ExamplePredictLoad() {
	f, err := os.Open("../testdata/corpus/redis-7.0.15/main.rdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	target, _ := analyze.ParseServerVersion("7.0.15")
	p, err := analyze.PredictLoad(context.Background(), rdb.NewReader(f), analyze.Options{
		ServerVersion: &target,
		Allocator:     analyze.JemallocSystem, // Debian's redis-server
		Now:           time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("target:", p.Server, p.Allocator)
	fmt.Println("keys loaded:", p.Keys, "expired, dropped:", p.DroppedExpired)
	fmt.Printf("used_memory: %d KiB (±%.0f%%)\n", p.UsedMemory>>10, p.Accuracy*100)
	fmt.Println("fits in 2 MiB:", p.CheckCapacity(2<<20, 0) == nil)
	fmt.Println("fits in 4 MiB:", p.CheckCapacity(4<<20, 0) == nil)
	// Output:
	// target: redis-7.0.15 jemalloc-system
	// keys loaded: 73 expired, dropped: 23
	// used_memory: 2469 KiB (±3%)
	// fits in 2 MiB: false
	// fits in 4 MiB: true
}
