package analyze

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

type accKey struct {
	db  int
	key string
}

type accResult struct {
	keys, within     int
	sumEst, sumTruth float64
	byEnc            map[string]*encAcc
	worst            []string
}

type encAcc struct {
	keys, within int
	hist         [7]int // <1%, <5%, <10%, <25%, <50%, <100%, more
	sumEst, sum  float64
}

func errBucket(rel float64) int {
	a := math.Abs(rel)
	for i, lim := range []float64{0.01, 0.05, 0.10, 0.25, 0.5, 1} {
		if a < lim {
			return i
		}
	}
	return 6
}

// measure compares estimates for one corpus file against memory_usage.
func measure(t *testing.T, f corpustest.File) *accResult {
	meta := corpustest.Meta(t, f)
	allocName, _ := meta["mem_allocator"].(string)
	alloc, err := ParseAllocator(allocName)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	truth := map[accKey]int64{}
	for _, r := range corpustest.Expected(t, f) {
		// Skip absurd figures (a test module's mem_usage callback in 8.6.3
		// returns garbage for one key).
		if r.MemoryUsage != nil && *r.MemoryUsage < 1<<40 {
			truth[accKey{r.DB, string(r.KeyB64)}] = *r.MemoryUsage
		}
	}
	fh, err := os.Open(f.RDB)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rd := rdb.NewReader(bufio.NewReaderSize(fh, 1<<16), rdb.WithName(f.RDB))
	res := &accResult{byEnc: map[string]*encAcc{}}
	var fm FileMeta
	// A nocompress file keeps the quicklist nodes the server held
	// compressed as they were: the list-compress-depth some lists were
	// built with (config_changes) then says which nodes those are.
	depth := 0
	if f.Scenario() == "nocompress" {
		changes, _ := meta["config_changes"].([]any)
		for _, c := range changes {
			if kv, ok := c.([]any); ok && len(kv) == 2 && kv[0] == "list-compress-depth" {
				if n, err := strconv.Atoi(fmt.Sprint(kv[1])); err == nil && n > depth {
					depth = n
				}
			}
		}
	}
	err = scanFile(context.Background(), rd, scanOptions{allocator: alloc, listCompressDepth: depth}, &fm, func(k *Key) error {
		want, ok := truth[accKey{k.DB, string(k.Key)}]
		if !ok {
			return nil
		}
		got := float64(k.Bytes)
		rel := (got - float64(want)) / float64(want)
		name := k.Type + "/" + k.Encoding
		e := res.byEnc[name]
		if e == nil {
			e = &encAcc{}
			res.byEnc[name] = e
		}
		e.keys++
		e.hist[errBucket(rel)]++
		e.sumEst += got
		e.sum += float64(want)
		res.keys++
		res.sumEst += got
		res.sumTruth += float64(want)
		if math.Abs(rel) <= 0.10 {
			res.within++
			e.within++
		} else if len(res.worst) < 400 {
			res.worst = append(res.worst, fmt.Sprintf("%s db%d %q %s els=%d got=%d want=%d (%+.1f%%)",
				f.Name, k.DB, truncKey(k.Key), name, k.Elements, k.Bytes, want, rel*100))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return res
}

func truncKey(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// minimums are the accuracy floors each file group must keep: the share
// of keys within ±10% of the server's figure and the largest total error.
// Groups are "<server>/<scenario>"; see the package doc for the gaps.
var minimums = map[string]struct{ within, totalErr float64 }{
	// Files below the 95%/±3% target, held at what the model achieves.
	// nochecksum/main, and nocompress before 7.0: s1:list:compressed
	// (list-compress-depth is not in the file; nocompress files from 7.0
	// on are measured with the depth from config_changes) and
	// s1:str:append (APPEND's spare capacity). module: module values
	// without a mem_usage callback. redis8: vector sets (module type, not
	// modelled) and IDMP stream producer state.
	"redis-4.0.14/module":       {0.861, 0.030},
	"redis-4.0.14/nochecksum":   {0.958, 0.180},
	"redis-4.0.14/nocompress":   {0.958, 0.180},
	"redis-5.0.14/main":         {0.914, 0.030},
	"redis-5.0.14/nochecksum":   {0.958, 0.179},
	"redis-5.0.14/nocompress":   {0.958, 0.179},
	"redis-6.0.20/main":         {0.937, 0.030},
	"redis-6.0.20/nochecksum":   {0.958, 0.178},
	"redis-6.0.20/nocompress":   {0.940, 0.177},
	"redis-6.2.16/aof-preamble": {0.913, 0.030},
	"redis-6.2.16/module":       {0.942, 0.030},
	"redis-6.2.16/nochecksum":   {0.958, 0.169},
	"redis-6.2.16/nocompress":   {0.940, 0.169},
	"redis-7.0.15/aof-preamble": {0.913, 0.030},
	"redis-7.0.15/nochecksum":   {0.959, 0.148},
	"redis-7.2.6/main":          {0.938, 0.030},
	"redis-7.2.6/nochecksum":    {0.941, 0.149},
	"redis-7.4.1/module":        {0.942, 0.030},
	"redis-7.4.1/nochecksum":    {0.941, 0.148},
	"redis-8.6.3/module":        {0.772, 0.030},
	"redis-8.6.3/nochecksum":    {0.941, 0.159},
	"redis-8.6.3/redis8":        {0.710, 0.889},
	"valkey-7.2.7/nochecksum":   {0.959, 0.149},
	"valkey-8.0.1/nochecksum":   {0.941, 0.149},
}

func floorFor(f corpustest.File) (within, totalErr float64) {
	if m, ok := minimums[f.Name]; ok {
		return m.within, m.totalErr
	}
	return 0.95, 0.03
}

func TestAccuracyCorpus(t *testing.T) {
	files := corpustest.Files(t)
	type ver struct {
		keys, within int
		est, sum     float64
		byEnc        map[string]*encAcc
	}
	perVer := map[string]*ver{}
	verbose := os.Getenv("RDBTOOL_ACC_VERBOSE") != ""
	for _, f := range files {
		res := measure(t, f)
		if res.keys == 0 {
			continue
		}
		share := float64(res.within) / float64(res.keys)
		totalErr := (res.sumEst - res.sumTruth) / res.sumTruth
		t.Logf("%-28s keys=%5d within10%%=%6.2f%% total=%+6.2f%%", f.Name, res.keys, share*100, totalErr*100)
		v := perVer[f.Server()]
		if v == nil {
			v = &ver{byEnc: map[string]*encAcc{}}
			perVer[f.Server()] = v
		}
		v.keys += res.keys
		v.within += res.within
		v.est += res.sumEst
		v.sum += res.sumTruth
		for name, e := range res.byEnc {
			ve := v.byEnc[name]
			if ve == nil {
				ve = &encAcc{}
				v.byEnc[name] = ve
			}
			ve.keys += e.keys
			ve.within += e.within
			ve.sumEst += e.sumEst
			ve.sum += e.sum
			for i := range e.hist {
				ve.hist[i] += e.hist[i]
			}
		}
		if verbose {
			for _, w := range res.worst {
				t.Log("  miss: " + w)
			}
		}
		minShare, maxTotal := floorFor(f)
		if share < minShare || math.Abs(totalErr) > maxTotal {
			t.Errorf("%s: %.2f%% of keys within ±10%% (floor %.2f%%), total error %+.2f%% (limit ±%.2f%%)",
				f.Name, share*100, minShare*100, totalErr*100, maxTotal*100)
		}
	}
	vers := make([]string, 0, len(perVer))
	for k := range perVer {
		vers = append(vers, k)
	}
	sort.Strings(vers)
	t.Log("error distribution per version and encoding (|error| <1% <5% <10% <25% <50% <100% more):")
	for _, vn := range vers {
		v := perVer[vn]
		t.Logf("%s: keys=%d within10%%=%.2f%% total=%+.2f%%", vn, v.keys, 100*float64(v.within)/float64(v.keys), 100*(v.est-v.sum)/v.sum)
		encs := make([]string, 0, len(v.byEnc))
		for k := range v.byEnc {
			encs = append(encs, k)
		}
		sort.Strings(encs)
		for _, en := range encs {
			e := v.byEnc[en]
			h := make([]string, len(e.hist))
			for i, c := range e.hist {
				h[i] = fmt.Sprint(c)
			}
			t.Logf("    %-22s keys=%5d within=%6.2f%% total=%+7.2f%% hist=[%s]", en, e.keys,
				100*float64(e.within)/float64(e.keys), 100*(e.sumEst-e.sum)/e.sum, strings.Join(h, " "))
		}
	}
}
