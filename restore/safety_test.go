package restore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

func infoField(t *testing.T, s *redistest.Server, section, field string) string {
	t.Helper()
	v, err := s.Do("INFO", section)
	if err != nil {
		t.Fatal(err)
	}
	return parseInfo(string(v.([]byte)))[field]
}

func dbsize(t *testing.T, s *redistest.Server) int64 {
	t.Helper()
	v, err := s.Do("DBSIZE")
	if err != nil {
		t.Fatal(err)
	}
	return v.(int64)
}

// waitForKeys returns once s holds at least n keys: tests that interrupt a
// rate-limited restore wait for progress instead of sleeping a fixed time,
// which on a loaded machine can outlast the whole restore.
func waitForKeys(t *testing.T, s *redistest.Server, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for dbsize(t, s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the target never held %d keys", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRestoreRefusesReplica: a restore into a replica (default --method
// auto, which would send REPLICAOF) is refused before anything is sent;
// the replica is still a replica of its master with its link up. With
// DetachReplica it is promoted and restored.
func TestRestoreRefusesReplica(t *testing.T) {
	master := redistest.Start(t, "")
	replica := redistest.Start(t, "")
	host, port, _ := strings.Cut(master.Addr, ":")
	if _, err := replica.Do("REPLICAOF", host, port); err != nil {
		t.Fatal(err)
	}
	master.Do("SET", "from-master", "1")
	deadline := time.Now().Add(30 * time.Second)
	for infoField(t, replica, "replication", "master_link_status") != "up" || dbsize(t, replica) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("replica link never came up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	file := makeRDB(t, 200, 0, 0)
	for _, method := range []Method{MethodAuto, MethodKeys} {
		_, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + replica.Addr, Method: method, Conflict: Replace})
		if !errors.Is(err, ErrUnsafeTarget) || !strings.Contains(err.Error(), "--detach-replica") || !strings.Contains(err.Error(), master.Addr) {
			t.Fatalf("method %d: err %v, want a refusal naming the master and --detach-replica", method, err)
		}
		t.Logf("refused: %v", err)
		time.Sleep(200 * time.Millisecond)
		if role := infoField(t, replica, "replication", "role"); role != "slave" {
			t.Fatalf("after the refusal the replica's role is %q", role)
		}
		if st := infoField(t, replica, "replication", "master_link_status"); st != "up" {
			t.Fatalf("after the refusal the replica's link is %q", st)
		}
		if got := infoField(t, replica, "replication", "master_port"); got != port {
			t.Fatalf("after the refusal the replica follows port %s, not %s", got, port)
		}
		if n := dbsize(t, replica); n != 1 {
			t.Fatalf("replica holds %d keys, want its master's 1", n)
		}
	}
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + replica.Addr, Conflict: Replace, DetachReplica: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if role := infoField(t, replica, "replication", "role"); role != "master" {
		t.Errorf("with DetachReplica the role is %q", role)
	}
	if n := dbsize(t, replica); n != 1+200+20+20 {
		t.Errorf("promoted target holds %d keys, want 241", n)
	}
}

// TestRestoreRefusesReadOnlyTarget: a master that refuses writes
// (min-replicas-to-write without replicas) is refused before writing.
func TestRestoreRefusesReadOnlyTarget(t *testing.T) {
	s := redistest.Start(t, "", "--min-replicas-to-write", "1")
	_, err := Restore(context.Background(), FileInputs(nil, makeRDB(t, 10, 0, 0)), Options{Target: "redis://" + s.Addr})
	if !errors.Is(err, ErrUnsafeTarget) || !strings.Contains(err.Error(), "refuses writes") {
		t.Fatalf("err %v, want a refusal", err)
	}
}

// TestRestoreResumeAfterTargetRestartedEmpty: a checkpointed restore is
// stopped by kill -9 of its target, which comes back empty (no
// persistence) on the same address: the resume is refused with an
// explanation instead of reporting every key written; removing the
// checkpoint starts over and ends with every key present.
func TestRestoreResumeAfterTargetRestartedEmpty(t *testing.T) {
	file := makeRDB(t, 30000, 0, 0)
	s := redistest.Start(t, "")
	_, port, _ := strings.Cut(s.Addr, ":")
	cp := filepath.Join(t.TempDir(), "restore.checkpoint")
	opts := Options{Target: "redis://" + s.Addr, Checkpoint: cp, Rate: 10000, Workers: 2, Pipeline: 64}
	var wg sync.WaitGroup
	var err1 error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err1 = Restore(context.Background(), FileInputs(nil, file), opts)
	}()
	waitForKeys(t, s, 5000)
	pid, _ := strconv.Atoi(infoField(t, s, "server", "process_id"))
	written := dbsize(t, s)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err1 == nil {
		t.Fatal("the first run did not notice the kill")
	}
	c, err := loadCheckpoint(cp)
	if err != nil || c == nil || c.Complete || len(c.TargetState) == 0 {
		t.Fatalf("checkpoint: %+v %v", c, err)
	}
	t.Logf("killed after about %d keys; checkpoint: offset %d, written %d", written, c.Offset, c.Counts.Written)

	p, _ := strconv.Atoi(port)
	s2 := redistest.StartAt(t, p, "")
	rep, err := Restore(context.Background(), FileInputs(nil, file), opts)
	if !errors.Is(err, ErrUnsafeTarget) || !strings.Contains(err.Error(), "restarted") || !strings.Contains(err.Error(), "remove "+cp) {
		t.Fatalf("resume into the emptied target: err %v, report %+v; want a refusal explaining the restart", err, rep)
	}
	t.Logf("resume refused: %v", err)
	if n := dbsize(t, s2); n != 0 {
		t.Fatalf("the refused resume wrote %d keys", n)
	}
	// An emptied target with the same run_id (FLUSHALL) is refused too.
	opts.Rate = 0
	opts.Checkpoint = filepath.Join(t.TempDir(), "second.checkpoint")
	rep, err = Restore(context.Background(), FileInputs(nil, file), opts)
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	want := int64(30000 + 3000*2)
	if n := dbsize(t, s2); n != want || rep.Written != want {
		t.Fatalf("fresh run: target holds %d, report says %d written, want %d", n, rep.Written, want)
	}
	redistest.MustDo(t, s2, "FLUSHALL")
	if _, err := Restore(context.Background(), FileInputs(nil, file), opts); !errors.Is(err, ErrUnsafeTarget) || !strings.Contains(err.Error(), "FLUSHALL") {
		t.Fatalf("completed checkpoint, flushed target: err %v, want a refusal", err)
	}
}

