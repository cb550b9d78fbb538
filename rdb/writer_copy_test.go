package rdb_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rdb/compact"
)

// transcode copies every record of data to target, as rdbtool convert
// does, and returns the output or the first error.
func transcode(data []byte, target rdb.Target, limits *rdb.Limits) ([]byte, rdb.WriterStats, error) {
	r := rdb.NewReader(bytes.NewReader(data))
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{
		Target: target, Limits: limits,
		Policy: rdb.DropFieldTTLs | rdb.DowngradeStreams | rdb.DropKeyMeta | rdb.DropFunctions,
		Now:    func() time.Time { return time.UnixMilli(1_700_000_000_000) },
	})
	if err != nil {
		return nil, rdb.WriterStats{}, err
	}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, w.Stats(), err
		}
		switch rec.Kind {
		case rdb.KindKey:
			if rec.Type == rdb.TypeModule && (target.Dialect != r.Dialect()) {
				continue
			}
			err = w.CopyKey(r, rec)
		case rdb.KindSelectDB:
			err = w.SelectDB(rec.DB)
		}
		if err != nil {
			return nil, w.Stats(), fmt.Errorf("key %q: %w", rec.Key, err)
		}
	}
	err = w.Close()
	return buf.Bytes(), w.Stats(), err
}

// TestCopyFastPathsSameBytes: the fast paths of CopyValue write exactly
// what the general element-by-element path writes, for every corpus and
// third-party file, at every target version, under default and under
// small limits (so that compact sources cross into other encodings), and
// fail where it fails.
func TestCopyFastPathsSameBytes(t *testing.T) {
	var paths []string
	for _, f := range corpustest.Files(t) {
		paths = append(paths, f.RDB)
	}
	paths = append(paths, tpThirdPartyFiles(t)...)
	targets := []rdb.Target{{Dialect: rdb.DialectValkey, Version: 80}}
	for v := 6; v <= 13; v++ {
		if testing.Short() && v != 6 && v != 10 && v != 13 {
			continue // -short: the oldest, the 7.0 and the newest format
		}
		targets = append(targets, rdb.Target{Dialect: rdb.DialectRedis, Version: v})
	}
	tight := func(t rdb.Target) *rdb.Limits {
		l := rdb.DefaultLimits(t)
		l.HashMaxEntries, l.HashMaxValue = 3, 6
		l.ZSetMaxEntries, l.ZSetMaxValue = 3, 6
		l.SetMaxIntsetEntries, l.SetMaxListpackEntries, l.SetMaxListpackValue = 3, 4, 6
		l.ListMaxSize = 2
		return &l
	}
	compared, fast := 0, 0
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, tgt := range targets {
			for _, lim := range []*rdb.Limits{nil, tight(tgt)} {
				rdb.SetCopyFastPaths(false)
				want, _, wantErr := transcode(data, tgt, lim)
				rdb.SetCopyFastPaths(true)
				got, _, gotErr := transcode(data, tgt, lim)
				name := fmt.Sprintf("%s → %v (tight limits %v)", path, tgt, lim != nil)
				if fmt.Sprint(wantErr) != fmt.Sprint(gotErr) {
					t.Errorf("%s: error %v, general path %v", name, gotErr, wantErr)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes differ from the general path's %d", name, len(got), len(want))
				}
				compared++
				if wantErr == nil {
					fast++
				}
			}
		}
	}
	t.Logf("%d conversions compared, %d written", compared, fast)
	if fast < len(paths) {
		t.Errorf("only %d conversions succeeded", fast)
	}
}

