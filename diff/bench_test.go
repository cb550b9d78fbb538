package diff_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/diff"
)

// BenchmarkDiffLarge compares two large snapshots: RDBTOOL_DIFF_A and
// RDBTOOL_DIFF_B (default: /root/.cache/rdbtool-bench/small.rdb against
// itself, made by cmd/rdbbench). RDBTOOL_DIFF_MEM sets --mem-limit in bytes.
// It reports the Go heap's peak (as sampled) next to the budget.
func BenchmarkDiffLarge(b *testing.B) {
	a := os.Getenv("RDBTOOL_DIFF_A")
	if a == "" {
		a = "/root/.cache/rdbtool-bench/small.rdb"
	}
	bf := os.Getenv("RDBTOOL_DIFF_B")
	if bf == "" {
		bf = a
	}
	if _, err := os.Stat(a); err != nil {
		b.Skipf("benchmark snapshot missing (make it with cmd/rdbbench): %v", err)
	}
	var lim int64
	if s := os.Getenv("RDBTOOL_DIFF_MEM"); s != "" {
		var err error
		if lim, err = parseInt(s); err != nil {
			b.Fatal(err)
		}
	}
	fi, _ := os.Stat(a)
	b.SetBytes(fi.Size() * 2)
	var peak uint64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			var p uint64
			for {
				metrics.Read(s)
				p = max(p, s[0].Value.Uint64())
				select {
				case <-stop:
					done <- p
					return
				default:
				}
				runtime.Gosched()
				sleepMs(5)
			}
		}()
		res, err := diff.Compare(context.Background(), diff.FileInput(a), diff.FileInput(bf), diff.Options{MemLimit: lim})
		close(stop)
		peak = max(peak, <-done)
		if err != nil {
			b.Fatal(err)
		}
		res.Close()
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

func parseInt(s string) (int64, error) {
	var n int64
	_, err := fmt.Sscan(s, &n)
	return n, err
}

func sleepMs(n int) { time.Sleep(time.Duration(n) * time.Millisecond) }
