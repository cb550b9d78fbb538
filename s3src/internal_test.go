package s3src

import (
	"sort"
	"strings"
	"testing"
)

func TestNaturalOrder(t *testing.T) {
	keys := []string{"c-10.rdb", "c-2.rdb", "c-0001.rdb", "b.rdb", "c-1.rdb", "c-0010.rdb"}
	sort.Slice(keys, func(i, j int) bool { return naturalLess(keys[i], keys[j]) })
	if got := strings.Join(keys, " "); got != "b.rdb c-1.rdb c-0001.rdb c-2.rdb c-10.rdb c-0010.rdb" {
		t.Errorf("order: %s", got)
	}
}

func TestParseContentRange(t *testing.T) {
	for _, tc := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-99/1000", 0, 1000, true},
		{"bytes 500-999/1000", 500, 1000, true},
		{"bytes */1000", 0, 0, false},
		{"", 0, 0, false},
	} {
		s, n, ok := parseContentRange(tc.in)
		if s != tc.start || n != tc.total || ok != tc.ok {
			t.Errorf("%q: %d %d %v", tc.in, s, n, ok)
		}
	}
}

func TestParseURL(t *testing.T) {
	u, err := ParseURL("s3://bucket/a/b.rdb")
	if err != nil || u.Bucket != "bucket" || u.Key != "a/b.rdb" || u.String() != "s3://bucket/a/b.rdb" {
		t.Errorf("%+v %v", u, err)
	}
	if _, err := ParseURL("s3:///key"); err == nil {
		t.Error("empty bucket accepted")
	}
	if !LooksLikeSnapshot("x/NAME-0001.rdb") || !LooksLikeSnapshot("a.RDB.zst") || LooksLikeSnapshot("a.rdb.txt") {
		t.Error("LooksLikeSnapshot")
	}
}

func TestShardNumberFromShardSetNames(t *testing.T) {
	for name, want := range map[string]string{
		"s3://b/daily/cache-0003.rdb":     "0003",
		"/backups/cache-0010.rdb.gz":      "0010",
		"cache-1.rdb":                     "1",
		"dump.rdb":                        "",
		"s3://b/cache-0003.rdb/other.rdb": "",
		"cache-x.rdb":                     "",
	} {
		if got := ShardNumber(name); got != want {
			t.Errorf("ShardNumber(%q) = %q, want %q", name, got, want)
		}
	}
}
