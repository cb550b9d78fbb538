package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestAnalyzeLoadPrediction checks that the command reports the library's
// load prediction for the target the flags name, and whether it fits.
func TestAnalyzeLoadPrediction(t *testing.T) {
	const file = "../../testdata/corpus/redis-7.0.15/main.rdb"
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	out, code := run(t, "analyze", "--format", "json", "--server-version", "7.0.15", "--allocator", "jemalloc-system",
		"--maxmemory", "2000000", "--now", "1893456000", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var rep analyze.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _ := analyze.ParseServerVersion("7.0.15")
	want, err := analyze.PredictLoad(context.Background(), rdb.NewReader(f), analyze.Options{ServerVersion: &v, Allocator: analyze.JemallocSystem, Now: now, Maxmemory: 2000000})
	if err != nil {
		t.Fatal(err)
	}
	got := rep.Files[0].Load
	if got != *want || rep.Load != *want {
		t.Errorf("load prediction\n got %+v\n want %+v", got, *want)
	}
	if got.Server != "redis-7.0.15" || got.Allocator != "jemalloc-system" || got.Fits || got.Maxmemory != 2000000 {
		t.Errorf("target or fit wrong: %+v", got)
	}
	if got.UsedMemory < 2000000 || got.DroppedExpired == 0 {
		t.Errorf("used_memory %d (want above the 2000000 limit), dropped %d", got.UsedMemory, got.DroppedExpired)
	}
	out, code = run(t, "analyze", "--depth", "0", "--top", "1", "--maxmemory", "2000000", "--server-version", "7.0.15", file)
	if code != 0 || !strings.Contains(out, "used_memory") || !strings.Contains(out, " NO ") {
		t.Errorf("table: exit %d, want the load table saying the file does not fit:\n%s", code, out)
	}
}

func TestAnalyzeModelFlagErrors(t *testing.T) {
	const file = "../../testdata/corpus/redis-7.0.15/main.rdb"
	for _, c := range []struct{ args []string }{
		{[]string{"--list-compress-depth", "-1"}},
		{[]string{"--allocator", "tcmalloc"}},
	} {
		out, code := runMsg(t, append(append([]string{"analyze"}, c.args...), file)...)
		if code != 2 || !strings.Contains(out, c.args[0]) {
			t.Errorf("%v: exit %d, want 2 and a message naming the flag: %s", c.args, code, out)
		}
	}
}
