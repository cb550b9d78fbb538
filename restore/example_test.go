package restore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/rdbtool/rdbtool/restore"
	"github.com/rdbtool/rdbtool/source"
)

// Restore a snapshot file into a server, then compare the server with the
// file. The example needs a Redis or Valkey server at 127.0.0.1:6379, so
// it is compiled but not run (it has no Output comment); the package's
// tests run the same calls against servers they start.
func ExampleRestore() {
	ctx := context.Background()
	inputs := restore.FileInputs(nil, "dump.rdb")
	rep, err := restore.Restore(ctx, inputs, restore.Options{Target: "redis://127.0.0.1:6379", Verify: true})
	if rep != nil {
		rep.Print(os.Stdout)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("every key written or deliberately skipped:", rep.OK())
}

// An Input can be anything that gives the snapshot's bytes from the start
// each time it is opened: here a snapshot held in memory. Compiled, not
// run (it needs a server).
func ExampleInput() {
	var snapshot []byte // an RDB file's bytes, e.g. from an HTTP response
	in := restore.Input{Name: "in-memory snapshot", Open: func(context.Context) (io.ReadCloser, int64, error) {
		return io.NopCloser(bytes.NewReader(snapshot)), int64(len(snapshot)), nil
	}}
	rep, err := restore.Restore(context.Background(), []restore.Input{in}, restore.Options{Target: "redis://127.0.0.1:6379"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(rep.Written, "keys written")
}

// FileInputs opens names through a source.Openers for locations beyond
// local files, such as s3:// with s3src.OpenSource.
func ExampleFileInputs() {
	openers := source.Openers{} // e.g. source.Openers{s3src.Scheme: s3src.OpenSource}
	inputs := restore.FileInputs(openers.Open, "shard-0001.rdb", "shard-0002.rdb")
	for _, in := range inputs {
		fmt.Println(in.Name)
	}
	// Output:
	// shard-0001.rdb
	// shard-0002.rdb
}
