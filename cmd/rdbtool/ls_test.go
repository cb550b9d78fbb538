package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

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
		{"daily/solo.rdb", "../../testdata/corpus/valkey-8.0.1/main.rdb"},
	} {
		b, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatal(err)
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
	if o := sets[1].Objects[0]; o.Server != "valkey" || o.ServerVersion != "8.0.1" {
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
