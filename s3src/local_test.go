package s3src_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rdbtool/rdbtool/s3src"
)

func TestExpandLocal(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"set-0010.rdb", "set-0002.rdb", "set-0001.rdb", "other.rdb.zst", "set.manifest.json", "notes.txt"} {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	os.Mkdir(filepath.Join(dir, "sub.rdb"), 0o755)
	j := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, filepath.Join(dir, n))
		}
		return out
	}
	for _, tc := range []struct {
		arg  string
		want []string
	}{
		{dir, j("other.rdb.zst", "set-0001.rdb", "set-0002.rdb", "set-0010.rdb")},
		{filepath.Join(dir, "set-*.rdb"), j("set-0001.rdb", "set-0002.rdb", "set-0010.rdb")},
		{filepath.Join(dir, "set-0002.rdb"), j("set-0002.rdb")},
		{filepath.Join(dir, "missing.rdb"), j("missing.rdb")},
		{"-", []string{"-"}},
	} {
		got, err := s3src.ExpandLocal(tc.arg)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.arg, got, err, tc.want)
		}
	}
	if _, err := s3src.ExpandLocal(filepath.Join(dir, "nothing-*.rdb")); err == nil {
		t.Errorf("a pattern matching nothing: no error")
	}
	if _, err := s3src.ExpandLocal(filepath.Join(dir, "sub.rdb")); err == nil {
		t.Errorf("a directory without snapshots: no error")
	}
}
