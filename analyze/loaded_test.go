package analyze

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// These tests load real files into the installed redis-server (Debian's
// 7.0.15) and compare the estimates with what the server reports:
// MEMORY USAGE per key and INFO memory after the load.

// installed70 returns the installed server's version, failing the test
// when it is not the 7.0 line these tests measure against.
func installed70(t *testing.T) ServerVersion {
	t.Helper()
	out := redistest.Version(t)
	i := strings.Index(out, "v=")
	if i < 0 {
		t.Fatalf("cannot read the version in %q", out)
	}
	v, ok := ParseServerVersion(strings.Fields(out[i+2:])[0])
	if !ok || v.Major != 7 || v.Minor != 0 {
		t.Skipf("these figures were measured against redis-server 7.0; installed: %s", out)
	}
	return v
}

// serverAllocator reads the allocator of a running server: libc, or
// jemalloc with its size classes as MEMORY MALLOC-STATS lists them (a
// 24-byte class means Redis's own build, else a distribution's library).
// The classes are checked against Allocator.Usable.
func serverAllocator(t *testing.T, s *redistest.Server) Allocator {
	t.Helper()
	info := string(redistest.AsBytes(redistest.MustDo(t, s, "INFO", "memory")))
	if strings.Contains(info, "mem_allocator:libc") {
		return Libc
	}
	stats := string(redistest.AsBytes(redistest.MustDo(t, s, "MEMORY", "MALLOC-STATS")))
	var classes []uint64
	inBins := false
	for _, line := range strings.Split(stats, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && (f[0] == "bins:" || f[0] == "large:"):
			inBins = true
			continue
		case len(f) == 0 || f[0] == "---":
			continue
		}
		if !inBins {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			inBins = false
			continue
		}
		classes = append(classes, n)
	}
	if len(classes) < 20 {
		t.Fatalf("MEMORY MALLOC-STATS listed %d size classes", len(classes))
	}
	a := JemallocSystem
	for _, c := range classes {
		if c == 24 {
			a = Jemalloc
		}
	}
	// Every class is its own usable size, and one byte more rounds up
	// to the next class (jemalloc skips classes with no allocations in
	// its listing, so only consecutive small classes are compared).
	for i, c := range classes {
		if g := a.Usable(c); g != c {
			t.Errorf("%s: Usable(%d) = %d, want the class itself", a, c, g)
		}
		if i+1 < len(classes) && c < 4096 && classes[i+1] <= c+c/4+16 {
			if g := a.Usable(c + 1); g != classes[i+1] {
				t.Errorf("%s: Usable(%d) = %d, want %d", a, c+1, g, classes[i+1])
			}
		}
	}
	return a
}

// loadedResult is one file's comparison with a live server.
type loadedResult struct {
	keys, within     int
	sumEst, sumTruth float64
	misses           []string
	pred             LoadPrediction
	info             map[string]uint64
	// byEnc counts keys and keys within ±10% per type/encoding.
	byEnc map[string]*[2]int
}

type keyEstimate struct {
	db       int
	key      []byte
	typ, enc string
	bytes    uint64
}