// TestRestoreMaxmemory: a target whose maxmemory (2 MB) cannot hold the
// snapshot, or whose policy evicts, is refused before anything is written;
// a snapshot that fits is restored, every key present at exit 0.
func TestRestoreMaxmemory(t *testing.T) {
	big := makeRDB(t, 20000, 0, 0)
	small := makeRDB(t, 500, 0, 0)
	for _, policy := range []string{"noeviction", "allkeys-lru"} {
		t.Run(policy, func(t *testing.T) {
			s := redistest.Start(t, "", "--maxmemory", "2mb", "--maxmemory-policy", policy)
			for _, method := range []Method{MethodAuto, MethodKeys} {
				_, err := Restore(context.Background(), FileInputs(nil, big), Options{Target: "redis://" + s.Addr, Method: method})
				if !errors.Is(err, ErrUnsafeTarget) {
					t.Fatalf("err %v, want a refusal", err)
				}
				t.Logf("refused: %v", err)
				if n := dbsize(t, s); n != 0 {
					t.Fatalf("the refused restore wrote %d keys", n)
				}
			}
			usedBefore, _ := strconv.ParseInt(infoField(t, s, "memory", "used_memory"), 10, 64)
			rep, err := Restore(context.Background(), FileInputs(nil, small), Options{Target: "redis://" + s.Addr})
			if policy == "noeviction" && err == nil {
				// The estimate the check relied on is the load prediction's
				// upper bound: not below what the keys took, and not far above.
				usedAfter, _ := strconv.ParseInt(infoField(t, s, "memory", "used_memory"), 10, 64)
				took := usedAfter - usedBefore
				t.Logf("estimated %d bytes, the keys took %d", rep.EstimatedBytes, took)
				if rep.EstimatedBytes < took*97/100 || rep.EstimatedBytes > took*115/100 {
					t.Errorf("estimated %d bytes, the keys took %d", rep.EstimatedBytes, took)
				}
			}
			if policy != "noeviction" {
				if !errors.Is(err, ErrUnsafeTarget) || !strings.Contains(err.Error(), "--allow-eviction") {
					t.Fatalf("evicting policy: err %v, want a refusal naming --allow-eviction", err)
				}
				rep, err = Restore(context.Background(), FileInputs(nil, small), Options{Target: "redis://" + s.Addr, AllowEviction: true})
			}
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep, true)
			if want := int64(500 + 50 + 50); dbsize(t, s) != want || rep.Written != want {
				t.Fatalf("target holds %d keys, report %d written, want %d", dbsize(t, s), rep.Written, want)
			}
			if ev := infoField(t, s, "stats", "evicted_keys"); ev != "0" {
				t.Errorf("evicted_keys %s", ev)
			}
		})
	}
}

