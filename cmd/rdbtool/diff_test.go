package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
)

func TestDiffExitCodes(t *testing.T) {
	a := "../../testdata/corpus/redis-6.2.16/main.rdb"
	b := "../../testdata/corpus/redis-7.0.15/main.rdb"
	if out, code := run(t, "diff", a, a); code != 0 {
		t.Errorf("a file against itself: exit %d: %s", code, out)
	}
	out, code := run(t, "diff", "--format", "jsonl", a, b)
	if code != 1 {
		t.Fatalf("different files: exit %d: %s", code, out)
	}
	kinds := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var d struct {
			DB     *int   `json:"db"`
			KeyB64 string `json:"key_b64"`
			Kind   string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("not JSONL: %q: %v", line, err)
		}
		if d.DB == nil || d.KeyB64 == "" || d.Kind == "" {
			t.Errorf("line lacks db, key_b64 or kind: %s", line)
		}
		kinds[d.Kind]++
	}
	// 7.0 has function-era keys and streams with more metadata than 6.2:
	// keys appear, and values differ in their random parts.
	if kinds["added"] == 0 || kinds["value_changed"] == 0 {
		t.Errorf("kinds %v", kinds)
	}
	if out, code := run(t, "diff", a, "../../testdata/corpus/missing.rdb"); code != 2 {
		t.Errorf("missing input: exit %d: %s", code, out)
	}
}

// TestDiffDownServerOneErrorLine runs rdbtool as a process (go-redis logs
// to the process's stderr, not the command's): a diff against a server that
// is not there prints our one error line, and nothing from go-redis.
func TestDiffDownServerOneErrorLine(t *testing.T) {
	if os.Getenv("RDBTOOL_RUN_MAIN") == "1" {
		os.Args = append([]string{"rdbtool"}, strings.Split(os.Getenv("RDBTOOL_ARGS"), "\n")...)
		main()
		os.Exit(0)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "redis://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiffDownServerOneErrorLine$")
	cmd.Env = append(os.Environ(), "RDBTOOL_RUN_MAIN=1", "RDBTOOL_ARGS="+strings.Join([]string{"diff", sample, down}, "\n"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("exit: %v, want status 2; stderr: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stderr.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "rdbtool: ") || !strings.Contains(lines[0], ln.Addr().String()) {
		t.Errorf("stderr is not our one error line naming the server:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), "redis: ") {
		t.Errorf("go-redis printed its own log lines:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: %q", stdout.String())
	}
}

// TestDiffShardSets: a side may be a set of files (a directory, a quoted
// glob) read as one snapshot. A file split into two slot ranges equals
// the same keys in one file, and differs from a file without some of them.
func TestDiffShardSets(t *testing.T) {
	dir := t.TempDir()
	two, one := filepath.Join(dir, "two"), filepath.Join(dir, "one")
	for _, d := range []string{two, one} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, code := run(t, "split", sample, "--db", "0", "--slots-per-file", "8192", "--out-prefix", filepath.Join(two, "s"), "-q"); code != 0 {
		t.Fatalf("split: exit %d: %s", code, out)
	}
	if out, code := run(t, "split", sample, "--db", "0", "--slots-per-file", "16384", "--out-prefix", filepath.Join(one, "s"), "-q"); code != 0 {
		t.Fatalf("split: exit %d: %s", code, out)
	}
	whole, _ := filepath.Glob(filepath.Join(one, "*.rdb"))
	halves, _ := filepath.Glob(filepath.Join(two, "*.rdb"))
	if len(whole) != 1 || len(halves) != 2 {
		t.Fatalf("split wrote %v and %v", whole, halves)
	}
	for _, set := range []string{two, filepath.Join(two, "s-*.rdb")} {
		if out, code := run(t, "diff", set, whole[0]); code != 0 {
			t.Errorf("diff %s %s: exit %d, want 0 (same keys): %s", set, whole[0], code, out)
		}
	}
	// One half alone lacks the other half's keys.
	out, code := run(t, "diff", "--format", "json", "--summary-only", halves[0], two)
	if code != 1 {
		t.Fatalf("one shard against the set: exit %d, want 1: %s", code, out)
	}
	var doc struct {
		Summary struct {
			Counts struct {
				Added int64 `json:"added"`
			} `json:"counts"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if doc.Summary.Counts.Added == 0 {
		t.Errorf("the other shard's keys are not reported as added: %s", out)
	}
	if out, code := run(t, "diff", filepath.Join(two, "nomatch-*.rdb"), whole[0]); code != 2 {
		t.Errorf("a pattern that matches nothing: exit %d: %s", code, out)
	}
}

// TestDiffS3ShardSet: a side given as an S3 prefix or shard-set pattern is
// the set's objects read as one snapshot, like a local directory.
func TestDiffS3ShardSet(t *testing.T) {
	dir := t.TempDir()
	if out, code := run(t, "split", sample, "--db", "0", "--slots-per-file", "8192", "--out-prefix", filepath.Join(dir, "s"), "-q"); code != 0 {
		t.Fatalf("split: exit %d: %s", code, out)
	}
	if out, code := run(t, "split", sample, "--db", "0", "--slots-per-file", "16384", "--out-prefix", filepath.Join(dir, "whole"), "-q"); code != 0 {
		t.Fatalf("split: exit %d: %s", code, out)
	}
	halves, _ := filepath.Glob(filepath.Join(dir, "s-*.rdb"))
	if len(halves) != 2 {
		t.Fatalf("split wrote %v", halves)
	}
	srv := s3test.Start(t)
	srv.CreateBucket(t, "backups")
	s3src.SetDefaultOptions(srv.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	for i, h := range halves {
		b, err := os.ReadFile(h)
		if err != nil {
			t.Fatal(err)
		}
		srv.Put(t, "backups", fmt.Sprintf("daily/cache-%04d.rdb", i+1), b)
	}
	whole := filepath.Join(dir, "whole-00000-16383.rdb")
	for _, set := range []string{"s3://backups/daily/", "s3://backups/daily/cache-*.rdb"} {
		if out, code := run(t, "diff", set, whole); code != 0 {
			t.Errorf("diff %s %s: exit %d, want 0: %s", set, whole, code, out)
		}
	}
	if out, code := run(t, "diff", "s3://backups/daily/cache-0001.rdb", "s3://backups/daily/"); code != 1 {
		t.Errorf("one shard against the set: exit %d, want 1: %s", code, out)
	}
}
