package restore

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestRestoreBenchmark compares, in one run, three ways to get a snapshot
// into an empty local redis-server: the server loading the file at
// startup, this package's Restore (key by key, and by a full sync), and redis-cli --pipe fed with the RESP
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

	// 2. restore, key by key and by a full sync
	workers, _ := strconv.Atoi(os.Getenv("RDBTOOL_RESTORE_WORKERS"))
	pipeline, _ := strconv.Atoi(os.Getenv("RDBTOOL_RESTORE_PIPELINE"))
	if v := os.Getenv("RDBTOOL_RESTORE_MSET_KEYS"); v != "" {
		defer func(k int) { msetKeys = k }(msetKeys)
		msetKeys, _ = strconv.Atoi(v)
	}
	var restoreT time.Duration // the faster way
	for _, m := range []Method{MethodKeys, MethodSync} {
		s = redistest.Start(t, "")
		cpu0, self0 := serverCPU(t, s), selfCPU()
		t0 = time.Now()
		rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Workers: workers, Pipeline: pipeline, Method: m})
		d := time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		if restoreT == 0 || d < restoreT {
			restoreT = d
		}
		srvCPU, ownCPU := serverCPU(t, s)-cpu0, selfCPU()-self0
		n2, _ := s.Do("DBSIZE")
		var b strings.Builder
		rep.Print(&b)
		t.Logf("rdbtool restore (%s):  %6.2fs (%v keys)  %.2fx the direct load; CPU: server %.2fs, restore %.2fs\n%s",
			map[Method]string{MethodKeys: "key by key", MethodSync: "full sync"}[m], d.Seconds(), n2, d.Seconds()/direct.Seconds(), srvCPU, ownCPU, b.String())
		s.Stop()
	}

	// 3. RESP export | redis-cli --pipe
	s = redistest.Start(t, "")
	host, port, _ := strings.Cut(s.Addr, ":")
	cpu0, self0 := serverCPU(t, s), selfCPU()
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
	exportCPU, cliCPU := selfCPU()-self0, (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	n3, _ := s.Do("DBSIZE")
	t.Logf("RESP export | redis-cli --pipe: %6.2fs (%v keys)  the faster restore is %.2fx faster; CPU: server %.2fs, export %.2fs, redis-cli %.2fs\n%s",
		pipeT.Seconds(), n3, pipeT.Seconds()/restoreT.Seconds(), serverCPU(t, s)-cpu0, exportCPU, cliCPU, strings.TrimSpace(out.String()))
}

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// serverCPU is the CPU time (user + system) the server has used.
func serverCPU(t *testing.T, s *redistest.Server) float64 {
	v, err := s.Do("INFO", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, line := range strings.Split(string(redistest.AsBytes(v)), "\n") {
		k, val, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			f, _ := strconv.ParseFloat(val, 64)
			sum += f
		}
	}
	return sum
}
