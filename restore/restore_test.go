package restore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/clustertest"
	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// policy lets 7.4/8.6 content into the 7.0 test server.
const testPolicy = rdb.DropFieldTTLs | rdb.DowngradeStreams | rdb.DropKeyMeta

func restorable(f corpustest.File) bool {
	return f.Scenario() != "aof-preamble" && !strings.HasPrefix(f.Scenario(), "mixed")
}

func nonModule(rec *rdb.Record) bool { return rec.Type != rdb.TypeModule }

func checkReport(t *testing.T, rep *Report, wantOK bool) {
	t.Helper()
	var b strings.Builder
	rep.Print(&b)
	if rep.OK() != wantOK {
		t.Errorf("report OK=%v, want %v:\n%s", rep.OK(), wantOK, b.String())
	} else {
		t.Logf("%s", b.String())
	}
}

// TestRestoreCorpusStandalone restores every corpus file (all versions,
// 7.4 and 8.6 ones re-encoded for the 7.0 server) into a fresh server, by
// RESTORE, by a replication full sync, and (main files) by commands, and
// compares the server with
// expected.jsonl: every key, value and TTL, expired keys absent.
func TestRestoreCorpusStandalone(t *testing.T) {
	t.Logf("server: %s", redistest.Version(t))
	s := redistest.Start(t, "")
	var byMSet int64 // plain strings go in MSET batches
	defer func() {
		if !t.Failed() && byMSet == 0 {
			t.Error("no key was written by MSET")
		}
	}()
	for _, f := range corpustest.Files(t) {
		if !restorable(f) {
			continue
		}
		for _, way := range []string{"restore", "commands", "sync"} {
			mode, method := Auto, MethodKeys
			switch way {
			case "commands":
				mode = Commands
			case "sync":
				method = MethodSync
			}
			name := f.Name + "/" + way
			if mode == Commands && f.Scenario() != "main" && f.Scenario() != "redis8" {
				continue
			}
			t.Run(name, func(t *testing.T) {
				if _, err := s.Do("FLUSHALL"); err != nil {
					t.Fatal(err)
				}
				s.Do("FUNCTION", "FLUSH")
				rep, err := Restore(context.Background(), FileInputs(nil, f.RDB), Options{
					Target: "redis://" + s.Addr, Policy: testPolicy, Mode: mode, Method: method, Filter: nonModule, Verify: true,
					ChunkElements: 50,
				})
				if err != nil {
					t.Fatal(err)
				}
				checkReport(t, rep, true)
				if rep.Written == 0 {
					t.Fatal("nothing written")
				}
				if (method == MethodSync) != (rep.BySync == rep.Written) {
					t.Errorf("%d of %d keys by a full sync with %s", rep.BySync, rep.Written, way)
				}
				if mode == Commands && rep.ByMSet != 0 {
					t.Errorf("%d keys by MSET with Mode Commands", rep.ByMSet)
				}
				byMSet += rep.ByMSet
				redistest.CompareServer(t, s, corpustest.Expected(t, f), redistest.CompareOptions{CheckTTL: true})
			})
		}
	}
}

// clusterDoer sends each command to the node that owns its key.
type clusterDoer struct{ c *clustertest.Cluster }

func (d clusterDoer) Do(args ...any) (any, error) {
	name := strings.ToUpper(fmt.Sprint(args[0]))
	switch name {
	case "SELECT":
		return "OK", nil
	case "DBSIZE":
		var n int64
		for _, s := range d.c.Nodes {
			v, err := s.Do("DBSIZE")
			if err != nil {
				return nil, err
			}
			n += v.(int64)
		}
		return n, nil
	}
	var key []byte
	switch k := args[1].(type) {
	case []byte:
		key = k
	case string:
		key = []byte(k)
	}
	if name == "OBJECT" || name == "XINFO" {
		key = args[2].([]byte)
	}
	return d.c.NodeFor(rdb.KeySlot(key)).Do(args...)
}

// TestRestoreCorpusCluster restores a representative subset into a
// three-master cluster (db 0 only; other databases are mapped to 0 in a
// second pass when they do not collide).
func TestRestoreCorpusCluster(t *testing.T) {
	c := clustertest.Start(t)
	seed := c.Addrs()[1]
	want := map[string]bool{"redis-2.8.24/main": true, "redis-6.2.16/main": true, "redis-7.0.15/main": true,
		"redis-7.4.1/cluster": true, "redis-7.4.1/main": true, "redis-8.6.3/redis8": true, "valkey-8.0.1/cluster": true}
	for _, f := range corpustest.Files(t) {
		if !want[f.Name] {
			continue
		}
		for _, mode := range []Mode{Auto, Commands} {
			t.Run(f.Name+map[Mode]string{Auto: "/restore", Commands: "/commands"}[mode], func(t *testing.T) {
				for _, n := range c.Nodes {
					n.Do("FLUSHALL")
					n.Do("FUNCTION", "FLUSH")
				}
				rep, err := Restore(context.Background(), FileInputs(nil, f.RDB), Options{
					Target: "redis://" + seed, Cluster: true, Policy: testPolicy, Mode: mode, ChunkElements: 50, Verify: true,
					Filter: func(rec *rdb.Record) bool { return rec.DB == 0 && rec.Type != rdb.TypeModule },
				})
				if err != nil {
					t.Fatal(err)
				}
				checkReport(t, rep, true)
				if len(rep.Nodes) != 3 {
					t.Errorf("restore saw nodes %v", rep.Nodes)
				}
				var exp []corpustest.Record
				for _, r := range corpustest.Expected(t, f) {
					if r.DB == 0 {
						exp = append(exp, r)
					}
				}
				redistest.CompareServer(t, clusterDoer{c}, exp, redistest.CompareOptions{CheckTTL: true})
				// every master got keys
				for i, n := range c.Nodes {
					if v, _ := n.Do("DBSIZE"); v.(int64) == 0 {
						t.Errorf("node %d holds no keys", i)
					}
				}
			})
		}
	}
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
