package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
)

func TestLsS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "backups")
	s3src.SetDefaultOptions(srv.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	for _, f := range []struct{ key, file string }{
		{"daily/cache-0001.rdb", "../../testdata/corpus/redis-7.4.1/main.rdb"},
		{"daily/cache-0002.rdb", "../../testdata/corpus/redis-7.4.1/lfu.rdb"},
		{"daily/cache-0010.rdb", "../../testdata/corpus/redis-7.4.1/lru.rdb"},
		{"daily/solo.rdb.zst", "../../testdata/corpus/valkey-8.0.1/main.rdb"},
	} {
		b, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f.key, ".zst") {
			var zs bytes.Buffer
			zw, _ := zstd.NewWriter(&zs)
			zw.Write(b)
			zw.Close()
			b = zs.Bytes()
		}
		srv.Put(t, "backups", f.key, b)
	}
	srv.Put(t, "backups", "daily/notes.txt", []byte("hello"))

	out, code := run(t, "ls", "--format", "json", "s3://backups/daily/")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var sets []lsSet
	if err := json.Unmarshal([]byte(out), &sets); err != nil {
		t.Fatal(err, out)
	}
	if len(sets) != 2 || sets[0].Pattern != "s3://backups/daily/cache-*.rdb" || sets[0].Shards != 3 || sets[1].Shards != 1 {
		t.Fatalf("sets: %s", out)
	}
	if o := sets[0].Objects[2]; !strings.HasSuffix(o.URL, "cache-0010.rdb") || o.Version != 12 || o.ServerVersion != "7.4.1" || o.Size == 0 || o.Modified.IsZero() {
		t.Errorf("shard 10: %+v", o)
	}
	if o := sets[1].Objects[0]; o.Server != "valkey" || o.ServerVersion != "8.0.1" || o.Compression != "zstd" {
		t.Errorf("solo: %+v", o)
	}
	out, code = run(t, "ls", "s3://backups/daily/")
	if code != 0 || !strings.Contains(out, "cache-*.rdb (3 shards)") || !strings.Contains(out, "redis 7.4.1") || strings.Contains(out, "notes.txt") {
		t.Errorf("table: %d\n%s", code, out)
	}
	t.Logf("\n%s", out)
	cmd := newRootCommand()
	cmd.SetArgs([]string{"ls", "s3://nosuchbucket/x/"})
	cmd.SetOut(new(strings.Builder))
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), `bucket "nosuchbucket" does not exist (ListObjectsV2)`) {
		t.Errorf("missing bucket: %v", err)
	}
}

// TestS3Commands runs commands on S3 inputs and outputs: convert from disk
// to S3 and back, info on a shard set, analyze from S3 equal to disk.
func TestS3Commands(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "snaps")
	s3src.SetDefaultOptions(srv.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })

	const local = "../../testdata/corpus/redis-7.4.1/main.rdb"
	if out, code := run(t, "convert", "-q", local, "s3://snaps/conv/main-0001.rdb"); code != 0 {
		t.Fatalf("convert to S3: exit %d: %s", code, out)
	}
	// The uploaded copy dumps to the same keys as the local file.
	fromDisk, code := run(t, "dump", local)
	if code != 0 {
		t.Fatal(fromDisk)
	}
	fromS3, code := run(t, "dump", "s3://snaps/conv/main-0001.rdb")
	if code != 0 || fromS3 != fromDisk {
		t.Fatalf("dump of the converted S3 object differs from the source (exit %d)", code)
	}
	// A second shard, then info over the shard set.
	if out, code := run(t, "convert", "-q", "../../testdata/corpus/redis-7.4.1/lfu.rdb", "s3://snaps/conv/main-0002.rdb"); code != 0 {
		t.Fatalf("convert: exit %d: %s", code, out)
	}
	out, code := run(t, "info", "--format", "json", "s3://snaps/conv/main-*.rdb")
	if code != 0 {
		t.Fatalf("info on a shard set: exit %d: %s", code, out)
	}
	var infos []fileInfo
	if err := json.Unmarshal([]byte(out), &infos); err != nil || len(infos) != 2 || !strings.HasSuffix(infos[1].File, "main-0002.rdb") {
		t.Fatalf("shard set info: %v %s", err, out)
	}
	// analyze of an uploaded copy equals analyze of the file on disk.
	orig, err := os.ReadFile(local)
	if err != nil {
		t.Fatal(err)
	}
	srv.Put(t, "snaps", "orig/main.rdb", orig)
	a1, _ := run(t, "analyze", "--format", "json", local)
	a2, code := run(t, "analyze", "--format", "json", "s3://snaps/orig/main.rdb")
	if code != 0 || strings.ReplaceAll(a2, "s3://snaps/orig/main.rdb", local) != a1 {
		t.Errorf("analyze from S3 differs from disk (exit %d)", code)
	}
	// A failed convert leaves no object.
	if _, code := run(t, "convert", "-q", "../../testdata/corpus/redis-7.4.1/main.rdb", "s3://snaps/conv/bad.rdb", "--target-version", "10"); code == 0 {
		t.Fatal("convert of field TTLs to RDB 10 without --drop-field-ttls succeeded")
	}
	if _, code := run(t, "info", "s3://snaps/conv/bad.rdb"); code != 2 {
		t.Errorf("a failed convert left an object behind (info exit %d)", code)
	}
}
