package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/internal/clustertest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
	"github.com/rdbtool/rdbtool/snapshot"
)

const snapCorpus = "../../testdata/corpus/redis-7.0.15/main.rdb"

// TestSnapshotCommandToFile: a diskless server to a time-named directory,
// then the snapshot dumps to the same keys as the file the server loaded
// (the server drops keys already expired; there are none left in this one
// for dump to differ on, which the key count checks).
func TestSnapshotCommandToFile(t *testing.T) {
	srv := redistest.Start(t, snapCorpus, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
	dir := t.TempDir()
	out, code := run(t, "snapshot", "redis://"+srv.Addr, dir+"/%Y/", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var info struct {
		File     string `json:"file"`
		Keys     int64  `json:"keys"`
		Checksum string `json:"checksum"`
		Diskless bool   `json:"diskless"`
	}
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := filepath.Join(dir, time.Now().UTC().Format("2006"), "snapshot.rdb")
	if info.File != want || info.Checksum != "verified" || !info.Diskless {
		t.Errorf("output %+v, want file %s", info, want)
	}
	dumped, code := run(t, "dump", want)
	if code != 0 {
		t.Fatal(dumped)
	}
	if n := strings.Count(dumped, "\n"); int64(n) != info.Keys || n == 0 {
		t.Errorf("dump has %d keys, snapshot reported %d", n, info.Keys)
	}
	var total int64
	for _, db := range []int{0, 1, 15} {
		srv.Do("SELECT", db)
		n, _ := srv.Do("DBSIZE")
		total += n.(int64)
	}
	if total != info.Keys {
		t.Errorf("server holds %d keys, snapshot %d", total, info.Keys)
	}
	// The same name again is refused; --overwrite replaces it.
	if out, code := runMsg(t, "snapshot", "redis://"+srv.Addr, dir+"/%Y/"); code != 2 || !strings.Contains(out, "exists") {
		t.Errorf("second snapshot to the same name: exit %d: %s", code, out)
	}
	if out, code := run(t, "snapshot", "--overwrite", "redis://"+srv.Addr, want); code != 0 {
		t.Errorf("--overwrite: exit %d: %s", code, out)
	}
	for _, bad := range []string{"-", dir + "/x.rdb.gz"} {
		if out, code := runMsg(t, "snapshot", "redis://"+srv.Addr, bad); code != 2 {
			t.Errorf("OUT %s: exit %d: %s", bad, code, out)
		}
	}
	// Two full syncs, and no replica left attached.
	stats := string(redistest.AsBytes(redistest.MustDo(t, srv, "INFO", "all")))
	if !strings.Contains(stats, "sync_full:2\r") || !strings.Contains(stats, "connected_slaves:0\r") {
		t.Errorf("server stats after two snapshots:\n%s", stats)
	}
}

// TestSnapshotCommandS3AndInterrupted: to S3 through the CLI; then a
// connection dropped mid-transfer exits non-zero with no object and no
// pending upload left.
func TestSnapshotCommandS3AndInterrupted(t *testing.T) {
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "snaps")
	s3src.SetDefaultOptions(s3.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	srv := redistest.Start(t, snapCorpus, "--repl-diskless-sync", "no")
	if out, code := run(t, "snapshot", "redis://"+srv.Addr, "s3://snaps/prod/%Y-%m-%dT%H%M%S.rdb"); code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	st, _ := s3src.Default(context.Background())
	objs, err := st.List(context.Background(), "s3://snaps/prod/", true)
	if err != nil || len(objs) != 1 {
		t.Fatalf("objects %v %v", objs, err)
	}
	fromS3, code := run(t, "dump", objs[0].URL)
	fromDisk, _ := run(t, "dump", snapCorpus)
	if code != 0 || strings.Count(fromS3, "\n") == 0 || strings.Count(fromS3, "\n") > strings.Count(fromDisk, "\n") {
		t.Errorf("dump from S3: exit %d, %d keys (the loaded file has %d)", code, strings.Count(fromS3, "\n"), strings.Count(fromDisk, "\n"))
	}

	proxy := redistest.CutProxy(t, srv.Addr, 120_000)
	out, code := runMsg(t, "snapshot", "redis://"+proxy, "s3://snaps/cut/snap.rdb")
	if code == 0 || !strings.Contains(out, "closed the connection") {
		t.Errorf("cut transfer: exit %d: %s", code, out)
	}
	if objs, err := st.List(context.Background(), "s3://snaps/cut/", true); err != nil || len(objs) != 0 {
		t.Errorf("objects after a cut transfer: %v %v", objs, err)
	}
	if ups, err := st.PendingUploads(context.Background(), "s3://snaps/"); err != nil || len(ups) != 0 {
		t.Errorf("pending uploads after a cut transfer: %v %v", ups, err)
	}
}

// fillCluster writes n string keys, each to the node owning its slot.
func fillCluster(t *testing.T, c *clustertest.Cluster, n int) {
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("user:%d", i)
		redistest.MustDo(t, c.NodeFor(rdb.KeySlot([]byte(key))), "SET", key, strings.Repeat("v", i%50))
	}
}

// TestSnapshotCluster: a 3-master cluster to a local directory and to an
// S3 prefix; analyze reads each set as one dataset with every key.
func TestSnapshotCluster(t *testing.T) {
	c := clustertest.Start(t, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
	const keys = 3000
	fillCluster(t, c, keys)
	dir := t.TempDir()
	out, code := run(t, "snapshot", "--cluster", "--format", "json", "redis://"+c.Nodes[1].Addr, dir+"/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var m snapshot.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "snapshot.manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk snapshot.Manifest
	if err := json.Unmarshal(b, &onDisk); err != nil || len(onDisk.Shards) != 3 {
		t.Fatalf("manifest on disk: %v %s", err, b)
	}
	var sum int64
	for i, s := range m.Shards {
		want := [][2]int{{clustertest.Ranges[i][0], clustertest.Ranges[i][1]}}
		if s.File != filepath.Join(dir, fmt.Sprintf("snapshot-%04d.rdb", i+1)) || s.Address != c.Nodes[i].Addr || s.Role != "master" ||
			fmt.Sprint(s.Slots) != fmt.Sprint(want) || s.ServerVersion != "7.0.15" || s.RDBVersion != 10 || len(s.NodeID) != 40 ||
			len(s.SHA256) != 64 || s.Checksum != "verified" || len(s.ReplicationID) != 40 {
			t.Errorf("shard %d: %+v", i, s)
		}
		fi, err := os.Stat(s.File)
		if err != nil || fi.Size() != s.Bytes {
			t.Errorf("shard %d: file %v, manifest says %d bytes", i, err, s.Bytes)
		}
		n, _ := c.Nodes[i].Do("DBSIZE")
		if n.(int64) != s.Keys {
			t.Errorf("shard %d: node holds %d keys, manifest says %d", i, n, s.Keys)
		}
		sum += s.Keys
	}
	if sum != keys {
		t.Errorf("shards hold %d keys, want %d", sum, keys)
	}
	analyzeKeys := func(arg string) uint64 {
		out, code := run(t, "analyze", "--format", "json", arg)
		if code != 0 {
			t.Fatalf("analyze %s: exit %d: %s", arg, code, out)
		}
		var rep analyze.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		if len(rep.Files) != 3 {
			t.Errorf("analyze %s read %d files, want the 3 shards", arg, len(rep.Files))
		}
		return rep.Totals.Keys
	}
	if n := analyzeKeys(dir); n != keys {
		t.Errorf("analyze of the directory: %d keys, want %d", n, keys)
	}
	if n := analyzeKeys(dir + "/snapshot-*.rdb"); n != keys {
		t.Errorf("analyze of the pattern: %d keys, want %d", n, keys)
	}

	s3 := s3test.Start(t)
	s3.CreateBucket(t, "snaps")
	s3src.SetDefaultOptions(s3.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	if out, code := run(t, "snapshot", "--cluster", "redis://"+c.Nodes[0].Addr, "s3://snaps/prod/%Y/nightly"); code != 0 {
		t.Fatalf("cluster to S3: exit %d: %s", code, out)
	}
	prefix := "s3://snaps/prod/" + time.Now().UTC().Format("2006") + "/"
	if n := analyzeKeys(prefix + "nightly-*.rdb"); n != keys {
		t.Errorf("analyze of the S3 set: %d keys, want %d", n, keys)
	}
	st, _ := s3src.Default(context.Background())
	objs, _ := st.List(context.Background(), prefix, true)
	if len(objs) != 4 || !strings.HasSuffix(objs[3].Key, "nightly.manifest.json") && !strings.HasSuffix(objs[0].Key, "nightly.manifest.json") {
		var names []string
		for _, o := range objs {
			names = append(names, o.Key)
		}
		t.Errorf("objects under the prefix: %v", names)
	}
}

// TestSnapshotClusterShardFails: one master dies before its turn; the
// whole set fails and nothing is left.
func TestSnapshotClusterShardFails(t *testing.T) {
	c := clustertest.Start(t)
	fillCluster(t, c, 300)
	c.Nodes[2].Kill()
	dir := t.TempDir()
	out, code := runMsg(t, "snapshot", "--cluster", "--timeout", "5s", "redis://"+c.Nodes[0].Addr, dir+"/")
	if code != 2 || !strings.Contains(out, "shard 3") {
		t.Errorf("exit %d: %s", code, out)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
}

// TestPrune: a directory of snapshots with made-up times (file mtimes),
// one of them a shard set; several policies against hand-computed sets;
// nothing deleted without --apply.
func TestPrune(t *testing.T) {
	dir := t.TempDir()
	type snap struct {
		files []string
		at    time.Time
	}
	// 2026-11-30 is a Monday.
	snaps := []snap{
		{[]string{"a/2026-12-05T1800/snapshot-0001.rdb", "a/2026-12-05T1800/snapshot-0002.rdb", "a/2026-12-05T1800/snapshot.manifest.json"}, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)},
		{[]string{"a/2026-12-05T0600.rdb"}, time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)},
		{[]string{"a/2026-12-04T1800.rdb"}, time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)},
		{[]string{"b/nightly-1800.rdb"}, time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)},
		{[]string{"b/nightly-0600.rdb"}, time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC)},
		{[]string{"old.rdb.gz"}, time.Date(2026, 10, 2, 6, 0, 0, 0, time.UTC)},
	}
	data, err := os.ReadFile("../../testdata/corpus/redis-7.4.1/lfu.rdb")
	if err != nil {
		t.Fatal(err)
	}
	reset := func() {
		os.RemoveAll(dir)
		for _, s := range snaps {
			for _, f := range s.files {
				p := filepath.Join(dir, f)
				os.MkdirAll(filepath.Dir(p), 0o755)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				os.Chtimes(p, s.at, s.at)
			}
		}
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a snapshot"), 0o644)
	}
	present := func() []int {
		var out []int
		for i, s := range snaps {
			if _, err := os.Stat(filepath.Join(dir, s.files[0])); err == nil {
				out = append(out, i)
			}
		}
		return out
	}
	for _, tc := range []struct {
		flags []string
		keep  []int
	}{
		{[]string{"--keep-last", "2"}, []int{0, 1}},
		{[]string{"--keep-daily", "2"}, []int{0, 2}},
		{[]string{"--keep-weekly", "3"}, []int{0, 3, 4}},
		{[]string{"--keep-monthly", "2"}, []int{0, 3}},
		{[]string{"--keep-last", "1", "--keep-monthly", "12"}, []int{0, 3, 5}},
	} {
		reset()
		args := append([]string{"prune", dir}, tc.flags...)
		out, code := run(t, args...)
		if code != 0 || !strings.Contains(out, "Nothing deleted") {
			t.Errorf("%v dry run: exit %d: %s", tc.flags, code, out)
		}
		if got := present(); len(got) != len(snaps) {
			t.Errorf("%v: the dry run deleted something: %v left", tc.flags, got)
		}
		out, code = run(t, append(args, "--apply")...)
		if code != 0 {
			t.Errorf("%v --apply: exit %d: %s", tc.flags, code, out)
		}
		if got := present(); fmt.Sprint(got) != fmt.Sprint(tc.keep) {
			t.Errorf("%v: kept %v, want %v\n%s", tc.flags, got, tc.keep, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
			t.Errorf("%v: a file that is no snapshot was deleted", tc.flags)
		}
		// A shard set goes as a whole, with its manifest and directory.
		_, err := os.Stat(filepath.Join(dir, "a/2026-12-05T1800"))
		if kept := len(tc.keep) > 0 && tc.keep[0] == 0; kept != (err == nil) {
			t.Errorf("%v: shard set directory present=%v", tc.flags, err == nil)
		}
	}
	if out, code := runMsg(t, "prune", dir); code != 2 || !strings.Contains(out, "no policy") {
		t.Errorf("no policy: exit %d: %s", code, out)
	}
}

// TestPruneS3: prune an S3 prefix of three snapshots taken a second apart.
func TestPruneS3(t *testing.T) {
	s3 := s3test.Start(t)
	s3.CreateBucket(t, "snaps")
	s3src.SetDefaultOptions(s3.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	data, _ := os.ReadFile("../../testdata/corpus/redis-7.4.1/lfu.rdb")
	s3.Put(t, "snaps", "p-other/s-0.rdb", data) // not under s3://snaps/p/
	for i, key := range []string{"p/s-1.rdb", "p/set/x-0001.rdb", "p/set/x-0002.rdb", "p/s-3.rdb"} {
		if i == 1 || i == 3 {
			time.Sleep(1100 * time.Millisecond) // S3 times have whole seconds
		}
		s3.Put(t, "snaps", key, data)
	}
	out, code := run(t, "prune", "s3://snaps/p/", "--keep-last", "2")
	if code != 0 || !strings.Contains(out, "would remove 1 snapshot(s): 1 file(s)") {
		t.Fatalf("dry run: exit %d: %s", code, out)
	}
	st, _ := s3src.Default(context.Background())
	if objs, _ := st.List(context.Background(), "s3://snaps/p/", true); len(objs) != 4 {
		t.Fatalf("dry run deleted: %d objects left", len(objs))
	}
	if out, code := run(t, "prune", "s3://snaps/p", "--keep-last", "1", "--apply"); code != 0 {
		t.Fatalf("apply: exit %d: %s", code, out)
	}
	objs, _ := st.List(context.Background(), "s3://snaps/p/", true)
	if len(objs) != 1 || objs[0].Key != "p/s-3.rdb" {
		t.Errorf("left: %+v", objs)
	}
	if objs, _ := st.List(context.Background(), "s3://snaps/p-other/", true); len(objs) != 1 {
		t.Errorf("a snapshot outside the location was deleted")
	}
}

// TestSnapshotClusterFromReplicas: a replica added to each master; with
// --from-replicas every shard comes from its replica, and holds every key.
func TestSnapshotClusterFromReplicas(t *testing.T) {
	c := clustertest.Start(t, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")
	const keys = 900
	fillCluster(t, c, keys)
	var replicas []*redistest.Server
	for _, m := range c.Nodes {
		r := redistest.Start(t, "", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000")
		host, port, _ := net.SplitHostPort(r.Addr)
		redistest.MustDo(t, c.Nodes[0], "CLUSTER", "MEET", host, port)
		id := string(redistest.AsBytes(redistest.MustDo(t, m, "CLUSTER", "MYID")))
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := r.Do("CLUSTER", "REPLICATE", id); err == nil {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("CLUSTER REPLICATE: %v", err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		replicas = append(replicas, r)
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, r := range replicas {
		for {
			info, _ := r.Do("INFO", "replication")
			n, _ := r.Do("DBSIZE")
			if strings.Contains(string(redistest.AsBytes(info)), "master_link_status:up") && n != int64(0) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %s not in sync: %s", r.Addr, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// The view of the node the command asks (CLUSTER NODES on Nodes[0],
	// learnt by gossip) must list every replica as a connected one: a
	// fixed wait was too short on a loaded machine.
	for {
		nodes := string(redistest.AsBytes(redistest.MustDo(t, c.Nodes[0], "CLUSTER", "NODES")))
		connected := 0
		for _, line := range strings.Split(nodes, "\n") {
			f := strings.Fields(line)
			if len(f) >= 8 && strings.Contains(f[2], "slave") && !strings.Contains(f[2], "fail") && f[3] != "-" && f[7] == "connected" {
				connected++
			}
		}
		if connected == len(replicas) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas not all connected in %s's view:\n%s", c.Nodes[0].Addr, nodes)
		}
		time.Sleep(100 * time.Millisecond)
	}
	dir := t.TempDir()
	out, code := runMsg(t, "snapshot", "--cluster", "--from-replicas", "--format", "json", "redis://"+c.Nodes[0].Addr, dir+"/x.rdb")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var m snapshot.Manifest
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for i, s := range m.Shards {
		if s.Role != "replica" || s.Address != replicas[i].Addr || s.File != filepath.Join(dir, fmt.Sprintf("x-%04d.rdb", i+1)) {
			t.Errorf("shard %d: %+v", i, s)
		}
		sum += s.Keys
	}
	if sum != keys || !m.FromReplicas {
		t.Errorf("%d keys from the replicas, want %d; manifest %+v", sum, keys, m)
	}
	out, code = run(t, "analyze", "--format", "json", dir+"/x-*.rdb")
	var rep analyze.Report
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || rep.Totals.Keys != keys {
		t.Errorf("analyze of the set: exit %d, %d keys", code, rep.Totals.Keys)
	}
}