// rawRDB builds an RDB 11 file holding the given keys, each a type byte
// and the bytes of its value as stored, with no checksum.
func rawRDB(keys ...rawKey) []byte {
	out := []byte("REDIS0011")
	str := func(b []byte) {
		switch n := len(b); {
		case n < 64:
			out = append(out, byte(n))
		case n < 16384:
			out = append(out, 0x40|byte(n>>8), byte(n))
		default:
			out = append(out, 0x80, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		}
		out = append(out, b...)
	}
	out = append(out, 0xFE, 0)
	for _, k := range keys {
		out = append(out, k.typ)
		str([]byte(k.key))
		str(k.blob)
	}
	return append(out, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0)
}

type rawKey struct {
	typ  byte
	key  string
	blob []byte
}

func listpackOf(entries ...any) []byte {
	var lb compact.ListpackBuilder
	for _, e := range entries {
		switch e := e.(type) {
		case int:
			lb.AppendInt(int64(e))
		case string:
			lb.AppendString([]byte(e)) // verbatim, even when it looks like an integer
		}
	}
	return slices.Clone(lb.Bytes())
}

// TestCopyFastPathsOddValues: compact values no server writes (out of
// order, duplicates, integers stored as text, over the limits) take the
// general path's way: the same bytes or the same error.
func TestCopyFastPathsOddValues(t *testing.T) {
	const zset, hash, set, intset = 17, 16, 20, 11
	many := make([]any, 0, 600)
	for i := 0; i < 300; i++ {
		many = append(many, fmt.Sprint("f", i), i)
	}
	ints := make([]int64, 600)
	for i := range ints {
		ints[i] = int64(i * 3)
	}
	cases := []struct {
		name string
		key  rawKey
	}{
		{"zset out of order", rawKey{zset, "z", listpackOf("b", 2, "a", 1)}},
		{"zset equal scores out of order", rawKey{zset, "z", listpackOf("b", 1, "a", 1)}},
		{"zset duplicate neighbours", rawKey{zset, "z", listpackOf("a", 1, "a", 2)}},
		{"zset duplicate apart", rawKey{zset, "z", listpackOf("a", 1, "b", 2, "a", 3)}},
		{"zset text scores", rawKey{zset, "z", listpackOf("a", "1.5", "b", "2", "c", "inf")}},
		{"zset bad score", rawKey{zset, "z", listpackOf("a", "x")}},
		{"zset NaN score", rawKey{zset, "z", listpackOf("a", "nan")}},
		{"zset odd entries", rawKey{zset, "z", listpackOf("a", 1, "b")}},
		{"zset integer member as text", rawKey{zset, "z", listpackOf("12", 1, "7", 2)}},
		{"hash duplicate field", rawKey{hash, "h", listpackOf("f", "v", "f", "w")}},
		{"hash integer as text", rawKey{hash, "h", listpackOf("10", "20", "f", 30)}},
		{"hash over the entry limit", rawKey{hash, "h", listpackOf(many...)}},
		{"hash long value", rawKey{hash, "h", listpackOf("f", strings.Repeat("v", 100))}},
		{"set ints then text", rawKey{set, "s", listpackOf(5, 3, "x", 1)}},
		{"set text then ints", rawKey{set, "s", listpackOf("x", 5, 3)}},
		{"set only ints", rawKey{set, "s", listpackOf(9, 2, "7")}},
		{"set duplicate", rawKey{set, "s", listpackOf("x", 5, "5")}},
		{"set long member", rawKey{set, "s", listpackOf("x", strings.Repeat("m", 70))}},
		{"intset over the limit", rawKey{intset, "i", compact.BuildIntset(ints)}},
		{"intset wide", rawKey{intset, "i", compact.BuildIntset([]int64{-1 << 40, 1, 1 << 40})}},
	}
	for _, c := range cases {
		data := rawRDB(c.key)
		for _, v := range []int{9, 10, 11} {
			tgt := rdb.Target{Dialect: rdb.DialectRedis, Version: v}
			rdb.SetCopyFastPaths(false)
			want, _, wantErr := transcode(data, tgt, nil)
			rdb.SetCopyFastPaths(true)
			got, _, gotErr := transcode(data, tgt, nil)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("%s → RDB %d: error %v, general path %v", c.name, v, gotErr, wantErr)
			} else if !bytes.Equal(got, want) {
				t.Errorf("%s → RDB %d: output differs from the general path's", c.name, v)
			}
		}
	}
}
