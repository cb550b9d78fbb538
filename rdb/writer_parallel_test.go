package rdb_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// rewrite copies every key of data to target: with Writer.CopyKey, or on
// ReadParallel's workers with KeyEncoders and Writer.WriteEncoded.
func rewrite(data []byte, target rdb.Target, workers int) ([]byte, rdb.WriterStats, error) {
	var out bytes.Buffer
	w, err := rdb.NewWriter(&out, rdb.WriterOptions{Target: target, Policy: rdb.DropFieldTTLs | rdb.DowngradeStreams | rdb.DropKeyMeta, Now: func() time.Time { return time.UnixMilli(1700000000000) }})
	if err != nil {
		return nil, rdb.WriterStats{}, err
	}
	r := rdb.NewReader(bytes.NewReader(data))
	db := -1
	selectDB := func(d int) error {
		if d == db {
			return nil
		}
		db = d
		return w.SelectDB(d)
	}
	if workers == 0 {
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, w.Stats(), err
			}
			if rec.Kind == rdb.KindKey {
				if err := selectDB(rec.DB); err != nil {
					return nil, w.Stats(), err
				}
				if err := w.CopyKey(r, rec); err != nil {
					return nil, w.Stats(), err
				}
			}
		}
	} else {
		type encoded struct {
			db  int
			key rdb.EncodedKey
		}
		encs := make([]*rdb.KeyEncoder, workers+1)
		err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: workers, KeysOnly: true}, rdb.ParallelHandler[encoded]{
			Work: func(wk *rdb.Worker, rec *rdb.Record, out *encoded) error {
				if wk.Inline() {
					return fmt.Errorf("no value here is too large to batch")
				}
				e := encs[wk.ID]
				if e == nil {
					e = w.NewKeyEncoder()
					encs[wk.ID] = e
				}
				k, err := e.CopyKey(wk.Reader, rec)
				k.Bytes, k.Key = wk.Keep(k.Bytes), wk.Keep(k.Key)
				out.db, out.key = rec.DB, k
				return err
			},
			Sink: func(e *encoded) error {
				if err := selectDB(e.db); err != nil {
					return err
				}
				return w.WriteEncoded(e.key)
			},
		})
		if err != nil {
			return nil, w.Stats(), err
		}
	}
	if err := w.Close(); err != nil {
		return nil, w.Stats(), err
	}
	return out.Bytes(), w.Stats(), nil
}

// Keys encoded on workers and written in file order make the same file,
// byte for byte, with the same stats, as CopyKey key by key: every corpus
// file, to its own version and to RDB 9 and 11.
func TestKeyEncoderMatchesCopyKey(t *testing.T) {
	versions, workerCounts := []int{9, 11}, []int{1, 2, 8}
	if testing.Short() {
		versions, workerCounts = []int{11}, []int{2} // -short runs under -race
	}
	for i, f := range corpustest.Files(t) {
		if testing.Short() && (!strings.HasPrefix(f.RDB, corpustest.Root()) || i%4 != 0) {
			continue
		}
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range versions {
			target := rdb.Target{Dialect: rdb.DialectRedis, Version: v}
			want, wantStats, wantErr := rewrite(data, target, 0)
			for _, workers := range workerCounts {
				got, gotStats, gotErr := rewrite(data, target, workers)
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("%s to %v, %d workers: error %v, CopyKey %v", f.Name, target, workers, gotErr, wantErr)
				}
				// StoredCopies says how often a shortcut giving the same
				// bytes was taken: each encoder learns on its own keys
				// when it may be.
				gotStats.StoredCopies, wantStats.StoredCopies = 0, 0
				if !bytes.Equal(got, want) || gotStats != wantStats {
					t.Fatalf("%s to %v, %d workers: %d bytes %+v, CopyKey %d bytes %+v", f.Name, target, workers, len(got), gotStats, len(want), wantStats)
				}
			}
		}
	}
}

// since and add carry every WriterStats field: a field added to the
// struct fails this test until they carry it too.
func TestWriterStatsSinceAddEveryField(t *testing.T) {
	var s rdb.WriterStats
	v := reflect.ValueOf(&s).Elem()
	for i := range v.NumField() {
		v.Field(i).SetInt(int64(i + 1))
	}
	var zero, got rdb.WriterStats
	rdb.AddStatsForTest(&got, rdb.StatsSinceForTest(s, zero))
	if got != s {
		t.Fatalf("since/add lost fields: %+v, want %+v", got, s)
	}
}

// A sink that stops before a value's last part leaves it open; AbandonParts
// drops it with its temporary files (the member check's spilled runs), and
// the Writer takes no other record meanwhile.
func TestAbandonPartsRemovesSpills(t *testing.T) {
	target := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}}
	var in bytes.Buffer
	src, err := rdb.NewWriter(&in, target)
	if err != nil {
		t.Fatal(err)
	}
	src.WriteAux([]byte("redis-ver"), []byte("7.0.15"))
	set, err := src.BeginSet(rdb.KeyHeader{Key: []byte("s")}, 100_000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100_000 {
		set.Add(rdb.Element{Member: fmt.Appendf(nil, "member:%d", i)})
	}
	if err := set.Close(); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	wo := target
	wo.KeyDigestMemory, wo.SpoolDir = 64<<10, dir
	w, err := rdb.NewWriter(io.Discard, wo)
	if err != nil {
		t.Fatal(err)
	}
	enc := []*rdb.KeyEncoder{w.NewKeyEncoder(), w.NewKeyEncoder(), w.NewKeyEncoder()}
	stop := fmt.Errorf("stop")
	err = rdb.ReadParallel(context.Background(), rdb.NewReader(bytes.NewReader(in.Bytes())), rdb.ParallelOptions{Workers: 2, BufferSize: 64 << 10}, rdb.ParallelHandler[*rdb.EncodedPart]{
		Split: w.SplitsValue,
		Work: func(wk *rdb.Worker, rec *rdb.Record, out **rdb.EncodedPart) error {
			if wk.Part() != nil && !wk.Inline() {
				p := enc[wk.ID].CopyPart(wk, rec)
				*out = &p
			}
			return nil
		},
		Sink: func(p **rdb.EncodedPart) error {
			if *p == nil {
				return nil
			}
			if (*p).Part.Index == 5 {
				return stop
			}
			return w.WriteEncodedPart(*p)
		},
	})
	if err != stop {
		t.Fatalf("ReadParallel: %v", err)
	}
	if left, _ := os.ReadDir(dir); len(left) == 0 {
		t.Fatal("no temporary files: the member check did not spill")
	}
	if err := w.WriteString(rdb.KeyHeader{Key: []byte("k")}, []byte("v")); err == nil {
		t.Fatal("a key written inside the open value")
	}
	w.AbandonParts()
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Fatalf("%d temporary files or directories left after AbandonParts", len(left))
	}
	if err := w.WriteString(rdb.KeyHeader{Key: []byte("k")}, []byte("v")); err != nil {
		t.Fatalf("after AbandonParts: %v", err)
	}
	w.Abort()
}