// TestRestoreFinalCheck: keys that vanish from the target during the
// restore (deleted behind its back here) fail the final check.
func TestRestoreFinalCheck(t *testing.T) {
	s := redistest.Start(t, "")
	file := makeRDB(t, 5000, 0, 0)
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Method: MethodKeys})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	// The same check, after a key went missing.
	ep, _ := parseTarget("redis://"+s.Addr, &Options{})
	e := &engine{o: Options{Conflict: Refuse}, ep: ep, clients: map[int]*redis.Client{}, emptyAtRun: true, ctx: context.Background()}
	defer e.closeClients()
	before, err := e.targetState()
	if err != nil {
		t.Fatal(err)
	}
	s.Do("DEL", "str:000001")
	err = e.finalCheck(before, map[int][2]int64{0: {int64(5000 - 5000/7 - 1 + 1000), int64(5000/7 + 1)}})
	if !errors.Is(err, ErrLost) {
		t.Fatalf("err %v, want ErrLost", err)
	}
	t.Log(err)
}

// flagOptions turns the flags a refusal names into Options.
func flagOptions(t *testing.T, o *Options, flags []string) {
	t.Helper()
	for _, f := range flags {
		switch f {
		case "--drop-field-ttls":
			o.Policy |= rdb.DropFieldTTLs
		case "--downgrade-streams":
			o.Policy |= rdb.DowngradeStreams
		case "--drop-key-meta":
			o.Policy |= rdb.DropKeyMeta
		case "--drop-functions":
			o.Policy |= rdb.DropFunctions
		case "--skip-modules":
			o.SkipModules = true
		default:
			t.Fatalf("a refusal names %s", f)
		}
	}
}

// TestRestoreDryRunCorpus: for every corpus file, a dry run against a
// 7.0.15 target lists what the target cannot hold and writes nothing; a
// real restore then refuses exactly that list, again writing nothing; and
// with the flags the list names, the restore writes everything else with
// no key refused or failed.
func TestRestoreDryRunCorpus(t *testing.T) {
	s := redistest.Start(t, "")
	for _, f := range corpustest.Files(t) {
		if !restorable(f) {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			s.Do("FLUSHALL")
			s.Do("FUNCTION", "FLUSH")
			o := Options{Target: "redis://" + s.Addr, DryRun: true}
			dry, err := Restore(context.Background(), FileInputs(nil, f.RDB), o)
			var rerr *rewrite.Error
			if err != nil && !errors.As(err, &rerr) {
				t.Fatal(err)
			}
			if n := dbsize(t, s); n != 0 {
				t.Fatalf("the dry run wrote %d keys", n)
			}
			var b strings.Builder
			dry.Print(&b)
			t.Logf("%s", b.String())
			o.DryRun = false
			real, err := Restore(context.Background(), FileInputs(nil, f.RDB), o)
			if len(dry.Incompatible) == 0 {
				if err != nil {
					t.Fatalf("dry run found nothing, the restore failed: %v", err)
				}
				checkReport(t, real, true)
				return
			}
			if !errors.As(err, &rerr) {
				t.Fatalf("dry run listed %v; the restore: %v", dry.Incompatible, err)
			}
			if fmt.Sprint(rerr.Findings) != fmt.Sprint(dry.Incompatible) {
				t.Fatalf("the restore refused\n%v\nthe dry run listed\n%v", rerr.Findings, dry.Incompatible)
			}
			if n := dbsize(t, s); n != 0 {
				t.Fatalf("the refused restore wrote %d keys", n)
			}
			var found rewrite.Findings
			for _, x := range dry.Incompatible {
				found.Add(x.Reason, 0, nil)
			}
			flags, ok := found.Flags()
			if !ok {
				t.Fatalf("some finding has no flag: %v", dry.Incompatible)
			}
			flagOptions(t, &o, flags)
			rep, err := Restore(context.Background(), FileInputs(nil, f.RDB), o)
			if err != nil {
				t.Fatalf("with %v: %v", flags, err)
			}
			checkReport(t, rep, true)
			if rep.Refused != 0 || rep.Failed != 0 {
				t.Fatalf("with %v: %d refused, %d failed", flags, rep.Refused, rep.Failed)
			}
		})
	}
}

