package rdb_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestReleaseForCorpus: every corpus file was written by a real server;
// the release table must map that server's version to the file's RDB
// version, and ParseTarget must agree.
func TestReleaseForCorpus(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range corpustest.Files(t) {
		server := f.Server() // "redis-7.4.1", "valkey-8.0.1"
		name, ver, _ := strings.Cut(server, "-")
		parts := strings.Split(ver, ".")
		major, _ := strconv.Atoi(parts[0])
		minor, _ := strconv.Atoi(parts[1])
		fh, err := os.Open(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		h, err := rdb.ReadHeader(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		got := rdb.ReleaseFor(name == "valkey", major, minor)
		if got.Target.Version != h.Version || got.Target.Dialect != h.Dialect {
			t.Errorf("%s: ReleaseFor(%s) = %s writing %v, the file is %v RDB %d", f.Name, server, got.Name(), got.Target, h.Dialect, h.Version)
		}
		if pt, err := rdb.ParseTarget(server); err != nil || pt != got.Target {
			t.Errorf("ParseTarget(%q) = %v, %v; want %v", server, pt, err, got.Target)
		}
		seen[server] = true
	}
	if len(seen) < 5 {
		t.Fatalf("only %d servers in the corpus", len(seen))
	}
}

func TestReleaseLookups(t *testing.T) {
	for _, c := range []struct {
		valkey       bool
		major, minor int
		want         int
	}{
		{false, 2, 6, 6}, // older than any known line: the oldest
		{false, 6, 2, 9},
		{false, 7, 0, 10},
		{false, 8, 2, 12},
		{false, 8, 6, 13},
		{false, 9, 0, 13}, // newer than any known line: the newest
		{true, 7, 2, 11},
		{true, 8, 1, 11},
		{true, 9, 0, 80},
		{true, 10, 0, 80},
	} {
		if got := rdb.ReleaseFor(c.valkey, c.major, c.minor).Target.Version; got != c.want {
			t.Errorf("ReleaseFor(valkey=%v, %d.%d) writes RDB %d, want %d", c.valkey, c.major, c.minor, got, c.want)
		}
	}
	for _, c := range []struct {
		t    rdb.Target
		want string
	}{
		{rdb.Target{Dialect: rdb.DialectRedis, Version: 6}, "redis-2.8"},
		{rdb.Target{Dialect: rdb.DialectRedis, Version: 9}, "redis-5.0"},
		{rdb.Target{Dialect: rdb.DialectRedis, Version: 11}, "redis-7.2"},
		{rdb.Target{Dialect: rdb.DialectRedis, Version: 14}, "redis-8.6"},
		{rdb.Target{Dialect: rdb.DialectValkey, Version: 80}, "valkey-9.0"},
	} {
		if got := rdb.ReleaseOf(c.t).Name(); got != c.want {
			t.Errorf("ReleaseOf(%v) = %s, want %s", c.t, got, c.want)
		}
	}
	names := rdb.TargetNames()
	if len(names) != len(rdb.Releases()) || names[0] != "redis-2.8" {
		t.Errorf("TargetNames: %v", names)
	}
}
