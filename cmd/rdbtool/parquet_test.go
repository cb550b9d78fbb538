package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/rdbtool/rdbtool/columnar"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/s3src/s3test"
)

func TestMemoryParquetFileAndOverwrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "keys.parquet")
	if o, code := run(t, "memory", sample, "--format", "parquet", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, o)
	}
	rows, err := parquet.ReadFile[columnar.KeyRow](out)
	if err != nil {
		t.Fatal(err)
	}
	jsonl, _ := run(t, "memory", sample, "--format", "jsonl")
	if n := strings.Count(jsonl, "\n"); len(rows) != n || n != 101 {
		t.Fatalf("%d parquet rows, %d jsonl rows, want 101", len(rows), n)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode: %v %v", fi.Mode(), err)
	}
	before, _ := os.ReadFile(out)
	// Filters apply; an existing file is kept without --overwrite.
	if o, code := run(t, "memory", sample, "--format", "parquet", "-o", out, "--type", "hash"); code != 2 {
		t.Fatalf("existing file: exit %d: %s", code, o)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("a refused export changed the file")
	}
	if o, code := run(t, "memory", sample, "--format", "parquet", "-o", out, "--type", "hash", "--overwrite"); code != 0 {
		t.Fatalf("exit %d: %s", code, o)
	}
	rows, err = parquet.ReadFile[columnar.KeyRow](out)
	if err != nil || len(rows) == 0 || len(rows) >= 101 {
		t.Fatalf("--type hash: %d rows, %v", len(rows), err)
	}
	for _, r := range rows {
		if r.Type != "hash" {
			t.Fatalf("--type hash kept a %s", r.Type)
		}
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestMemoryParquetRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"memory", sample, "--format", "parquet"},                          // no -o
		{"memory", sample, "--format", "parquet", "-o", "x", "--depth=-1"}, // bad depth
		// A partition needs a date: Redis 2.8 files have no ctime.
		{"memory", "../../testdata/corpus/redis-2.8.24/main.rdb", "--format", "parquet", "-o", dir + "/tree/"},
		{"diff", sample, sample, "--format", "parquet"},
		{"diff", sample, sample, "--format", "parquet", "-o", dir + "/d.parquet", "--summary-only"},
	} {
		if o, code := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, o)
		}
	}
	var files []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) > 0 {
		t.Errorf("refused commands left files: %v", files)
	}
}

func TestDiffParquet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "d.parquet")
	b := "../../testdata/corpus/redis-7.2.6/main.rdb"
	if o, code := run(t, "diff", sample, b, "--format", "parquet", "-o", out); code != 1 {
		t.Fatalf("exit %d (want 1: the files differ): %s", code, o)
	}
	rows, err := parquet.ReadFile[columnar.DiffRow](out)
	if err != nil {
		t.Fatal(err)
	}
	jsonl, _ := run(t, "diff", sample, b, "--format", "jsonl")
	if n := strings.Count(jsonl, "\n"); len(rows) != n || n == 0 {
		t.Fatalf("%d parquet rows, %d jsonl lines", len(rows), n)
	}
}