// compareLoaded starts a server with file, estimates every key for the
// server's version and allocator, and compares up to sample keys with
// MEMORY USAGE and the prediction with INFO memory.
func compareLoaded(t *testing.T, file string, sample int, opts Options, args ...string) *loadedResult {
	t.Helper()
	s := redistest.Start(t, file, args...)
	start := time.Now()
	// serverCron shrinks sparse dicts and finishes rehashing: give it a
	// few rounds before reading INFO.
	time.Sleep(600 * time.Millisecond)
	info := string(redistest.AsBytes(redistest.MustDo(t, s, "INFO", "memory")))
	alloc := serverAllocator(t, s)
	v := installed70(t)
	opts.Allocator, opts.ServerVersion, opts.Now = alloc, &v, start

	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var keys []keyEstimate
	var meta FileMeta
	lp := newLoadPredictor(opts)
	rd := rdb.NewReader(bufio.NewReaderSize(fh, 1<<16), rdb.WithName(file))
	n := 0
	err = scanFile(context.Background(), rd, scanOptions{allocator: alloc, version: &v, listCompressDepth: opts.ListCompressDepth, load: lp, loaded: true}, &meta, func(k *Key) error {
		n++
		keys = append(keys, keyEstimate{k.DB, append([]byte(nil), k.Key...), k.Type, k.Encoding, k.Bytes})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res := &loadedResult{pred: lp.result(&meta), info: map[string]uint64{}, byEnc: map[string]*[2]int{}}

	for _, line := range strings.Split(info, "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok {
			if n, err := strconv.ParseUint(val, 10, 64); err == nil {
				res.info[k] = n
			}
		}
	}

	step := 1
	if len(keys) > sample {
		step = len(keys) / sample
	}
	db := 0
	for i := 0; i < len(keys); i += step {
		k := &keys[i]
		if k.db != db {
			redistest.MustDo(t, s, "SELECT", k.db)
			db = k.db
		}
		got, err := s.Do("MEMORY", "USAGE", k.key, "SAMPLES", "0")
		if err != nil {
			t.Fatalf("MEMORY USAGE %q: %v", k.key, err)
		}
		want, ok := got.(int64)
		if !ok {
			continue // expired since the snapshot
		}
		res.keys++
		res.sumEst += float64(k.bytes)
		res.sumTruth += float64(want)
		rel := (float64(k.bytes) - float64(want)) / float64(want)
		enc := res.byEnc[k.typ+"/"+k.enc]
		if enc == nil {
			enc = &[2]int{}
			res.byEnc[k.typ+"/"+k.enc] = enc
		}
		enc[0]++
		if math.Abs(rel) <= 0.10 {
			enc[1]++
			res.within++
		} else if len(res.misses) < 20 {
			res.misses = append(res.misses, fmt.Sprintf("db%d %q %s/%s got=%d want=%d (%+.1f%%)", k.db, truncKey(k.key), k.typ, k.enc, k.bytes, want, rel*100))
		}
	}
	return res
}

// check asserts the bar: 98% of keys within ±10% of MEMORY
// USAGE, their sum within ±2%, used_memory (and each of its dataset and
// overhead halves) within ±3%.
func (r *loadedResult) check(t *testing.T, name string, minWithin, maxSum, maxUsed float64) {
	t.Helper()
	if r.keys == 0 {
		t.Fatalf("%s: no key compared", name)
	}
	share := float64(r.within) / float64(r.keys)
	sumErr := (r.sumEst - r.sumTruth) / r.sumTruth
	used := float64(r.info["used_memory"])
	usedErr := (float64(r.pred.UsedMemory) - used) / used
	for _, part := range []struct {
		name      string
		got, want uint64
	}{{"used_memory_dataset", r.pred.Dataset, r.info["used_memory_dataset"]}, {"used_memory_overhead", r.pred.Overhead, r.info["used_memory_overhead"]}} {
		if e := (float64(part.got) - float64(part.want)) / float64(part.want); math.Abs(e) > maxUsed {
			t.Errorf("%s: %s predicted %d, server %d (%+.2f%%, limit ±%.0f%%)", name, part.name, part.got, part.want, e*100, maxUsed*100)
		}
	}
	t.Logf("%-28s keys=%5d within10%%=%6.2f%% sum=%+6.2f%% used_memory: predicted %d, server %d (%+.2f%%); dataset %d/%d overhead %d/%d",
		name, r.keys, share*100, sumErr*100, r.pred.UsedMemory, r.info["used_memory"], usedErr*100,
		r.pred.Dataset, r.info["used_memory_dataset"], r.pred.Overhead, r.info["used_memory_overhead"])
	encs := make([]string, 0, len(r.byEnc))
	for e, c := range r.byEnc {
		encs = append(encs, fmt.Sprintf("%s %d/%d", e, c[1], c[0]))
	}
	sort.Strings(encs)
	t.Logf("  within ±10%% by encoding: %s", strings.Join(encs, ", "))
	if share < minWithin || math.Abs(sumErr) > maxSum || math.Abs(usedErr) > maxUsed || os.Getenv("RDBTOOL_ACC_VERBOSE") != "" {
		for _, m := range r.misses {
			t.Log("  miss: " + m)
		}
		t.Errorf("%s: %.2f%% of keys within ±10%% (floor %.0f%%), sum %+.2f%% (limit ±%.0f%%), used_memory %+.2f%% (limit ±%.0f%%)",
			name, share*100, minWithin*100, sumErr*100, maxSum*100, usedErr*100, maxUsed*100)
	}
}

// loadableBy70 reports whether Redis 7.0 loads the file without modules:
// RDB 10 or older, and no module values.
func loadableBy70(t *testing.T, f corpustest.File) bool {
	if f.Scenario() == "module" || strings.HasPrefix(f.Server(), "valkey") {
		return false
	}
	fh, err := os.Open(f.RDB)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	hdr := make([]byte, 9)
	if _, err := fh.Read(hdr); err != nil {
		t.Fatal(err)
	}
	ver, err := strconv.Atoi(string(hdr[5:9]))
	return err == nil && string(hdr[:5]) == "REDIS" && ver <= 10
}

func TestLoadedCorpusRedis70(t *testing.T) {
	installed70(t)
	for _, f := range corpustest.Files(t) {
		if !loadableBy70(t, f) {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			r := compareLoaded(t, f.RDB, 3000, Options{})
			r.check(t, f.Name, 0.98, 0.02, 0.03)
		})
	}
}

