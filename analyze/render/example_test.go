package render_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/analyze/render"
	"github.com/rdbtool/rdbtool/rdb"
)

// Analyze a snapshot with the analyze package, then write its report as
// text tables: sizes in binary units (TableOptions.Bytes for exact
// counts), times in UTC with their age.
func ExampleTable() {
	f, err := os.Open("../../testdata/corpus/redis-7.2.6/lfu.rdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	rep, err := analyze.New(analyze.Options{Top: 3}).AnalyzeReader(context.Background(), "lfu.rdb", rdb.NewReader(f))
	if err != nil {
		fmt.Println(err)
		return
	}
	var out strings.Builder
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	if err := render.Table(&out, rep, render.TableOptions{Now: now}); err != nil {
		fmt.Println(err)
		return
	}
	// The first table, the files, is enough to show here.
	lines := strings.Split(out.String(), "\n")
	fmt.Println(strings.Join(lines[1:7], "\n"))
	// Output:
	// Files (allocator jemalloc)
	// ┌─────────┬───────────────────┬────────────────────────────────────┬───────────┬──────┬──────────┬──────────┬──────────┬────────┬─────────┐
	// │  file   │      server       │           snapshot time            │ file size │ keys │  memory  │ elements │ with ttl │ no ttl │ expired │
	// ├─────────┼───────────────────┼────────────────────────────────────┼───────────┼──────┼──────────┼──────────┼──────────┼────────┼─────────┤
	// │ lfu.rdb │ redis-7.2.6 (aux) │ 2026-11-24T22:05:21Z (10d 13h ago) │ 2.24 KiB  │ 14   │ 19.4 KiB │ 321      │ 1        │ 13     │ 0       │
	// └─────────┴───────────────────┴────────────────────────────────────┴───────────┴──────┴──────────┴──────────┴──────────┴────────┴─────────┘
}

// Every key's estimate as redis-rdb-tools' memory CSV.
func ExampleNewCSVWriter() {
	f, err := os.Open("../../testdata/corpus/redis-7.2.6/lfu.rdb")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	rows, err := render.NewCSVWriter(os.Stdout)
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	_, err = analyze.ScanKeys(context.Background(), rdb.NewReader(f), analyze.Options{Deep: true}, func(k *analyze.Key) error {
		if n++; n > 2 {
			return nil
		}
		return rows.Write(k)
	})
	if err == nil {
		err = rows.Flush()
	}
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry
	// 0,string,s1:s:str,72,embstr,1,12,
	// 0,zset,s1:s:zset,88,listpack,3,1,
}
