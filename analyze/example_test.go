package analyze_test

import (
	"context"
	"fmt"
	"os"

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
