package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/rdbtool/rdbtool/columnar"
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
		{"memory", sample, "--format", "csv", "-o", dir + "/x.parquet"},    // -o without parquet
		{"memory", sample, "--format", "parquet", "-o", "x", "--depth=-1"}, // bad depth
		// A partition needs a date: Redis 2.8 files have no ctime.
		{"memory", "../../testdata/corpus/redis-2.8.24/main.rdb", "--format", "parquet", "-o", dir + "/tree/"},
		{"diff", sample, sample, "--format", "parquet"},
		{"diff", sample, sample, "--format", "parquet", "-o", dir + "/d.parquet", "--summary-only"},
		{"diff", sample, sample, "--format", "jsonl", "-o", dir + "/d.parquet"},
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
