package columnar_test

import (
	"bytes"
	"context"
	"fmt"
	"os"

	"github.com/parquet-go/parquet-go"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/columnar"
	"github.com/rdbtool/rdbtool/rdb"
)

// Export writes one row per key of a snapshot as a Parquet file.
func ExampleExport() {
	in := analyze.Input{Name: "main.rdb", Open: func(context.Context) (*rdb.Reader, func() error, error) {
		f, err := os.Open("../testdata/corpus/redis-7.4.1/main.rdb")
		if err != nil {
			return nil, nil, err
		}
		return rdb.NewReader(f), f.Close, nil
	}}
	var out bytes.Buffer
	stats, err := columnar.Export(context.Background(), []analyze.Input{in}, &out, columnar.ExportOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := parquet.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(stats.Files[0].Rows, "keys,", f.NumRows(), "rows")
	// Output: 101 keys, 101 rows
}

// A Writer streams rows built by the caller.
func ExampleWriter() {
	var out bytes.Buffer
	w := columnar.NewWriter[columnar.KeyRow](&out, columnar.WriterOptions{})
	expire := int64(1764892800000)
	rows := []columnar.KeyRow{
		{Source: "a.rdb", Key: []byte("user:1"), KeyUTF8: []byte("user:1"), Type: "hash", Encoding: "listpack", EstimatedBytes: 120, Prefix: []byte("user:")},
		{Source: "a.rdb", Key: []byte{0xff}, Type: "string", Encoding: "embstr", EstimatedBytes: 56, ExpireAt: &expire, Prefix: []byte{}},
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}
	back, err := parquet.Read[columnar.KeyRow](bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range back {
		fmt.Printf("%q text=%v bytes=%d expires=%v\n", r.Key, r.KeyUTF8 != nil, r.EstimatedBytes, r.ExpireAt != nil)
	}
	// Output:
	// "user:1" text=true bytes=120 expires=false
	// "\xff" text=false bytes=56 expires=true
}