// TestRestoreEmptyCollections: empty collections, which a server skips
// when loading a file, are skipped and counted, key by key and by a full
// sync, and the rest restored (into a 7.0.15 server).
func TestRestoreEmptyCollections(t *testing.T) {
	s := redistest.Start(t, "")
	in := corpustest.EmptyCollectionsFile(t)
	for _, m := range []Method{MethodKeys, MethodSync} {
		s.Do("FLUSHALL")
		rep, err := Restore(context.Background(), FileInputs(nil, in), Options{Target: "redis://" + s.Addr, Method: m})
		if err != nil {
			t.Fatalf("method %d: %v", m, err)
		}
		checkReport(t, rep, true)
		if rep.Written != 1 || rep.Skipped[skipEmpty] != 4 {
			t.Errorf("method %d: written %d, skipped %v: want 1 written, 4 empty skipped", m, rep.Written, rep.Skipped)
		}
		if v, _ := s.Do("GET", "k"); string(redistest.AsBytes(v)) != "v" || dbsize(t, s) != 1 {
			t.Errorf("method %d: k = %q, DBSIZE %d", m, v, dbsize(t, s))
		}
	}
}

// TestReportGroupsIssues: 50 keys refused for one reason print as one
// line with the count and a few example keys, not 50 lines.
func TestReportGroupsIssues(t *testing.T) {
	rep := &Report{Skipped: map[string]int64{}}
	for i := 0; i < 50; i++ {
		rep.Issues = append(rep.Issues, KeyIssue{Key: fmt.Sprintf("k%d\x1b", i), Reason: "RESTORE: ERR Bad data format"})
	}
	rep.Issues = append(rep.Issues, KeyIssue{Key: "other", Reason: "OOM"})
	var b strings.Builder
	rep.Print(&b)
	out := b.String()
	if n := strings.Count(out, "Bad data format"); n != 1 {
		t.Errorf("%d lines name the reason:\n%s", n, out)
	}
	if !strings.Contains(out, `      50  RESTORE: ERR Bad data format (e.g. db 0 "k0\x1b", db 0 "k1\x1b", db 0 "k2\x1b", ...)`) {
		t.Errorf("no grouped line:\n%s", out)
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("a control byte reaches the output:\n%q", out)
	}
}

// TestRestoreRepeatedKeys: a source holding a key twice in one database
// (written with the library's writer told to allow it) is refused before
// anything is written, naming the key and the way to keep one.
func TestRestoreRepeatedKeys(t *testing.T) {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, AllowDuplicateKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	h := func(k string) rdb.KeyHeader { return rdb.KeyHeader{Key: []byte(k)} }
	w.SelectDB(0)
	w.WriteString(h("a"), []byte("1"))
	w.WriteString(h("b"), []byte("1"))
	w.WriteString(h("a"), []byte("2"))
	w.SelectDB(1)
	w.WriteString(h("a"), []byte("3"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "repeated.rdb")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s := redistest.Start(t, "")
	for _, m := range []Method{MethodAuto, MethodKeys} {
		rep, err := Restore(context.Background(), FileInputs(nil, in), Options{Target: "redis://" + s.Addr, Method: m, Conflict: Replace})
		var rerr *rewrite.Error
		if !errors.As(err, &rerr) || len(rep.Incompatible) != 1 || rep.Incompatible[0].Count != 1 ||
			!strings.Contains(err.Error(), `db 0 "a"`) || !strings.Contains(err.Error(), "--on-duplicate") {
			t.Fatalf("method %d: err %v, want the repeated key refused", m, err)
		}
		if n := dbsize(t, s); n != 0 {
			t.Fatalf("the refused restore wrote %d keys", n)
		}
	}
}
