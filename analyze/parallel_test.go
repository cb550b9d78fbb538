package analyze

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
// the largest element measured) and the load prediction. With reopen,
// analyze's Reader can read records again (the lists in its top lists).
func scanOutputs(t *testing.T, path string, jobs int, reopen bool) []byte {
	t.Helper()
	ctx := context.Background()
	now := time.Unix(1700000000, 0) // files without ctime would use the clock
	var out bytes.Buffer
	in := openInput(path)
	if reopen {
		in = openInputAt(path)
	}
	rep, err := New(Options{Jobs: jobs, Now: now, Allocator: Jemalloc}).Analyze(ctx, []Input{in})
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
		want := scanOutputs(t, p, 1, false)
		same := func(what string, got []byte) {
			if !bytes.Equal(got, want) {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("%s, %s: output differs at byte %d:\n got        %.300q\n sequential %.300q", p, what, i, got[max(i-80, 0):], want[max(i-80, 0):])
			}
		}
		// The lists in top lists read again instead of every list
		// iterated: the same report.
		same("sequential, lists read again", scanOutputs(t, p, 1, true))
		alwaysPipeline = true
		for _, jobs := range jobs {
			// Two workers with the file's ReaderAt, the others without.
			same(fmt.Sprintf("%d workers", jobs), scanOutputs(t, p, jobs, jobs == 2))
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

// A list in a top list is read again once the scan is over: if the file
// no longer holds that key there, the analysis fails with rdb.ErrChanged
// instead of reporting a figure from another value.
func TestListReadAgainFromChangedFile(t *testing.T) {
	write := func(listKey string) []byte {
		var buf bytes.Buffer
		w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteString(rdb.KeyHeader{Key: []byte("s")}, []byte("v")); err != nil {
			t.Fatal(err)
		}
		cw, err := w.BeginList(rdb.KeyHeader{Key: []byte(listKey)}, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"a", "longest element", "bb"} {
			if err := cw.Add(rdb.Element{Member: []byte(m)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	read, again := write("list:1"), write("list:2")
	for _, jobs := range []int{1, 2} {
		analyzeWith := func(ra []byte) (*Report, error) {
			in := Input{Name: "f.rdb", Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
				return rdb.NewReader(bytes.NewReader(read), rdb.WithName("f.rdb"), rdb.WithReaderAt(bytes.NewReader(ra))), func() error { return nil }, nil
			}}
			return New(Options{Jobs: jobs}).Analyze(context.Background(), []Input{in})
		}
		rep, err := analyzeWith(read)
		if err != nil {
			t.Fatal(err)
		}
		var lists []KeyRef
		for _, b := range rep.BigKeys {
			if b.Type == "list" {
				lists = b.ByMemory
			}
		}
		if len(lists) != 1 || lists[0].LargestElement != int64(len("longest element")) {
			t.Fatalf("%d jobs: top lists %+v, want list:1 with its largest element 15", jobs, lists)
		}
		if jobs > 1 {
			// The parallel scan's workers read through the ReaderAt
			// themselves: a ReaderAt other from the start is not a change
			// between the scan and the second read.
			continue
		}
		_, err = analyzeWith(again)
		var re *rdb.Error
		if !errors.Is(err, rdb.ErrChanged) || !errors.As(err, &re) || string(re.Key) != "list:1" {
			t.Fatalf("file changed before the list was read again: err %v, want ErrChanged naming list:1", err)
		}
		t.Logf("%v", err)
	}
}
