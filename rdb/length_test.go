package rdb_test

import (
	"bytes"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestDecodeLengthRoundTrip: every length AppendLength writes decodes to
// itself with its size; a cut-short encoding reports size 0 and the bytes
// that start no length report -1.
func TestDecodeLengthRoundTrip(t *testing.T) {
	for _, n := range []uint64{0, 1, 63, 64, 16383, 16384, 1<<32 - 1, 1 << 32, 1<<64 - 1} {
		enc := rdb.AppendLength(nil, n)
		got, special, size := rdb.DecodeLength(enc)
		if got != n || special || size != len(enc) {
			t.Errorf("%d encoded as % x decodes to (%d, %v, %d)", n, enc, got, special, size)
		}
		for cut := 0; cut < len(enc); cut++ {
			if _, _, size := rdb.DecodeLength(enc[:cut]); size != 0 {
				t.Errorf("%d cut to %d of %d bytes: size %d, want 0", n, cut, len(enc), size)
			}
		}
	}
	for b := 0x82; b < 0xC0; b++ {
		if _, _, size := rdb.DecodeLength([]byte{byte(b), 0, 0, 0, 0, 0, 0, 0, 0}); size != -1 {
			t.Errorf("prefix %#x: size %d, want -1", b, size)
		}
	}
	if n, special, size := rdb.DecodeLength([]byte{0xC3}); n != rdb.StringEncLZF || !special || size != 1 {
		t.Errorf("0xC3 decodes to (%d, %v, %d), want the LZF encoding", n, special, size)
	}
}

// TestDecodeStringFrameMatchesReader: in the string keys of every corpus
// file written by a real server (raw, integer and LZF strings), the type
// byte, the key's frame and the value's frame add up to the record size
// the Reader reports.
func TestDecodeStringFrameMatchesReader(t *testing.T) {
	kinds := map[string]int{}
	for _, f := range corpustest.Files(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		r := rdb.NewReader(bytes.NewReader(data))
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if !strings.Contains(err.Error(), "module") {
					t.Logf("%s: %v", f.Name, err)
				}
				break
			}
			if rec.Kind != rdb.KindKey || rec.RDBType != 0 {
				continue
			}
			if err := r.Skip(); err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			// The type byte is the last byte before the key.
			vs := rec.Offset + rec.Size
			var at int64 = -1
			for off := rec.Offset; off < vs; off++ {
				if data[off] != 0 {
					continue
				}
				kf, ks := rdb.DecodeStringFrame(data[off+1:])
				if ks <= 0 || off+1+int64(kf.Size()) > vs {
					continue
				}
				vf, vsz := rdb.DecodeStringFrame(data[off+1+int64(kf.Size()):])
				if vsz > 0 && off+1+int64(kf.Size()+vf.Size()) == vs && kf.Len == uint64(len(rec.Key)) {
					at = off
					switch {
					case vf.LZF:
						kinds["lzf"]++
					case vf.Int:
						kinds["int"]++
					default:
						kinds["raw"]++
					}
					break
				}
			}
			if at < 0 {
				t.Errorf("%s: key %q at %d: no type byte from which the frames reach the record's end %d", f.Name, rec.Key, rec.Offset, vs)
			}
		}
	}
	for _, k := range []string{"raw", "int", "lzf"} {
		if kinds[k] == 0 {
			t.Errorf("no %s string in the corpus checked (%v)", k, kinds)
		}
	}
}

// TestKeyTypesCoverCorpus: every key in the corpus written by a real
// server has a type byte KeyTypes lists for its file's format.
func TestKeyTypesCoverCorpus(t *testing.T) {
	for _, f := range corpustest.Files(t) {
		fh, err := os.Open(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		r := rdb.NewReader(fh)
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Kind == rdb.KindKey && !slices.Contains(rdb.KeyTypes(r.Dialect(), r.Version()), rec.RDBType) {
				t.Errorf("%s: key %q has type %d, not in KeyTypes(%s, %d)", f.Name, rec.Key, rec.RDBType, r.Dialect(), r.Version())
			}
		}
		fh.Close()
	}
}
