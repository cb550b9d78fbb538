package fuzz

import (
	"bytes"
	"io"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/salvage"
)

// FuzzCheck: checking any input never panics or hangs, and a clean report
// means the plain reader reads the file to its end too.
func FuzzCheck(f *testing.F) {
	for _, s := range readerSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := salvage.Scan(bytes.NewReader(data), int64(len(data)), salvage.Options{MaxProblems: 100})
		if err != nil || !res.Clean() {
			return
		}
		r := rdb.NewReader(bytes.NewReader(data))
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("check says clean, the reader says %v", err)
			}
			if rec.Kind == rdb.KindKey {
				if err := r.VerifyValue(); err != nil {
					t.Fatalf("check says clean, the value does not decode: %v", err)
				}
			}
		}
	})
}

// FuzzSalvage: salvaging any input never panics or hangs, and whatever it
// writes is a valid RDB file that checks clean.
func FuzzSalvage(f *testing.F) {
	for _, s := range readerSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		_, w, err := salvage.Salvage(bytes.NewReader(data), int64(len(data)), &out, salvage.Options{MaxProblems: 100})
		if err != nil {
			return
		}
		res, err := salvage.Scan(bytes.NewReader(out.Bytes()), int64(out.Len()), salvage.Options{})
		if err != nil {
			t.Fatalf("salvaged output unreadable: %v", err)
		}
		if !res.Clean() || res.Keys != w.Keys {
			t.Fatalf("salvaged output is not clean (%d keys written, %d read): %v", w.Keys, res.Keys, res.Problems)
		}
	})
}
