package rdb_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// TestReadHeader reads the header of real files, whole and cut short as a
// listing's ranged read cuts them.
func TestReadHeader(t *testing.T) {
	for _, c := range []struct {
		file, server, version string
		rdbVersion            int
	}{
		{"../testdata/corpus/redis-7.4.1/main.rdb", "redis", "7.4.1", 12},
		{"../testdata/corpus/valkey-8.0.1/main.rdb", "valkey", "8.0.1", 11},
		{"../testdata/corpus/redis-2.8.24/main.rdb", "redis", "", 6}, // no aux fields before RDB 7
	} {
		data, err := os.ReadFile(c.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{len(data), 60} {
			h, err := rdb.ReadHeader(bytes.NewReader(data[:n]), rdb.WithName(c.file))
			if err != nil || h.Version != c.rdbVersion || h.ServerName() != c.server || h.ServerVersion() != c.version {
				t.Errorf("%s, first %d bytes: %s %s RDB %d (%v), want %s %s RDB %d", c.file, n, h.ServerName(), h.ServerVersion(), h.Version, err, c.server, c.version, c.rdbVersion)
			}
		}
	}
	if _, err := rdb.ReadHeader(bytes.NewReader([]byte("NOTANRDB0001"))); err == nil {
		t.Error("not an RDB: no error")
	}
}
