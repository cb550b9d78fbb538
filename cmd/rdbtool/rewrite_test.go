package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestConvertListsEverything: a target that lacks two kinds of content
// is refused in one run that names both flags, with counts; --dry-run
// gives the same list and writes nothing.
func TestConvertListsEverything(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.rdb")
	for _, extra := range [][]string{nil, {"--dry-run"}} {
		args := append([]string{"convert", sample, out, "--target-version", "10"}, extra...)
		msg, code := runMsg(t, args...)
		if code != 1 {
			t.Fatalf("%v: exit %d: %s", extra, code, msg)
		}
		for _, want := range []string{"--drop-field-ttls", "--downgrade-streams", "nothing was written"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%v: the refusal lacks %q: %s", extra, want, msg)
			}
		}
		if strings.Contains(msg, "DropFieldTTLs") || strings.Contains(msg, "DowngradeStreams") {
			t.Errorf("%v: the message names Go options: %s", extra, msg)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
			t.Errorf("%v: files left: %v", extra, left)
		}
	}
	msg, code := runMsg(t, "convert", sample, out, "--target-version", "10", "--dry-run", "--drop-field-ttls", "--downgrade-streams")
	if code != 0 || !strings.Contains(msg, "nothing was written") {
		t.Fatalf("dry run with the flags: exit %d: %s", code, msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the dry run wrote %s", out)
	}
}