func TestMemoryParquetToS3(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	s3src.SetDefaultOptions(srv.Options())
	t.Cleanup(func() { s3src.SetDefaultOptions(s3src.Options{}) })
	dir := t.TempDir()
	b, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	shard := filepath.Join(dir, "cache-0007.rdb")
	if err := os.WriteFile(shard, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if o, code := run(t, "memory", shard, "--format", "parquet", "-o", "s3://lake/keys/", "--now", "1764892800"); code != 0 {
		t.Fatalf("exit %d: %s", code, o)
	}
	// The object is where the partitioning says, and holds every key.
	key := "keys/snapshot_date=2025-12-05/shard=0007/part-00000.parquet"
	if _, err := os.Stat(filepath.Join(srv.Dir, "lake", filepath.FromSlash(key))); err != nil {
		t.Fatalf("object %s: %v", key, err)
	}
	rows, err := parquet.ReadFile[columnar.KeyRow](filepath.Join(srv.Dir, "lake", filepath.FromSlash(key)))
	if err != nil || len(rows) != 101 || *rows[0].Shard != "0007" {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	// Again: the object exists, and is kept without --overwrite.
	if o, code := run(t, "memory", shard, "--format", "parquet", "-o", "s3://lake/keys/", "--now", "1764892800"); code != 2 {
		t.Fatalf("second export: exit %d: %s", code, o)
	}
	// A single object, and the diff's file.
	if o, code := run(t, "memory", shard, "--format", "parquet", "-o", "s3://lake/one.parquet"); code != 0 {
		t.Fatalf("exit %d: %s", code, o)
	}
	if o, code := run(t, "diff", sample, "../../testdata/corpus/redis-7.2.6/main.rdb", "--format", "parquet", "-o", "s3://lake/diff.parquet"); code != 1 {
		t.Fatalf("diff: exit %d: %s", code, o)
	}
	for _, name := range []string{"one.parquet", "diff.parquet"} {
		if fi, err := os.Stat(filepath.Join(srv.Dir, "lake", name)); err != nil || fi.Size() < 100 {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDiffParquetAgainstLiveServer: a live side's estimated bytes are
// null (the server is not read again), a file side's are memory's, and
// the delta is known only where the live side does not hold the key.
func TestDiffParquetAgainstLiveServer(t *testing.T) {
	file := "../../testdata/corpus/redis-7.0.15/main.rdb"
	s := redistest.Start(t, file)
	redistest.MustDo(t, s, "SET", "rdbtool:added", "v")
	keys := redistest.AsList(redistest.MustDo(t, s, "KEYS", "*"))
	var gone string
	for _, k := range keys {
		if string(k) != "rdbtool:added" {
			gone = string(k)
			break
		}
	}
	redistest.MustDo(t, s, "DEL", gone)
	out := filepath.Join(t.TempDir(), "d.parquet")
	if o, code := run(t, "diff", file, "redis://"+s.Addr, "--format", "parquet", "-o", out); code != 1 {
		t.Fatalf("exit %d (want 1): %s", code, o)
	}
	rows, err := parquet.ReadFile[columnar.DiffRow](out)
	if err != nil {
		t.Fatal(err)
	}
	jsonl, _ := run(t, "memory", file, "--format", "jsonl")
	var size int64 = -1
	for _, line := range strings.Split(jsonl, "\n") {
		var k struct {
			DB   int    `json:"db"`
			Key  []byte `json:"key_b64"` // the key may not be UTF-8
			Size int64  `json:"size_in_bytes"`
		}
		if json.Unmarshal([]byte(line), &k) == nil && string(k.Key) == gone && k.DB == 0 {
			size = k.Size
		}
	}
	found := 0
	for _, r := range rows {
		if r.NewEstimatedBytes != nil {
			t.Errorf("%s %q: new_estimated_bytes %d from a live server", r.Kind, r.Key, *r.NewEstimatedBytes)
		}
		switch string(r.Key) {
		case "rdbtool:added":
			found++
			if r.Kind != "added" || r.OldEstimatedBytes != nil || r.EstimatedBytesDelta != nil {
				t.Errorf("added key: %s, old %v, delta %v; want no estimates", r.Kind, r.OldEstimatedBytes, r.EstimatedBytesDelta)
			}
		case gone:
			found++
			if r.Kind != "removed" || r.OldEstimatedBytes == nil || *r.OldEstimatedBytes != size || size <= 0 ||
				r.EstimatedBytesDelta == nil || *r.EstimatedBytesDelta != -size {
				t.Errorf("removed key %q: %s, old %v, delta %v; want %d and -%d", gone, r.Kind, r.OldEstimatedBytes, r.EstimatedBytesDelta, size, size)
			}
		}
	}
	if found != 2 {
		t.Errorf("%d of the 2 changed keys among %d rows", found, len(rows))
	}
}
