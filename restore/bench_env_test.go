package restore

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestRestoreBenchmark compares, in one run, three ways to get a snapshot
// into an empty local redis-server: the server loading the file at
// startup, this package's Restore, and redis-cli --pipe fed with the RESP
// export. Not run in CI: set RDBTOOL_RESTORE_BENCH to an RDB file, e.g.
//
//	RDBTOOL_RESTORE_BENCH=$HOME/.cache/rdbtool-bench/small.rdb go test ./restore -run Benchmark -v -timeout 1h
func TestRestoreBenchmark(t *testing.T) {
	file := os.Getenv("RDBTOOL_RESTORE_BENCH")
	if file == "" {
		t.Skip("set RDBTOOL_RESTORE_BENCH=FILE.rdb to run")
	}
	exec.Command("cat", file).Run() // warm the page cache

	// 1. direct load
	t0 := time.Now()
	s := redistest.Start(t, file)
	direct := time.Since(t0)
	n, _ := s.Do("DBSIZE")
	s.Stop()
	t.Logf("redis-server loads the file:  %6.2fs (%v keys)", direct.Seconds(), n)

	// 2. restore
	s = redistest.Start(t, "")
	t0 = time.Now()
	workers, _ := strconv.Atoi(os.Getenv("RDBTOOL_RESTORE_WORKERS"))
	rep, err := Restore(context.Background(), []string{file}, Options{Target: "redis://" + s.Addr, Workers: workers})
	restoreT := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	n2, _ := s.Do("DBSIZE")
	var b strings.Builder
	rep.Print(&b)
	t.Logf("rdbtool restore:              %6.2fs (%v keys)  %.2fx the direct load\n%s", restoreT.Seconds(), n2, restoreT.Seconds()/direct.Seconds(), b.String())
	s.Stop()

	// 3. RESP export | redis-cli --pipe
	s = redistest.Start(t, "")
	host, port, _ := strings.Cut(s.Addr, ":")
	t0 = time.Now()
	cmd := exec.Command("redis-cli", "-h", host, "-p", port, "--pipe")
	in, _ := cmd.StdinPipe()
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	r := rdb.NewReader(bufio.NewReaderSize(f, 1<<20))
	w := export.NewRESPWriter(in, export.RESPOptions{CommandOptions: export.CommandOptions{StreamMeta70: true}})
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteRecord(r, rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	in.Close()
	f.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("redis-cli --pipe: %v\n%s", err, out.String())
	}
	pipeT := time.Since(t0)
	n3, _ := s.Do("DBSIZE")
	t.Logf("RESP export | redis-cli --pipe: %6.2fs (%v keys)  restore is %.2fx faster\n%s", pipeT.Seconds(), n3, pipeT.Seconds()/restoreT.Seconds(), strings.TrimSpace(out.String()))
}