// repeatedKeysFile writes, with the library's low-level writer told to
// allow it, a file holding key "a" three times in db 0 (values 1, 2, 3),
// a set "s" twice, and "a" once more in db 1.
func repeatedKeysFile(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, AllowDuplicateKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	h := func(k string) rdb.KeyHeader { return rdb.KeyHeader{Key: []byte(k)} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteDefaultAux("", time.Now().Unix(), 0))
	must(w.SelectDB(0))
	must(w.WriteString(h("a"), []byte("1")))
	set := func(members ...string) {
		cw, err := w.BeginSet(h("s"), int64(len(members)))
		must(err)
		for _, m := range members {
			must(cw.Add(rdb.Element{Member: []byte(m)}))
		}
		must(cw.Close())
	}
	set("x", "y")
	must(w.WriteString(h("a"), []byte("2")))
	must(w.WriteString(h("b"), []byte("b")))
	set("z")
	must(w.WriteString(h("a"), []byte("3")))
	must(w.SelectDB(1))
	must(w.WriteString(h("a"), []byte("db1")))
	must(w.Close())
	p := filepath.Join(t.TempDir(), "repeated.rdb")
	must(os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

func getString(t *testing.T, s *redistest.Server, db int, key string) string {
	t.Helper()
	if _, err := s.Do("SELECT", db); err != nil {
		t.Fatal(err)
	}
	return string(redistest.AsBytes(redistest.MustDo(t, s, "GET", key)))
}

// TestConvertRepeatedKeys: a file holding keys more than once in a
// database, which redis-server refuses to load, is refused by convert;
// --on-duplicate keep-last writes a file redis-server 7.0.15 loads,
// holding the last values (keep-first: the first), and says how many
// records it left out.
func TestConvertRepeatedKeys(t *testing.T) {
	in := repeatedKeysFile(t)
	if out, err := redistest.CheckRDB(t, in); err == nil {
		t.Logf("note: redis-check-rdb accepts the input: %s", out)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out.rdb")
	msg, code := runMsg(t, "convert", in, out)
	if code != 1 || !strings.Contains(msg, `"a"`) || !strings.Contains(msg, "--on-duplicate") {
		t.Fatalf("default: exit %d: %s", code, msg)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
	for _, c := range []struct{ keep, a, s string }{{"keep-last", "3", "z"}, {"keep-first", "1", "x"}} { // s: a member of the kept set
		msg, code = runMsg(t, "convert", in, out, "--on-duplicate", c.keep)
		if code != 0 || !strings.Contains(msg, "3 repeated key records left out (--on-duplicate "+c.keep+")") {
			t.Fatalf("%s: exit %d: %s", c.keep, code, msg)
		}
		s := redistest.Start(t, out)
		if got := getString(t, s, 0, "a"); got != c.a {
			t.Errorf("%s: db 0 a = %q, want %q", c.keep, got, c.a)
		}
		if got := getString(t, s, 1, "a"); got != "db1" {
			t.Errorf("%s: db 1 a = %q", c.keep, got)
		}
		s.Do("SELECT", 0)
		if in := redistest.MustDo(t, s, "SISMEMBER", "s", c.s); in != int64(1) {
			t.Errorf("%s: %s is not in s", c.keep, c.s)
		}
		if in := redistest.MustDo(t, s, "SISMEMBER", "s", "y"); (in == int64(1)) != (c.keep == "keep-first") {
			t.Errorf("%s: SISMEMBER s y = %v", c.keep, in)
		}
		if n := redistest.MustDo(t, s, "DBSIZE"); n != int64(3) {
			t.Errorf("%s: db 0 holds %v keys, want 3", c.keep, n)
		}
		s.Stop()
	}
}

// TestConvertEmptyCollections: empty collections, which redis-server
// skips when loading, are left out and counted, and the rest converted;
// redis-server 7.0.15 loads the output.
func TestConvertEmptyCollections(t *testing.T) {
	in := corpustest.EmptyCollectionsFile(t)
	out := filepath.Join(t.TempDir(), "out.rdb")
	msg, code := runMsg(t, "convert", in, out)
	if code != 0 || !strings.Contains(msg, "4 empty collections left out") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	s := redistest.Start(t, out)
	if n := redistest.MustDo(t, s, "DBSIZE"); n != int64(1) {
		t.Errorf("DBSIZE %v, want 1", n)
	}
	if got := getString(t, s, 0, "k"); got != "v" {
		t.Errorf("k = %q", got)
	}
}

// TestSplitMultiDB: split refuses input with keys outside db 0 (a cluster
// node has only db 0) naming --db and --map-db, and writes nothing; with
// --db 0 every output loads in redis-server 7.0.15 and together they hold
// db 0; --map-db 1:0, which brings keys of the same name together, is
// refused as convert refuses it.
func TestSplitMultiDB(t *testing.T) {
	in := "../../testdata/corpus/redis-7.0.15/main.rdb"
	want := readPath(t, in, canonOptions{})
	var db0 int
	for _, k := range want.Keys {
		if k.DB == 0 && (k.ExpireAt == 0 || k.ExpireAt > time.Now().UnixMilli()) {
			db0++
		}
	}
	dir := t.TempDir()
	prefix := filepath.Join(dir, "part")
	msg, code := runMsg(t, "split", in, "--slots-per-file", "8192", "--out-prefix", prefix)
	if code != 1 || !strings.Contains(msg, "--db") || !strings.Contains(msg, "--map-db") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	msg, code = runMsg(t, "split", in, "--slots-per-file", "8192", "--out-prefix", prefix, "--map-db", "1:0")
	if code != 1 || !strings.Contains(msg, "twice") && !strings.Contains(msg, "already in") {
		t.Fatalf("--map-db 1:0: exit %d: %s", code, msg)
	}
	msg, code = runMsg(t, "split", in, "--slots-per-file", "8192", "--out-prefix", prefix, "--db", "0")
	if code != 0 {
		t.Fatalf("--db 0: exit %d: %s", code, msg)
	}
	files, _ := filepath.Glob(prefix + "-*.rdb")
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	var total int64
	for _, f := range files {
		s := redistest.Start(t, f)
		total += redistest.MustDo(t, s, "DBSIZE").(int64)
		s.Stop()
	}
	if total != int64(db0) {
		t.Errorf("the outputs hold %d keys, db 0 of the input %d", total, db0)
	}

	// Merged, keeping the later occurrence (db 1 comes after db 0).
	now := time.Now().UnixMilli()
	last := map[string]fileKey{}
	for _, db := range []int{0, 1} {
		for _, k := range want.Keys {
			if k.DB == db {
				last[k.Key] = k
			}
		}
	}
	live := 0
	for _, k := range last {
		if k.ExpireAt == 0 || k.ExpireAt > now {
			live++
		}
	}
	prefix = filepath.Join(t.TempDir(), "merged")
	msg, code = runMsg(t, "split", in, "--slots-per-file", "16384", "--out-prefix", prefix, "--db", "0", "--db", "1", "--map-db", "1:0", "--on-duplicate", "keep-last")
	if code != 0 || !strings.Contains(msg, "repeated key records left out (--on-duplicate keep-last)") {
		t.Fatalf("--map-db 1:0 --on-duplicate keep-last: exit %d: %s", code, msg)
	}
	s := redistest.Start(t, prefix+"-00000-16383.rdb")
	if n := redistest.MustDo(t, s, "DBSIZE").(int64); n != int64(live) {
		t.Errorf("merged output holds %d keys, want %d", n, live)
	}
	for name, k := range last {
		if k.DB == 1 && k.Type == rdb.TypeString && (k.ExpireAt == 0 || k.ExpireAt > now) {
			if got := redistest.MustDo(t, s, "TYPE", name); got != "string" {
				t.Errorf("%s: TYPE %v", name, got)
			}
		}
	}
}

// TestSplitListsEverything: split for a target lacking two kinds of the
// input's content refuses once, naming both flags, and leaves no file.
func TestSplitListsEverything(t *testing.T) {
	dir := t.TempDir()
	msg, code := runMsg(t, "split", sample, "--slots-per-file", "16384", "--out-prefix", filepath.Join(dir, "p"), "--db", "0", "--target-version", "10")
	if code != 1 || !strings.Contains(msg, "--drop-field-ttls") || !strings.Contains(msg, "--downgrade-streams") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if strings.Contains(msg, "DropFieldTTLs") {
		t.Errorf("a Go option name: %s", msg)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// TestConvertDryRunRepeatedKeys: --dry-run reports repeated keys with
// the flag that resolves them, and with it, how many records it would
// leave out; nothing is written either way.
func TestConvertDryRunRepeatedKeys(t *testing.T) {
	in := repeatedKeysFile(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out.rdb")
	msg, code := runMsg(t, "convert", in, out, "--dry-run")
	if code != 1 || !strings.Contains(msg, "--on-duplicate") || !strings.Contains(msg, "2:") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	msg, code = runMsg(t, "convert", in, out, "--dry-run", "--on-duplicate", "keep-last")
	if code != 0 || !strings.Contains(msg, "2 keys repeated, 3 records would be left out") {
		t.Fatalf("keep-last: exit %d: %s", code, msg)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// repeatedFarApart writes in dir a file of 250,000 keys, the eighth
// repeated at the end: past the Writer's in-memory duplicate check, which
// has spilled by then, so that the repeat is found as an output is
// completed, by its two output offsets.
func repeatedFarApart(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, AllowDuplicateKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 250_000 {
		if err := w.WriteString(rdb.KeyHeader{Key: fmt.Appendf(nil, "key:%07d", i)}, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteString(rdb.KeyHeader{Key: []byte("key:0000007")}, []byte("again")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.rdb")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// TestConvertNamesKeyRepeatedFarApart: convert and split name a key
// repeated far apart (repeatedFarApart), from a second read of the input,
// and write nothing.
func TestConvertNamesKeyRepeatedFarApart(t *testing.T) {
	dir := t.TempDir()
	in := repeatedFarApart(t, dir)
	out := filepath.Join(dir, "out.rdb")
	for _, args := range [][]string{
		{"convert", in, out, "--jobs", "1"},
		{"convert", in, out, "--jobs", "2"},
		{"split", in, "--slots-per-file", "16384", "--out-prefix", filepath.Join(dir, "out")},
	} {
		msg, code := runMsg(t, args...)
		if code != 1 || !strings.Contains(msg, `db 0 "key:0000007"`) || !strings.Contains(msg, "--on-duplicate keep-first") {
			t.Fatalf("%s: exit %d: %s", args, code, msg)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*out*")); len(left) != 0 {
			t.Fatalf("%s: files left: %v", args, left)
		}
	}
}
