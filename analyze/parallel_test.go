package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// scanOutputs renders everything analyze and memory produce for one file:
// the analyze report (JSON and table), every key's row (JSON Lines, with
// the largest element measured) and the load prediction.
func scanOutputs(t *testing.T, path string, jobs int) []byte {
	t.Helper()
	ctx := context.Background()
	now := time.Unix(1700000000, 0) // files without ctime would use the clock
	var out bytes.Buffer
	rep, err := New(Options{Jobs: jobs, Now: now, Allocator: Jemalloc}).Analyze(ctx, []Input{openInput(path)})
	if err != nil {
		fmt.Fprintf(&out, "analyze error: %v\n", err)
	} else {
		if err := json.NewEncoder(&out).Encode(rep); err != nil {
			t.Fatal(err)
		}
	}
	open := func() (*rdb.Reader, func()) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return rdb.NewReader(f, rdb.WithName(path)), func() { f.Close() }
	}
	r, done := open()
	enc := json.NewEncoder(&out)
	meta, err := ScanKeys(ctx, r, Options{Jobs: jobs, Deep: true, ListCompressDepth: 1}, func(k *Key) error { return enc.Encode(k) })
	done()
	fmt.Fprintf(&out, "scan: %v\n", err)
	if meta != nil {
		b, _ := json.Marshal(meta)
		out.Write(b)
	}
	r, done = open()
	lp, err := PredictLoad(ctx, r, Options{Jobs: jobs, Now: now})
	done()
	b, _ := json.Marshal(lp)
	fmt.Fprintf(&out, "\nload: %s %v\n", b, err)
	return out.Bytes()
}

// analyze, memory and the load prediction give byte-identical output on
// one goroutine and on the parallel engine with 1, 2 and 8 workers, for
// every corpus file.
func TestParallelScanIdenticalOnCorpus(t *testing.T) {
	testScanIdenticalOnCorpus(t, []int{1, 2, 8})
}

// With a 4 KiB framing buffer every collection over 1 KiB is measured in
// parts (their shapes and element sums added up on the sink goroutine),
// or past an element larger than the look-ahead on the framing goroutine:
// the reports stay byte-identical.
func TestParallelScanInPartsIdenticalOnCorpus(t *testing.T) {
	defer func(n int) { framingBufferSize = n }(framingBufferSize)
	framingBufferSize = 4096
	testScanIdenticalOnCorpus(t, []int{2, 8}) // one worker splits no differently
}

func testScanIdenticalOnCorpus(t *testing.T, jobs []int) {
	var paths []string
	for _, f := range corpustest.Files(t) {
		paths = append(paths, f.RDB)
	}
	tp, _ := filepath.Glob(filepath.Join(corpustest.ThirdPartyDir(t), "*", "*.rdb"))
	paths = append(paths, tp...)
	defer func() { alwaysPipeline = false }()
	local := filepath.Join(corpustest.Root(), "testdata")
	if testing.Short() {
		jobs = []int{2} // and the fixtures only: -short runs under -race
	}
	for _, p := range paths {
		if testing.Short() && !strings.HasPrefix(p, local) {
			continue
		}
		alwaysPipeline = false
		want := scanOutputs(t, p, 1)
		alwaysPipeline = true
		for _, jobs := range jobs {
			got := scanOutputs(t, p, jobs)
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%s, %d workers: output differs at byte %d:\n parallel   %.300q\n sequential %.300q", p, jobs, i, got[max(i-80, 0):], want[max(i-80, 0):])
			}
		}
	}
}

// isSharedInt agrees with parsing the number, on the canonical decimal
// texts int-encoded strings have.
func TestIsSharedInt(t *testing.T) {
	for _, n := range []int64{-10001, -1, 0, 1, 9, 10, 99, 9999, 10000, 10001, 99999, 100000, 1 << 40, math.MinInt64, math.MaxInt64} {
		v := strconv.AppendInt(nil, n, 10)
		if got, want := isSharedInt(v), n >= 0 && n < sharedIntegers; got != want {
			t.Errorf("isSharedInt(%s) = %v, want %v", v, got, want)
		}
	}
}
