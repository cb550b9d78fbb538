package snapshot_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/rdbtool/rdbtool/snapshot"
)

// A snapshot of a live server read as a stream: the bytes are the RDB the
// server sent, and io.EOF comes only once they have been verified.
func ExampleOpen() {
	r, err := snapshot.Open(context.Background(), "redis://127.0.0.1:6379", snapshot.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		log.Fatal(err) // the transfer broke or the RDB is not valid
	}
	info := r.Info()
	fmt.Println(n, info.Keys, info.RDBVersion, info.Checksum)
}

// Take stores a verified snapshot under a time-stamped name.
func ExampleTake() {
	out, err := snapshot.ExpandTime("/var/backups/redis/%Y-%m-%dT%H%M.rdb", time.Now().UTC())
	if err != nil {
		log.Fatal(err)
	}
	info, err := snapshot.Take(context.Background(), "redis://backup:secret@10.0.0.5:6379", out, snapshot.Options{})
	if err != nil {
		log.Fatal(err) // nothing was left under out
	}
	fmt.Fprintln(os.Stderr, out, info.Bytes, info.SHA256)
}

// Apply is a pure function of the snapshots' times and the policy.
func ExampleApply() {
	day := func(d, h int) snapshot.Unit {
		return snapshot.Unit{Name: fmt.Sprintf("12-%02d %02dh", d, h), Time: time.Date(2026, 12, d, h, 0, 0, 0, time.UTC)}
	}
	units := []snapshot.Unit{day(1, 6), day(1, 18), day(2, 6), day(2, 18), day(3, 6)}
	for _, d := range snapshot.Apply(units, snapshot.Policy{Last: 1, Daily: 3}) {
		fmt.Println(d.Item.Name, d.Keep, d.Reasons)
	}
	// Output:
	// 12-03 06h true [last daily 2026-12-03]
	// 12-02 18h true [daily 2026-12-02]
	// 12-02 06h false []
	// 12-01 18h true [daily 2026-12-01]
	// 12-01 06h false []
}

// ExpandTime names scheduled snapshots.
func ExampleExpandTime() {
	name, _ := snapshot.ExpandTime("s3://backups/prod/%Y-%m-%dT%H%M/", time.Date(2026, 12, 5, 18, 30, 0, 0, time.UTC))
	fmt.Println(name)
	// Output: s3://backups/prod/2026-12-05T1830/
}
