package corpustest

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// Small files for what the corpus lacks, written byte by byte where the
// library's writer would not write them.

// EmptyCollectionsFile writes an RDB 10 file (byte by byte: the library's
// writer leaves empty collections out) holding an empty set, hash, sorted
// set and listpack hash, and the string k = v, and returns its path. A
// server skips the empty collections when loading it.
func EmptyCollectionsFile(t testing.TB) string {
	t.Helper()
	b := []byte("REDIS0010")
	b = append(b, 0xFE, 0) // SELECTDB 0
	str := func(s string) { b = append(b, byte(len(s))); b = append(b, s...) }
	for _, k := range []struct {
		typ  byte
		name string
	}{{2, "es"}, {4, "eh"}, {5, "ez"}} { // plain set, hash, zset2 of length 0
		b = append(b, k.typ)
		str(k.name)
		b = append(b, 0)
	}
	b = append(b, 16) // hash listpack
	str("elp")
	str(string([]byte{7, 0, 0, 0, 0, 0, 0xFF}))
	b = append(b, 0) // string
	str("k")
	str("v")
	b = append(b, 0xFF)
	b = binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
	p := filepath.Join(t.TempDir(), "empty.rdb")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
