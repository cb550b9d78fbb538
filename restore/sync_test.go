package restore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// TestRestoreSyncRefused: a target that refuses REPLICAOF is restored key
// by key with MethodAuto, saying why, and MethodSync fails; neither
// leaves the target a replica.
func TestRestoreSyncRefused(t *testing.T) {
	s := redistest.Start(t, "", "--rename-command", "REPLICAOF", "")
	f := corpustest.Find(t, "redis-7.0.15/main")
	_, err := Restore(context.Background(), FileInputs(nil, f.RDB), Options{Target: "redis://" + s.Addr, Method: MethodSync, Filter: nonModule})
	if err == nil || !strings.Contains(err.Error(), "REPLICAOF") {
		t.Fatalf("MethodSync against a server without REPLICAOF: %v, want an error naming REPLICAOF", err)
	}
	if n, _ := s.Do("DBSIZE"); n != int64(0) {
		t.Errorf("DBSIZE %v after a refused sync", n)
	}
	rep, err := Restore(context.Background(), FileInputs(nil, f.RDB), Options{Target: "redis://" + s.Addr, Method: MethodAuto, Filter: nonModule, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if rep.BySync != 0 || rep.Written == 0 || !strings.Contains(strings.Join(rep.Notes, "\n"), "restored key by key") {
		t.Errorf("written %d, %d by sync, notes %q: want key by key with a note", rep.Written, rep.BySync, rep.Notes)
	}
	redistest.CompareServer(t, s, corpustest.Expected(t, f), redistest.CompareOptions{CheckTTL: true})
	if role, _ := s.Do("ROLE"); role == nil || string(redistest.AsBytes(role.([]any)[0])) != "master" {
		t.Errorf("ROLE %v, want master", role)
	}
}

// TestRestoreSyncModuleKeys: module values for a target without modules
// are found before anything is written (a sync stream carrying one would
// stop the target's loading), the run is refused with --skip-modules
// named, and the target stays an empty master; with SkipModules the rest
// is restored by a full sync.
func TestRestoreSyncModuleKeys(t *testing.T) {
	s := redistest.Start(t, "")
	f := corpustest.Find(t, "redis-7.4.1/module")
	rep, err := Restore(context.Background(), FileInputs(nil, f.RDB), Options{Target: "redis://" + s.Addr, Method: MethodAuto, Policy: testPolicy})
	var rerr *rewrite.Error
	if !errors.As(err, &rerr) || !strings.Contains(err.Error(), "--skip-modules") || len(rep.Incompatible) == 0 {
		t.Fatalf("err %v, want the module values refused before writing", err)
	}
	if n, _ := s.Do("DBSIZE"); n != int64(0) {
		t.Fatalf("the refused restore wrote %v keys", n)
	}
	if role, _ := s.Do("ROLE"); role == nil || string(redistest.AsBytes(role.([]any)[0])) != "master" {
		t.Errorf("ROLE %v, want master", role)
	}
	rep, err = Restore(context.Background(), FileInputs(nil, f.RDB), Options{Target: "redis://" + s.Addr, Method: MethodAuto, Policy: testPolicy, SkipModules: true})
	if err != nil {
		t.Fatal(err)
	}
	checkReport(t, rep, true)
	if rep.BySync == 0 || rep.Skipped[skipModule] == 0 {
		t.Errorf("%d by sync, skipped %v: want a full sync without the module values", rep.BySync, rep.Skipped)
	}
	if role, _ := s.Do("ROLE"); role == nil || string(redistest.AsBytes(role.([]any)[0])) != "master" {
		t.Errorf("ROLE %v, want master", role)
	}
}

// TestChecksumOK: the pass that decides whether a target may load a sync
// stream as it arrives accepts only files whose CRC-64 trailer matches.
func TestChecksumOK(t *testing.T) {
	good, err := os.ReadFile(corpustest.Find(t, "redis-7.0.15/main").RDB)
	if err != nil {
		t.Fatal(err)
	}
	noSum, err := os.ReadFile(corpustest.Find(t, "redis-7.0.15/nochecksum").RDB)
	if err != nil {
		t.Fatal(err)
	}
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x10
	big := bytes.Repeat([]byte{'x'}, 3<<20) // crosses the 1 MiB reads
	bigRDB := append([]byte("REDIS0010"), big...)
	bigRDB = binary.LittleEndian.AppendUint64(bigRDB, rdb.CRC64(0, bigRDB))
	for _, c := range []struct {
		name string
		data []byte
		want bool
	}{
		{"intact", good, true},
		{"3 MiB", bigRDB, true},
		{"one bit flipped", flipped, false},
		{"truncated", good[:len(good)-1], false},
		{"no checksum", noSum, false},
		{"not RDB", []byte("hello, world, this is not a file"), false},
		{"empty", nil, false},
	} {
		if got := checksumOK(bytes.NewReader(c.data)); got != c.want {
			t.Errorf("%s: checksumOK %v, want %v", c.name, got, c.want)
		}
	}
}
