package rdb_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// roundTripKeys reads every key of an RDB file into canonical text (db,
// key, expiry, LRU/LFU, value). Empty collections, which a Writer leaves
// out as a server does, are not listed.
func roundTripKeys(data []byte, opts ...rdb.Option) ([]string, error) {
	r := rdb.NewReader(bytes.NewReader(data), opts...)
	var out []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		v, err := r.ReadValue()
		if err != nil {
			return nil, err
		}
		switch v.Type {
		case rdb.TypeList, rdb.TypeSet, rdb.TypeZSet, rdb.TypeHash:
			if len(v.Items)+len(v.ZSet)+len(v.Hash) == 0 {
				continue
			}
		}
		switch v.Type {
		case rdb.TypeStream:
			// The Writer takes a stream's length from its entries, and
			// raises a last ID below the last entry's to it (so that a
			// server's next XADD ID follows the entries).
			st := v.Stream
			st.Length = uint64(len(st.Entries))
			if n := len(st.Entries); n > 0 && st.LastID.Compare(st.Entries[n-1].ID) < 0 {
				st.LastID = st.Entries[n-1].ID
			}
		case rdb.TypeZSet:
			// A score of -0 becomes 0 in a listpack, as on a server
			// (zzlInsertAt stores it as the integer 0).
			for i := range v.ZSet {
				if v.ZSet[i].Score == 0 {
					v.ZSet[i].Score = 0
				}
			}
		}
		out = append(out, fmt.Sprintf("idle=%d freq=%d db=%d %q exp=%d %s", rec.Idle, rec.Freq, rec.DB, rec.Key, rec.ExpireAt, canonValue(v)))
	}
}

// copyWithFastPaths runs rdb.Copy over data into its own format, with
// CopyValue's fast paths on or off. The input's checksum is not verified
// (a mutated input rarely keeps it); the output's is, when read back.
func copyWithFastPaths(data []byte, target rdb.Target, fast bool) ([]byte, error) {
	old := rdb.SetCopyFastPaths(fast)
	defer rdb.SetCopyFastPaths(old)
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: target})
	if err != nil {
		return nil, err
	}
	err = rdb.Copy(w, rdb.NewReader(bytes.NewReader(data), rdb.WithoutChecksum()), rdb.CopyOptions{})
	return buf.Bytes(), err
}

// FuzzRoundTrip: a file the Reader reads whole, copied with rdb.Copy into
// its own format, reads back with the same keys and values; the copy's
// fast paths on and off write the same bytes (or fail alike); and copying
// the copy changes nothing.
func FuzzRoundTrip(f *testing.F) {
	for _, pat := range []string{"../testdata/corpus/*/*.rdb", "../testdata/corpus-thirdparty/*/*.rdb", "testdata/*.rdb"} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			if len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, err := roundTripKeys(data, rdb.WithoutChecksum())
		if err != nil {
			return // not a file the Reader takes
		}
		r := rdb.NewReader(bytes.NewReader(data))
		if _, err := r.Next(); err != nil {
			return
		}
		target, err := rdb.TargetOf(r)
		if err != nil {
			return // RDB 1 to 5 cannot be written
		}
		fast, errFast := copyWithFastPaths(data, target, true)
		slow, errSlow := copyWithFastPaths(data, target, false)
		if fmt.Sprint(errFast) != fmt.Sprint(errSlow) {
			t.Fatalf("copy with fast paths: %v; without: %v", errFast, errSlow)
		}
		if errFast != nil {
			return // refused alike (a duplicate member, a key twice, ...)
		}
		if !bytes.Equal(fast, slow) {
			t.Fatalf("fast paths write %d bytes, the general path %d, not the same", len(fast), len(slow))
		}
		got, err := roundTripKeys(fast)
		if err != nil {
			t.Fatalf("reading the copy: %v", err)
		}
		if target.Dialect == rdb.DialectRedis && target.Version < 9 {
			// The Reader takes LRU/LFU opcodes in any version (as a
			// server's loader does); the Writer leaves them out before
			// RDB 9, which has none, and counts them (DroppedLRU).
			want = withoutLRU(want)
		}
		if len(got) != len(want) {
			t.Fatalf("copy holds %d keys, the input %d", len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("key %d differs:\n copy  %s\n input %s", i, got[i], want[i])
			}
		}
		again, err := copyWithFastPaths(fast, target, true)
		if err != nil {
			t.Fatalf("copying the copy: %v", err)
		}
		if !bytes.Equal(again, fast) {
			t.Fatalf("copying the copy changes it (%d bytes to %d)", len(fast), len(again))
		}
	})
}

// withoutLRU is roundTripKeys' text with every key's idle time and LFU
// frequency unset.
func withoutLRU(keys []string) []string {
	idle := regexp.MustCompile(`^idle=-?[0-9]+ freq=-?[0-9]+ `)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = idle.ReplaceAllString(k, "idle=-1 freq=-1 ")
	}
	return out
}
