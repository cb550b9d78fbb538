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
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// msetCalls is how many MSET commands the server ran since its last
// CONFIG RESETSTAT.
func msetCalls(t *testing.T, s *redistest.Server) int64 {
	t.Helper()
	v := redistest.AsBytes(redistest.MustDo(t, s, "INFO", "commandstats"))
	for _, line := range strings.Split(string(v), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_mset:calls="); ok {
			n, _ := strconv.ParseInt(strings.Split(rest, ",")[0], 10, 64)
			return n
		}
	}
	return 0
}

// serverContent is every key of a server's databases 0 and 1 with its
// DUMP, expiry and encoding.
func serverContent(t *testing.T, s *redistest.Server) map[string]string {
	t.Helper()
	m := map[string]string{}
	for db := 0; db < 2; db++ {
		redistest.MustDo(t, s, "SELECT", db)
		for _, k := range redistest.AsList(redistest.MustDo(t, s, "KEYS", "*")) {
			d := redistest.AsBytes(redistest.MustDo(t, s, "DUMP", k))
			at, _ := redistest.MustDo(t, s, "PEXPIRETIME", k).(int64)
			enc := redistest.AsBytes(redistest.MustDo(t, s, "OBJECT", "ENCODING", k))
			m[fmt.Sprintf("%d/%s", db, k)] = fmt.Sprintf("%x %d %s", d, at, enc)
		}
	}
	redistest.MustDo(t, s, "SELECT", 0)
	return m
}

// TestRestoreMSetSameContent: plain strings batched into MSETs leave the
// server with exactly what key-by-key SETs leave (values, expiries,
// encodings), and only strings without TTL go into MSETs.
func TestRestoreMSetSameContent(t *testing.T) {
	file := makeRDB(t, 5000, 1, 100)
	const ttl = (5000 + 6) / 7 // str:%06d with i%7 == 0
	var want map[string]string
	for _, keys := range []int{0, 128, 3} {
		t.Run(fmt.Sprintf("mset-keys-%d", keys), func(t *testing.T) {
			defer func(k int) { msetKeys = k }(msetKeys)
			msetKeys = keys
			s := redistest.Start(t, "")
			redistest.MustDo(t, s, "CONFIG", "RESETSTAT")
			rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Verify: true})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep, true)
			calls := msetCalls(t, s)
			if keys == 0 {
				if rep.ByMSet != 0 || calls != 0 {
					t.Errorf("MSET off: %d keys by MSET, %d MSET calls", rep.ByMSet, calls)
				}
			} else {
				if rep.ByMSet != 5000-ttl || rep.BySet != ttl {
					t.Errorf("%d keys by MSET, %d by SET; want %d and %d", rep.ByMSet, rep.BySet, 5000-ttl, ttl)
				}
				// a few more batches than keys/size: the workers share the keys
				if calls < (5000-ttl)/int64(keys) || calls > (5000-ttl)/int64(keys)+200 {
					t.Errorf("%d MSET calls for %d keys in batches of %d", calls, rep.ByMSet, keys)
				}
			}
			got := serverContent(t, s)
			if want == nil {
				want = got
				return
			}
			if len(got) != len(want) {
				t.Errorf("%d keys, key by key gave %d", len(got), len(want))
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %.80s, key by key gave %.80s", k, got[k], v)
					break
				}
			}
		})
	}
}

// TestRestoreMSetConflicts: --skip-existing never sends MSET; --replace
// does and overwrites; in a run that found the target empty, keys of a
// second source are not overwritten silently by an MSET: they are reported
// as existing.
func TestRestoreMSetConflicts(t *testing.T) {
	file := makeRDB(t, 1000, 0, 0)
	s := redistest.Start(t, "")
	redistest.MustDo(t, s, "SET", "str:000001", "mine")
	redistest.MustDo(t, s, "SET", "str:000002", "mine")
	redistest.MustDo(t, s, "CONFIG", "RESETSTAT")
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Conflict: SkipExisting})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if n := msetCalls(t, s); n != 0 || rep.ByMSet != 0 {
		t.Errorf("--skip-existing: %d MSET calls, %d keys by MSET", n, rep.ByMSet)
	}
	if v := redistest.AsBytes(redistest.MustDo(t, s, "GET", "str:000001")); string(v) != "mine" {
		t.Errorf("--skip-existing overwrote a key: %q", v)
	}
	if rep.Skipped["exists in the target (--skip-existing)"] != 2 {
		t.Errorf("skipped: %v", rep.Skipped)
	}

	// --replace
	redistest.MustDo(t, s, "SET", "str:000001", "mine")
	redistest.MustDo(t, s, "CONFIG", "RESETSTAT")
	rep, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, Conflict: Replace, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if n := msetCalls(t, s); n == 0 || rep.ByMSet == 0 {
		t.Errorf("--replace: %d MSET calls, %d keys by MSET", n, rep.ByMSet)
	}

	// the same file twice into an empty target: the second copy's keys
	// exist (they are not written again silently)
	redistest.MustDo(t, s, "FLUSHALL")
	rep, err = Restore(context.Background(), FileInputs(nil, file, file), Options{Target: "redis://" + s.Addr})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, false)
	if rep.Written != rep.Keys/2 || rep.Failed != rep.Keys/2 || rep.ByMSet == 0 {
		t.Errorf("two copies: %d keys, %d written (%d by MSET), %d failed", rep.Keys, rep.Written, rep.ByMSet, rep.Failed)
	}
	for _, is := range rep.Issues {
		if !strings.Contains(is.Reason, "exists in the target") {
			t.Errorf("%s: %s", is.Key, is.Reason)
			break
		}
	}
	// --map-db 1:0 bringing the same names together within one source is
	// refused before anything is written.
	redistest.MustDo(t, s, "FLUSHALL")
	two := makeRDBDBs(t, 300)
	rep, err = Restore(context.Background(), FileInputs(nil, two), Options{Target: "redis://" + s.Addr, MapDB: func(int) int { return 0 }})
	var rerr *rewrite.Error
	if !errors.As(err, &rerr) || len(rep.Incompatible) != 1 || rep.Incompatible[0].Count != 300 || !strings.Contains(err.Error(), "--map-db") {
		t.Fatalf("two databases into one: err %v, want 300 keys refused", err)
	}
	if n := redistest.MustDo(t, s, "DBSIZE"); n != int64(0) {
		t.Errorf("the refused restore wrote %v keys", n)
	}
}

