package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// makeRDB writes an RDB 10 file: n string keys, n/10 lists of 50
// elements, n/10 hashes, some keys with TTLs, and big lists of bigElems
// elements of 1 KiB (bigger than a small proto-max-bulk-len).
func makeRDB(t *testing.T, n, big, bigElems int) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteDefaultAux("", time.Now().Unix(), 0))
	must(w.SelectDB(0))
	future := time.Now().Add(time.Hour).UnixMilli()
	for i := 0; i < n; i++ {
		h := rdb.KeyHeader{Key: []byte(fmt.Sprintf("str:%06d", i))}
		if i%7 == 0 {
			h.ExpireAt = future + int64(i)
		}
		must(w.WriteString(h, bytes.Repeat([]byte{byte('a' + i%26)}, 20+i%200)))
		if i%10 == 0 {
			cw, err := w.BeginList(rdb.KeyHeader{Key: []byte(fmt.Sprintf("list:%06d", i))}, 50)
			must(err)
			for k := 0; k < 50; k++ {
				must(cw.Add(rdb.Element{Member: []byte(fmt.Sprintf("e%d", k))}))
			}
			must(cw.Close())
			hw, err := w.BeginHash(rdb.KeyHeader{Key: []byte(fmt.Sprintf("hash:%06d", i))}, 5)
			must(err)
			for k := 0; k < 5; k++ {
				must(hw.Add(rdb.Element{Member: []byte(fmt.Sprintf("f%d", k)), Value: []byte(fmt.Sprint(k * i))}))
			}
			must(hw.Close())
		}
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	elem := make([]byte, 1024)
	for b := 0; b < big; b++ {
		cw, err := w.BeginList(rdb.KeyHeader{Key: []byte(fmt.Sprintf("biglist:%d", b))}, int64(bigElems))
		must(err)
		for k := 0; k < bigElems; k++ {
			for i := range elem {
				elem[i] = byte(rnd.Uint32())
			}
			must(cw.Add(rdb.Element{Member: append([]byte(fmt.Sprintf("%d:", k)), elem...)}))
		}
		must(cw.Close())
	}
	must(w.Close())
	p := filepath.Join(t.TempDir(), "synthetic.rdb")
	must(os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

// TestRestoreKillAndResume: the target is shut down mid-restore; once
// restarted with its AOF, the restore resumes from the checkpoint and the
// target then holds exactly the source (no key lost, no list duplicated).
func TestRestoreKillAndResume(t *testing.T) {
	file := makeRDB(t, 30000, 3, 3000)
	s := redistest.Start(t, "", "--appendonly", "yes", "--appendfsync", "always")
	cp := filepath.Join(t.TempDir(), "restore.checkpoint")
	opts := Options{Target: "redis://" + s.Addr, Checkpoint: cp, Rate: 15000, Workers: 2, Pipeline: 64, MaxPayload: 1 << 20, ChunkElements: 100}
	var wg sync.WaitGroup
	var rep1 *Report
	var err1 error
	wg.Add(1)
	go func() {
		defer wg.Done()
		rep1, err1 = Restore(context.Background(), FileInputs(nil, file), opts)
	}()
	waitForKeys(t, s, 5000)
	s.Do("SHUTDOWN", "NOSAVE")
	wg.Wait()
	if err1 == nil {
		t.Fatalf("restore did not notice the target going away: %+v", rep1)
	}
	t.Logf("first run stopped: %v (written %d, %d by MSET)", err1, rep1.Written, rep1.ByMSet)
	if rep1.ByMSet == 0 {
		t.Error("the first run wrote no key by MSET")
	}
	c, err := loadCheckpoint(cp)
	if err != nil || c == nil || c.Offset == 0 || c.Complete {
		t.Fatalf("checkpoint after the failure: %+v %v", c, err)
	}
	t.Logf("checkpoint: offset %d, high water %d, written %d", c.Offset, c.HighWater, c.Counts.Written)

	s2 := redistest.Start(t, "", "--dir", s.Dir, "--appendonly", "yes", "--appendfsync", "always")
	n, _ := s2.Do("DBSIZE")
	t.Logf("restarted target holds %v keys", n)
	opts.Target, opts.Rate, opts.Verify = "redis://"+s2.Addr, 0, true
	rep2, err := Restore(context.Background(), FileInputs(nil, file), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep2, true)
	if !rep2.Resumed {
		t.Error("second run did not resume")
	}
	if rep2.ByCommands == 0 {
		t.Error("no key went the command path")
	}
	// Every list has exactly its elements.
	for _, k := range []string{"list:000000", "list:012340", "list:029990"} {
		if v, _ := s2.Do("LLEN", k); v != int64(50) {
			t.Errorf("%s: LLEN %v, want 50", k, v)
		}
	}
	for b := 0; b < 3; b++ {
		if v, _ := s2.Do("LLEN", fmt.Sprintf("biglist:%d", b)); v != int64(3000) {
			t.Errorf("biglist:%d: LLEN %v, want 3000", b, v)
		}
	}
	want := int64(30000 + 3000*2 + 3)
	if v, _ := s2.Do("DBSIZE"); v != want {
		t.Errorf("DBSIZE %v, want %d (temporary keys left?)", v, want)
	}
	if rep2.Written != want {
		t.Errorf("report says %d written over both runs, want %d", rep2.Written, want)
	}
	// A third run finds the checkpoint complete.
	rep3, err := Restore(context.Background(), FileInputs(nil, file), opts)
	if err != nil || !rep3.OK() {
		t.Fatalf("third run: %v", err)
	}
}

func TestRestoreWrongPassword(t *testing.T) {
	s := redistest.Start(t, "")
	// redistest cannot wait for a server that wants a password: set it after.
	if _, err := s.Do("CONFIG", "SET", "requirepass", "secret"); err != nil {
		t.Fatal(err)
	}
	file := makeRDB(t, 10, 0, 0)
	_, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://:wrong@" + s.Addr})
	if err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("error %v, want an authentication failure", err)
	}
	if strings.Contains(err.Error(), "wrong@") {
		t.Errorf("error shows the password: %v", err)
	}
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://:secret@" + s.Addr})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	// ACL user
	s.Do("ACL", "SETUSER", "loader", "on", ">pw", "~*", "+@all")
	s.Do("FLUSHALL")
	rep, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://loader:pw@" + s.Addr, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
}

// TestRestoreOutOfMemory: a noeviction target too small for the snapshot
// is refused before anything is written (it used to take keys until out
// of memory, then fail the rest).
func TestRestoreOutOfMemory(t *testing.T) {
	s := redistest.Start(t, "", "--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
	file := makeRDB(t, 20000, 0, 0)
	_, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr})
	if !errors.Is(err, ErrUnsafeTarget) || !strings.Contains(err.Error(), "maxmemory") {
		t.Fatalf("err %v, want a refusal before writing", err)
	}
	if n, _ := s.Do("DBSIZE"); n != int64(0) {
		t.Fatalf("the refused restore wrote %v keys", n)
	}
}

// TestRestoreSmallProtoMaxBulkLen: values larger than the target's
// proto-max-bulk-len go the command path and arrive whole.
func TestRestoreSmallProtoMaxBulkLen(t *testing.T) {
	s := redistest.Start(t, "", "--proto-max-bulk-len", "1mb")
	file := makeRDB(t, 100, 2, 2000)
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if rep.ByCommands != 2 {
		t.Errorf("%d keys by commands, want the 2 big lists", rep.ByCommands)
	}
}

// TestRestoreConflicts: a non-empty target is refused; --skip-existing
// keeps what is there; --replace overwrites.
func TestRestoreConflicts(t *testing.T) {
	s := redistest.Start(t, "")
	file := makeRDB(t, 100, 1, 2000)
	s.Do("SET", "str:000001", "mine")
	_, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err %v, want a refusal", err)
	}
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Conflict: SkipExisting, MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if v, _ := s.Do("GET", "str:000001"); string(v.([]byte)) != "mine" {
		t.Errorf("skip-existing overwrote the key: %q", v)
	}
	if rep.Skipped["exists in the target (--skip-existing)"] != 1 {
		t.Errorf("skipped: %v", rep.Skipped)
	}
	rep, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Conflict: Replace, Verify: true, MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
}
