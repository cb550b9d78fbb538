package rdb_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// A Reader with the smallest buffer reports every key as one with the
// default buffer does: a one-node quicklist of 8-24 KiB needs its whole
// node peeked to be named "listpack" or "quicklist".
func TestSmallBufferSameRecords(t *testing.T) {
	var compared, listpacks int
	for _, f := range corpustest.Files(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		def := rdb.NewReader(bytes.NewReader(data), rdb.AllowNewerVersions())
		small := rdb.NewReader(bytes.NewReader(data), rdb.AllowNewerVersions(), rdb.WithBufferSize(4096))
		for {
			a, errA := def.Next()
			b, errB := small.Next()
			if errA != nil || errB != nil {
				if errA != io.EOF || errB != io.EOF {
					t.Fatalf("%s: %v, with a 4 KiB buffer %v", f.Name, errA, errB)
				}
				break
			}
			if a.Kind != rdb.KindKey {
				continue
			}
			if !bytes.Equal(a.Key, b.Key) || a.Encoding != b.Encoding || a.Type != b.Type {
				t.Fatalf("%s: key %q %s %s, with a 4 KiB buffer %q %s %s", f.Name, a.Key, a.Type, a.Encoding, b.Key, b.Type, b.Encoding)
			}
			compared++
			if a.Type == rdb.TypeList && a.Encoding == "listpack" && a.RDBType == 18 {
				listpacks++
			}
		}
	}
	if compared == 0 || listpacks == 0 {
		t.Fatalf("%d keys compared, %d one-node quicklists named listpack: the test reaches nothing", compared, listpacks)
	}
}