// makeRDBDBs writes n strings k:%06d into database 0 (value "db0") and
// the same keys into database 1 (value "db1").
func makeRDBDBs(t *testing.T, n int) string {
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
	for db := 0; db < 2; db++ {
		must(w.SelectDB(db))
		for i := 0; i < n; i++ {
			must(w.WriteString(rdb.KeyHeader{Key: []byte(fmt.Sprintf("k:%06d", i))}, []byte(fmt.Sprintf("db%d", db))))
		}
	}
	must(w.Close())
	p := filepath.Join(t.TempDir(), "twodbs.rdb")
	must(os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

// TestRestoreMSetACL: a user who may not run MSET restores key by key; a
// user who may write only some keys gets those written and the others
// reported, each with its reason, though they shared MSETs.
func TestRestoreMSetACL(t *testing.T) {
	file := makeRDB(t, 2000, 0, 0)
	s := redistest.Start(t, "")
	redistest.MustDo(t, s, "ACL", "SETUSER", "nomset", "on", ">pw", "~*", "+@all", "-mset")
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://nomset:pw@" + s.Addr, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if rep.ByMSet != 0 || rep.BySet != 2000 {
		t.Errorf("without MSET: %d by MSET, %d by SET", rep.ByMSet, rep.BySet)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "MSET") {
		t.Errorf("no note says MSET is not used: %q", rep.Notes)
	}

	redistest.MustDo(t, s, "FLUSHALL")
	redistest.MustDo(t, s, "ACL", "SETUSER", "some", "on", ">pw", "~str:0001*", "~list:*", "~hash:*", "~{*", "+@all")
	rep, err = Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://some:pw@" + s.Addr})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, false)
	// str:000100..str:000199 are allowed, 1/7 of them with a TTL
	if rep.Written != 100+200+200 || rep.Failed != 1900 {
		t.Errorf("%d written, %d failed; want 500 and 1900", rep.Written, rep.Failed)
	}
	for _, is := range rep.Issues {
		if !strings.Contains(is.Reason, "NOPERM") {
			t.Errorf("%s: %s", is.Key, is.Reason)
			break
		}
	}
	if n, _ := s.Do("DBSIZE"); n != int64(500) {
		t.Errorf("DBSIZE %v", n)
	}
}

// TestRestoreMSetOutOfMemory: an MSET the server refuses fails each of its
// keys, with the reason. (AllowEviction lets the restore start although
// the memory check finds the snapshot too big.)
func TestRestoreMSetOutOfMemory(t *testing.T) {
	s := redistest.Start(t, "", "--maxmemory", "3mb", "--maxmemory-policy", "noeviction")
	file := makeRDB(t, 20000, 0, 0)
	rep, err := Restore(context.Background(), FileInputs(nil, file), Options{Target: "redis://" + s.Addr, AllowEviction: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, false)
	if rep.ByMSet == 0 || rep.Written+rep.Failed != rep.Keys {
		t.Fatalf("%d keys: %d written (%d by MSET), %d failed", rep.Keys, rep.Written, rep.ByMSet, rep.Failed)
	}
	plain := 0
	for _, is := range rep.Issues {
		if !strings.Contains(is.Reason, "out of memory") {
			t.Fatalf("%s: %s", is.Key, is.Reason)
		}
		var i int
		if _, err := fmt.Sscanf(is.Key, "str:%d", &i); err == nil && i%7 != 0 {
			plain++
		}
	}
	if plain == 0 {
		t.Errorf("no plain string (an MSET's key) among the failed keys")
	}
	if len(rep.Issues) < 1000 && int64(len(rep.Issues)) != rep.Failed {
		t.Errorf("%d issues for %d failed keys", len(rep.Issues), rep.Failed)
	}
}
