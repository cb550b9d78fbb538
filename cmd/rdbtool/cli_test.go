package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// run executes rdbtool with args and returns stdout and the exit status.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.code
	}
	return out.String() + err.Error(), 2
}

const sample = "../../testdata/corpus/redis-7.4.1/main.rdb"

func TestInfoJSON(t *testing.T) {
	out, code := run(t, "info", "--format", "json", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var fi fileInfo
	if err := json.Unmarshal([]byte(out), &fi); err != nil {
		t.Fatal(err)
	}
	// meta.json: info_keyspace db0 keys=79,expires=13; db1 15/8; db15 7/5.
	want := map[int][2]uint64{0: {79, 13}, 1: {15, 8}, 15: {7, 5}}
	if len(fi.DBs) != 3 {
		t.Fatalf("dbs: %+v", fi.DBs)
	}
	for _, d := range fi.DBs {
		if w := want[d.DB]; d.Keys != w[0] || d.WithExpiry != w[1] {
			t.Errorf("db %d: %d keys, %d with expiry; want %v", d.DB, d.Keys, d.WithExpiry, w)
		}
	}
	if fi.Version != 12 || fi.Dialect != "redis" || fi.Aux["redis-ver"] != "7.4.1" || !strings.HasPrefix(fi.Checksum, "verified") {
		t.Errorf("header facts: %+v", fi)
	}
	if len(fi.Functions) != 1 || fi.Functions[0] != "corpuslib_s1" {
		t.Errorf("functions %v", fi.Functions)
	}
	out, code = run(t, "info", sample)
	if code != 0 || !strings.Contains(out, "listpackex") || !strings.Contains(out, "redis RDB version 12") {
		t.Errorf("table output (exit %d):\n%s", code, out)
	}
}

func TestDumpJSONL(t *testing.T) {
	out, code := run(t, "dump", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 101 {
		t.Fatalf("%d lines, want 101 keys", len(lines))
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"db", "key_b64", "type", "encoding", "expire_at_ms"} {
		if _, ok := first[k]; !ok {
			t.Errorf("first line lacks %q: %s", k, lines[0])
		}
	}
}

func TestCheckExitCodes(t *testing.T) {
	if out, code := run(t, "check", sample); code != 0 || !strings.Contains(out, "ok, 101 keys") {
		t.Errorf("clean file: exit %d: %s", code, out)
	}
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	truncated := filepath.Join(dir, "truncated.rdb")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	if out, code := run(t, "check", truncated); code != 1 || !strings.Contains(out, "DAMAGED") || !strings.Contains(out, "offset") {
		t.Errorf("truncated file: exit %d: %s", code, out)
	}
	flipped := filepath.Join(dir, "flipped.rdb")
	bad := append([]byte(nil), data...)
	bad[len(bad)-20] ^= 0x01
	os.WriteFile(flipped, bad, 0o644)
	if out, code := run(t, "check", flipped); code != 1 {
		t.Errorf("flipped byte: exit %d: %s", code, out)
	}
	if out, code := run(t, "check", filepath.Join(dir, "missing.rdb")); code != 2 {
		t.Errorf("missing file: exit %d: %s", code, out)
	}
}

func TestDumpRESP(t *testing.T) {
	out, code := run(t, "dump", "--format", "resp", "../../testdata/corpus/redis-7.0.15/lfu.rdb")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	// Every command is a RESP array of bulk strings.
	if !strings.HasPrefix(out, "*") || !strings.Contains(out, "\r\n$3\r\nSET\r\n") {
		t.Errorf("not a RESP command stream: %q", out[:min(len(out), 200)])
	}
}

func TestSalvageCommand(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged.rdb")
	bad := append([]byte(nil), data...)
	// Zero a 4 KiB block in the middle of the file.
	for i := len(bad) / 2; i < len(bad)/2+4096; i++ {
		bad[i] = 0
	}
	os.WriteFile(damaged, bad, 0o644)
	if out, code := run(t, "check", damaged); code != 1 {
		t.Fatalf("check of a damaged file: exit %d: %s", code, out)
	}
	out := filepath.Join(dir, "salvaged.rdb")
	report := filepath.Join(dir, "report.txt")
	if msg, code := run(t, "salvage", damaged, out, "--report", report); code != 0 {
		t.Fatalf("salvage: exit %d: %s", code, msg)
	}
	// The salvaged file is clean and holds most keys of the original.
	msg, code := run(t, "check", out)
	if code != 0 {
		t.Fatalf("check of the salvaged file: exit %d: %s", code, msg)
	}
	var kept int
	for _, f := range strings.Fields(msg) {
		if n, err := strconv.Atoi(f); err == nil && kept == 0 {
			kept = n
		}
	}
	t.Logf("salvaged %d of 101 keys", kept)
	if kept < 80 || kept >= 101 {
		t.Errorf("salvaged file has %d keys (original 101, one 4 KiB block zeroed): %s", kept, msg)
	}
	rep, err := os.ReadFile(report)
	if err != nil || len(rep) == 0 {
		t.Errorf("report: %v, %d bytes", err, len(rep))
	}
	if msg, code := run(t, "salvage", filepath.Join(dir, "missing.rdb"), filepath.Join(dir, "x.rdb")); code != 2 {
		t.Errorf("missing input: exit %d: %s", code, msg)
	}
}
