package duckdbtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/s3src/s3test"
)

// shardSet is a backup of three shards, NAME-0001.rdb to NAME-0003.rdb,
// made of corpus files written by different servers.
var shardSet = []string{"redis-7.4.1/main.rdb", "redis-7.2.6/main.rdb", "valkey-8.0.1/main.rdb"}

func makeShardSet(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for i, f := range shardSet {
		b, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", "corpus", f))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, fmt.Sprintf("cache-%04d.rdb", i+1))
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// checkPartitionedSet checks a Hive-partitioned tree of the shard set,
// written on two days (the files' ctime date and day2), read with
// DuckDB's hive_partitioning.
func checkPartitionedSet(t *testing.T, root string, inputs []string, day2 string) {
	t.Helper()
	db := openDuckDB(t)
	tree := fmt.Sprintf("read_parquet('%s/**/*.parquet', hive_partitioning = true)", root)
	for i := range inputs {
		shard := fmt.Sprintf("%04d", i+1)
		if _, err := os.Stat(filepath.Join(root, "snapshot_date="+day2, "shard="+shard, "part-00000.parquet")); err != nil {
			t.Errorf("layout: %v", err)
		}
	}
	rep := analyzeJSON(t, nil, inputs...)
	ctimeDay := rows(t, db, `SELECT DISTINCT strftime(snapshot_time, '%Y-%m-%d') FROM `+tree+` WHERE snapshot_date <> DATE '`+day2+`'`)
	if len(ctimeDay) != 1 {
		t.Fatalf("snapshot dates from ctime: %v", ctimeDay)
	}
	// Per snapshot_date and shard: each file's keys and bytes.
	got := rows(t, db, `SELECT CAST(snapshot_date AS VARCHAR), shard, count(*), sum(estimated_bytes), count(*) FILTER (WHERE expire_at IS NULL)
		FROM `+tree+` GROUP BY ALL`)
	var want [][]string
	for _, day := range []string{ctimeDay[0][0], day2} {
		for i, f := range rep.Files {
			want = append(want, []string{day, fmt.Sprintf("%04d", i+1), u(f.Keys), u(f.Memory), u(f.WithoutTTL)})
		}
	}
	same(t, "per snapshot_date and shard (keys, bytes, keys without TTL)", got, want)
	// The partition's shard is the file's shard column.
	same(t, "rows whose shard column differs from the path's", rows(t, db, `SELECT count(*) FROM read_parquet('`+root+`/**/*.parquet', hive_partitioning = false) AS f
		WHERE regexp_extract(filename, 'shard=([^/]+)', 1) <> f.shard`), [][]string{{"0"}})
	// One day of the whole set is what analyze reports for all shards.
	checkAgainstAnalyze(t, db, `(SELECT * FROM `+tree+` WHERE snapshot_date = DATE '`+ctimeDay[0][0]+`')`, analyzeJSON(t, nil, inputs...))
	// Day 2 was measured from --now: TTLs as analyze --now sees them.
	checkAgainstAnalyze(t, db, `(SELECT * FROM `+tree+` WHERE snapshot_date = DATE '`+day2+`')`, analyzeJSON(t, []string{"--now", fixedNow}, inputs...))
}

const fixedDay = "2025-12-05" // fixedNow's date

func TestShardSetPartitionedByDateAndShard(t *testing.T) {
	dir := t.TempDir()
	inputs := makeShardSet(t, dir)
	out := filepath.Join(dir, "fleet") + "/"
	run(t, append([]string{"memory", "--format", "parquet", "-o", out}, inputs...)...)
	run(t, append([]string{"memory", "--format", "parquet", "-o", out, "--now", fixedNow}, inputs...)...)
	checkPartitionedSet(t, out, inputs, fixedDay)

	// Writing the same partition again is refused without --overwrite,
	// and leaves the file as it was.
	cmd := exec.Command(rdbtool, append([]string{"memory", "--format", "parquet", "-o", out}, inputs...)...)
	msg, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "exists (--overwrite replaces it)") {
		t.Errorf("second export: %v\n%s", err, msg)
	}
	run(t, append([]string{"memory", "--format", "parquet", "-o", out, "--overwrite"}, inputs...)...)
	checkPartitionedSet(t, out, inputs, fixedDay)
	leftovers, _ := filepath.Glob(filepath.Join(out, "*", "*", ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestShardSetFromS3ToS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "backups")
	srv.CreateBucket(t, "lake")
	local := makeShardSet(t, t.TempDir())
	for i, name := range local {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		srv.Put(t, "backups", fmt.Sprintf("daily/cache-%04d.rdb", i+1), b)
	}
	s3args := []string{"--s3-endpoint", srv.Endpoint, "--s3-path-style", "--s3-region", "us-east-1"}
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
	for _, extra := range [][]string{nil, {"--now", fixedNow}} {
		args := append([]string{"memory", "s3://backups/daily/cache-*.rdb", "--format", "parquet", "-o", "s3://lake/redis/keys/"}, s3args...)
		cmd := exec.Command(rdbtool, append(args, extra...)...)
		cmd.Env = env
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("export to S3: %v\n%s", err, msg)
		}
	}
	// The posix backend keeps each object as a file at its key: DuckDB
	// reads the uploaded objects where they are.
	root := filepath.Join(srv.Dir, "lake", "redis", "keys")
	checkPartitionedSet(t, root, local, fixedDay)
	// Sources name the objects read.
	db := openDuckDB(t)
	got := rows(t, db, `SELECT DISTINCT source, shard FROM read_parquet('`+root+`/**/*.parquet')`)
	same(t, "sources", got, [][]string{
		{"s3://backups/daily/cache-0001.rdb", "0001"}, {"s3://backups/daily/cache-0002.rdb", "0002"}, {"s3://backups/daily/cache-0003.rdb", "0003"}})
}