// TestLoadedBenchSmall compares on the "small" benchmark snapshot
// (sessions with TTLs, counters, small collections; 520,020 keys),
// made by "go run ./cmd/rdbbench make --scale small".
func TestLoadedBenchSmall(t *testing.T) {
	installed70(t)
	file := os.Getenv("RDBTOOL_BENCH_SMALL")
	if file == "" {
		home, _ := os.UserHomeDir()
		file = filepath.Join(home, ".cache", "rdbtool-bench", "small.rdb")
	}
	if _, err := os.Stat(file); err != nil {
		t.Skipf("%s is absent: make it with go run ./cmd/rdbbench make --scale small (%v)", file, err)
	}
	r := compareLoaded(t, file, 3000, Options{})
	r.check(t, "small", 0.98, 0.02, 0.03)
}

// TestLoadedListCompressDepth loads files into a server configured with
// list-compress-depth 1 and 2: quicklists keep their end nodes raw and
// the others LZF-compressed, which the estimate models from the nodes
// the file holds compressed.
func TestLoadedListCompressDepth(t *testing.T) {
	installed70(t)
	file := filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.0.15", "main.rdb")
	for _, depth := range []int{1, 2} {
		t.Run(strconv.Itoa(depth), func(t *testing.T) {
			r := compareLoaded(t, file, 3000, Options{ListCompressDepth: depth}, "--list-compress-depth", strconv.Itoa(depth))
			r.check(t, "main, list-compress-depth "+strconv.Itoa(depth), 0.98, 0.02, 0.03)
			ql := r.byEnc["list/quicklist"]
			if ql == nil || ql[0] < 3 || ql[1] != ql[0] {
				t.Errorf("quicklists: %v (keys, within ±10%%), want at least 3, all within", ql)
			}
			// Without the setting the same server's compressed lists
			// are counted raw: the test would notice a model that
			// ignored it.
			plain := compareLoaded(t, file, 3000, Options{}, "--list-compress-depth", strconv.Itoa(depth))
			if q := plain.byEnc["list/quicklist"]; q != nil && q[1] == q[0] {
				t.Errorf("every quicklist matched without list-compress-depth: the files hold no compressed list")
			}
		})
	}
}
