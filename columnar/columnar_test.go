package columnar

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
)

func corpusInput(name string) analyze.Input {
	return analyze.Input{Name: name, Open: func(context.Context) (*rdb.Reader, func() error, error) {
		f, err := os.Open("../testdata/corpus/" + name)
		if err != nil {
			return nil, nil, err
		}
		return rdb.NewReader(f, rdb.WithName(name)), f.Close, nil
	}}
}

// TestWriterCopiesWhatItKeeps reuses one row and its buffers for every
// Write: the file must still hold each row as it was written, across
// batches and row groups.
func TestWriterCopiesWhatItKeeps(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter[KeyRow](&out, WriterOptions{RowGroupRows: 1000, RowGroupBytes: 50 << 10})
	const n = 5000
	var row KeyRow
	key := make([]byte, 0, 32)
	var ttl float64
	var exp int64
	for i := 0; i < n; i++ {
		key = fmt.Appendf(key[:0], "k:%d:x", i)
		ttl, exp = float64(i), int64(i+1)
		row = KeyRow{Source: "s", Key: key, KeyUTF8: key, Prefix: key[:2], EstimatedBytes: int64(i), TTLSeconds: &ttl, ExpireAt: &exp}
		if i%3 == 0 {
			row.TTLSeconds, row.ExpireAt = nil, nil
		}
		if err := w.Write(&row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if g := len(f.RowGroups()); g < 5 {
		t.Errorf("%d row groups for %d rows of at most 1000", g, n)
	}
	back, err := parquet.Read[KeyRow](bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != n {
		t.Fatalf("%d rows, want %d", len(back), n)
	}
	for i, r := range back {
		want := fmt.Sprintf("k:%d:x", i)
		hasTTL := i%3 != 0
		if string(r.Key) != want || string(r.KeyUTF8) != want || string(r.Prefix) != "k:" || r.EstimatedBytes != int64(i) ||
			(r.TTLSeconds != nil) != hasTTL || (r.ExpireAt != nil) != hasTTL || hasTTL && (*r.TTLSeconds != float64(i) || *r.ExpireAt != int64(i+1)) {
			t.Fatalf("row %d: %q %q %q %d ttl=%v exp=%v", i, r.Key, r.KeyUTF8, r.Prefix, r.EstimatedBytes, r.TTLSeconds, r.ExpireAt)
		}
	}
}

// failingWriter fails after n bytes.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterReportsOutputErrors(t *testing.T) {
	for _, encoders := range []int{1, 2} {
		w := NewWriter[KeyRow](&failingWriter{n: 100}, WriterOptions{RowGroupBytes: 4 << 10, Encoders: encoders})
		var err error
		for i := 0; i < 100000 && err == nil; i++ {
			err = w.Write(&KeyRow{Key: []byte(strings.Repeat("k", 40))})
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("%d encoders: error %v, want disk full", encoders, err)
		}
	}
}

// memDest keeps files in memory; fail makes Create fail for a path.
type memDest struct {
	mu      sync.Mutex
	files   map[string][]byte
	aborted []string
}

type memFile struct {
	bytes.Buffer
	d    *memDest
	path string
}

func (d *memDest) Create(_ context.Context, path string) (DestFile, error) {
	return &memFile{d: d, path: path}, nil
}

func (f *memFile) Close() error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.files[f.path] = f.Bytes()
	return nil
}

func (f *memFile) Abort() error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	f.d.aborted = append(f.d.aborted, f.path)
	return nil
}

func TestExportPartitionedLayout(t *testing.T) {
	d := &memDest{files: map[string][]byte{}}
	inputs := []analyze.Input{corpusInput("redis-7.4.1/main.rdb"), corpusInput("redis-7.4.1/lfu.rdb"), corpusInput("redis-7.2.6/main.rdb")}
	shards := map[string]string{"redis-7.4.1/main.rdb": "0001", "redis-7.4.1/lfu.rdb": "0001", "redis-7.2.6/main.rdb": "0002"}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	stats, err := ExportPartitioned(context.Background(), inputs, d, ExportOptions{
		Model: analyze.Options{Now: now}, Shard: func(name string) string { return shards[name] },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"snapshot_date=2026-12-05/shard=0001/part-00000.parquet": 101,
		"snapshot_date=2026-12-05/shard=0001/part-00001.parquet": 14,
		"snapshot_date=2026-12-05/shard=0002/part-00000.parquet": 96,
	}
	if len(stats.Files) != len(want) || len(d.files) != len(want) {
		t.Fatalf("files %v, stats %+v", d.files, stats)
	}
	for _, f := range stats.Files {
		rows, ok := want[f.Path]
		b := d.files[f.Path]
		if !ok || f.Rows != rows || b == nil {
			t.Errorf("%s: %d rows (want %d, known %v)", f.Path, f.Rows, rows, ok)
			continue
		}
		back, err := parquet.Read[KeyRow](bytes.NewReader(b), int64(len(b)))
		if err != nil || int64(len(back)) != rows || *back[0].Shard != shards[f.Inputs[0]] || back[0].Source != f.Inputs[0] {
			t.Errorf("%s: %d rows read back, %v", f.Path, len(back), err)
		}
	}
}

func TestExportPartitionedNeedsADate(t *testing.T) {
	d := &memDest{files: map[string][]byte{}}
	// Redis 2.8 files have no aux fields, hence no ctime.
	_, err := ExportPartitioned(context.Background(), []analyze.Input{corpusInput("redis-2.8.24/main.rdb")}, d, ExportOptions{})
	if !errors.Is(err, ErrNoSnapshotTime) || len(d.files) != 0 {
		t.Fatalf("err %v, files %d", err, len(d.files))
	}
}

func TestExportAbortsOnBadInput(t *testing.T) {
	d := &memDest{files: map[string][]byte{}}
	b, err := os.ReadFile("../testdata/corpus/redis-7.4.1/main.rdb")
	if err != nil {
		t.Fatal(err)
	}
	cut := analyze.Input{Name: "cut.rdb", Open: func(context.Context) (*rdb.Reader, func() error, error) {
		return rdb.NewReader(bytes.NewReader(b[:len(b)/2]), rdb.WithName("cut.rdb")), nil, nil
	}}
	_, err = ExportPartitioned(context.Background(), []analyze.Input{cut}, d, ExportOptions{Model: analyze.Options{Now: time.Unix(1e9, 0)}})
	var re *rdb.Error
	if !errors.As(err, &re) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err %v, want the reader's error", err)
	}
	if len(d.files) != 0 || len(d.aborted) != 1 {
		t.Fatalf("files %v, aborted %v: a truncated input must leave no file", d.files, d.aborted)
	}
}

func TestPartitionPath(t *testing.T) {
	at := time.Date(2026, 12, 5, 23, 30, 0, 0, time.FixedZone("x", -5*3600)) // 2026-12-06 UTC
	if got := PartitionPath(at, "0003", 2); got != "snapshot_date=2026-12-06/shard=0003/part-00002.parquet" {
		t.Errorf("got %s", got)
	}
	if got := PartitionPath(at, "", 0); got != "snapshot_date=2026-12-06/shard=__HIVE_DEFAULT_PARTITION__/part-00000.parquet" {
		t.Errorf("got %s", got)
	}
}

// TestWriteDiffEstimatesWithinBudget: with a budget of one row per pass
// over the snapshots, the estimates are those of one pass; a side with
// no opener (a live server) leaves its column and the delta of the rows
// holding the key there null.
func TestWriteDiffEstimatesWithinBudget(t *testing.T) {
	ctx := context.Background()
	a, b := "../testdata/corpus/redis-7.4.1/nochecksum.rdb", "../testdata/corpus/redis-7.2.6/main.rdb"
	res, err := diff.Compare(ctx, diff.FileInput(a), diff.FileInput(b), diff.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	write := func(o DiffOptions) []DiffRow {
		t.Helper()
		var out bytes.Buffer
		if _, err := WriteDiff(ctx, &out, res, o); err != nil {
			t.Fatal(err)
		}
		rows, err := parquet.Read[DiffRow](bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	open := func(name string) Opener {
		return func(ctx context.Context) (*rdb.Reader, func() error, error) { return diff.FileInput(name).Open(ctx) }
	}
	whole := write(DiffOptions{OldSource: a, NewSource: b, Old: open(a), New: open(b)})
	split := write(DiffOptions{OldSource: a, NewSource: b, Old: open(a), New: open(b), MemoryBudget: 1})
	oldLive := write(DiffOptions{OldSource: a, NewSource: b, New: open(b)})
	if len(whole) < 10 || len(split) != len(whole) || len(oldLive) != len(whole) {
		t.Fatalf("%d, %d and %d rows", len(whole), len(split), len(oldLive))
	}
	kinds := map[string]int{}
	for i, w := range whole {
		kinds[w.Kind]++
		p := func(v *int64) string {
			if v == nil {
				return "null"
			}
			return fmt.Sprint(*v)
		}
		got := [3]string{p(split[i].OldEstimatedBytes), p(split[i].NewEstimatedBytes), p(split[i].EstimatedBytesDelta)}
		want := [3]string{p(w.OldEstimatedBytes), p(w.NewEstimatedBytes), p(w.EstimatedBytesDelta)}
		if got != want {
			t.Errorf("%s %q: one row per pass %v, one pass %v", w.Kind, w.Key, got, want)
		}
		if (w.OldType != nil) != (w.OldEstimatedBytes != nil) || (w.NewType != nil) != (w.NewEstimatedBytes != nil) || w.EstimatedBytesDelta == nil {
			t.Errorf("%s %q: estimates %v for types %v, %v", w.Kind, w.Key, want, w.OldType != nil, w.NewType != nil)
		}
		live := [3]string{p(oldLive[i].OldEstimatedBytes), p(oldLive[i].NewEstimatedBytes), p(oldLive[i].EstimatedBytesDelta)}
		wantLive := [3]string{"null", want[1], want[2]}
		if w.OldType != nil {
			wantLive[2] = "null"
		}
		if live != wantLive {
			t.Errorf("%s %q: A live %v, want %v", w.Kind, w.Key, live, wantLive)
		}
	}
	if kinds["added"] == 0 || kinds["removed"] == 0 || len(kinds) < 3 {
		t.Errorf("kinds %v: want added, removed and a change", kinds)
	}
}

// TestWriterEqualsParquetGoRowWriter writes rows with every column set,
// null or empty, through the Writer (its batches, the copies it keeps,
// its encoding goroutine) and straight through parquet-go's writer:
// read back, the two files hold the same rows.
func TestWriterEqualsParquetGoRowWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	some := func() bool { return rng.IntN(3) > 0 }
	i64 := func() *int64 {
		if !some() {
			return nil
		}
		v := rng.Int64N(1<<40) - 1<<20
		return &v
	}
	str := func(s string) *string {
		if !some() {
			return nil
		}
		return &s
	}
	bs := func() []byte {
		switch rng.IntN(4) {
		case 0:
			return nil
		case 1:
			return []byte{}
		}
		return fmt.Appendf(nil, "k:%d\xff", rng.IntN(1000))
	}
	keys := make([]KeyRow, 3000)
	for i := range keys {
		f, i32 := rng.Float64()*1e6, rng.Int32N(255)
		r := KeyRow{Source: "src", Shard: str("0001"), SnapshotTime: i64(), ServerVersion: str("redis-7.4.1"),
			RDBVersion: 12, DB: rng.Int32N(16), Key: bs(), KeyUTF8: bs(), Type: "hash", Encoding: "listpack",
			EstimatedBytes: rng.Int64(), Elements: rng.Int64N(1000), LargestElement: i64(), ExpireAt: i64(),
			IdleSeconds: i64(), Prefix: bs()}
		if some() {
			r.TTLSeconds = &f
		}
		if some() {
			r.LFUFreq = &i32
		}
		if r.Key == nil {
			r.Key = []byte{}
		}
		keys[i] = r
	}
	diffs := make([]DiffRow, 3000)
	for i := range diffs {
		diffs[i] = DiffRow{Kind: "added", DB: rng.Int32N(16), Key: []byte{byte(i), byte(i >> 8)}, KeyUTF8: bs(),
			OldType: str("hash"), NewType: str("zset"), OldExpireAt: i64(), NewExpireAt: i64(), TTLChanged: some(),
			OldLen: i64(), NewLen: i64(), LenDelta: i64(), Prefix: bs(), OldSource: "a", NewSource: "b",
			OldEstimatedBytes: i64(), NewEstimatedBytes: i64(), EstimatedBytesDelta: i64()}
	}
	for _, encoders := range []int{1, 3} {
		sameRows(t, keys, encoders)
		sameRows(t, diffs, encoders)
	}
}

func sameRows[T Row](t *testing.T, rows []T, encoders int) {
	t.Helper()
	var ours, theirs bytes.Buffer
	w := NewWriter[T](&ours, WriterOptions{RowGroupRows: 700, Encoders: encoders})
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pw := parquet.NewGenericWriter[T](&theirs)
	if _, err := pw.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := parquet.Read[T](bytes.NewReader(ours.Bytes()), int64(ours.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want, err := parquet.Read[T](bytes.NewReader(theirs.Bytes()), int64(theirs.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) || len(want) != len(rows) {
		t.Fatalf("%d rows and %d rows read, %d written", len(got), len(want), len(rows))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.Marshal(got[i]) // pointers shown as their values
			w, _ := json.Marshal(want[i])
			t.Fatalf("row %d (%d encoders):\nWriter:     %s\nparquet-go: %s", i, encoders, g, w)
		}
	}
}

// TestSplicedFileEqualsOneEncoder: row groups encoded side by side and
// spliced make the file one encoder makes, but for where the pages are:
// the same column chunks byte for byte, statistics, column indexes, and
// offset indexes that point at the same pages.
func TestSplicedFileEqualsOneEncoder(t *testing.T) {
	rows := make([]KeyRow, 10000)
	for i := range rows {
		key := fmt.Appendf(nil, "%s:%d", []string{"user", "cart", "feed"}[i%3], i*7919%10007)
		ttl, exp := float64(i), int64(1764892800000+i)
		rows[i] = KeyRow{Source: "a.rdb", DB: int32(i % 3), Key: key, KeyUTF8: key, Type: "hash", Encoding: "listpack",
			EstimatedBytes: int64(i * 31 % 977), Elements: int64(i % 50), Prefix: key[:5]}
		if i%4 != 0 {
			rows[i].TTLSeconds, rows[i].ExpireAt = &ttl, &exp
		}
	}
	write := func(encoders int) *parquet.File {
		var out bytes.Buffer
		// Small row groups, and pages of a few hundred rows.
		w := NewWriter[KeyRow](&out, WriterOptions{RowGroupRows: 1500, RowGroupBytes: 64 << 10, Encoders: encoders})
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := parquet.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	one, spliced := write(1), write(3)
	if one.NumRows() != int64(len(rows)) || spliced.NumRows() != int64(len(rows)) {
		t.Fatalf("%d and %d rows, want %d", one.NumRows(), spliced.NumRows(), len(rows))
	}
	m1, m3 := one.Metadata(), spliced.Metadata()
	if len(m1.RowGroups) < 7 || len(m3.RowGroups) != len(m1.RowGroups) {
		t.Fatalf("%d and %d row groups", len(m1.RowGroups), len(m3.RowGroups))
	}
	chunk := func(f *parquet.File, c *format.ColumnChunk) (start int64, b []byte) {
		start = c.MetaData.DataPageOffset
		if d := c.MetaData.DictionaryPageOffset; d > 0 && d < start {
			start = d
		}
		b = make([]byte, c.MetaData.TotalCompressedSize)
		if _, err := f.ReadAt(b, start); err != nil {
			t.Fatal(err)
		}
		return start, b
	}
	ci1, ci3, oi1, oi3 := one.ColumnIndexes(), spliced.ColumnIndexes(), one.OffsetIndexes(), spliced.OffsetIndexes()
	ncol := len(m1.RowGroups[0].Columns)
	for r := range m1.RowGroups {
		g1, g3 := &m1.RowGroups[r], &m3.RowGroups[r]
		if g1.NumRows != g3.NumRows || g3.Ordinal != int16(r) || g1.TotalByteSize != g3.TotalByteSize {
			t.Fatalf("row group %d: %d rows (ordinal %d), want %d", r, g3.NumRows, g3.Ordinal, g1.NumRows)
		}
		for c := range g1.Columns {
			c1, c3 := &g1.Columns[c], &g3.Columns[c]
			s1, b1 := chunk(one, c1)
			s3, b3 := chunk(spliced, c3)
			if !bytes.Equal(b1, b3) {
				t.Fatalf("row group %d column %d: chunks differ", r, c)
			}
			if !reflect.DeepEqual(c1.MetaData.Statistics, c3.MetaData.Statistics) {
				t.Errorf("row group %d column %d: statistics %+v, want %+v", r, c, c3.MetaData.Statistics, c1.MetaData.Statistics)
			}
			if !reflect.DeepEqual(ci1[r*ncol+c], ci3[r*ncol+c]) {
				t.Errorf("row group %d column %d: column index differs", r, c)
			}
			p1, p3 := oi1[r*ncol+c].PageLocations, oi3[r*ncol+c].PageLocations
			if len(p1) != len(p3) || len(p1) == 0 {
				t.Fatalf("row group %d column %d: %d and %d pages", r, c, len(p1), len(p3))
			}
			for i := range p1 {
				if p1[i].Offset-s1 != p3[i].Offset-s3 || p1[i].CompressedPageSize != p3[i].CompressedPageSize || p1[i].FirstRowIndex != p3[i].FirstRowIndex {
					t.Fatalf("row group %d column %d page %d: %+v at chunk %d, want %+v at %d", r, c, i, p3[i], s3, p1[i], s1)
				}
			}
		}
	}
	back, err := parquet.Read[KeyRow](spliced, spliced.Size())
	if err != nil || len(back) != len(rows) {
		t.Fatalf("%d rows read, %v", len(back), err)
	}
	for i := range back {
		if !bytes.Equal(back[i].Key, rows[i].Key) || back[i].EstimatedBytes != rows[i].EstimatedBytes || (back[i].ExpireAt == nil) != (i%4 == 0) {
			t.Fatalf("row %d: %q %d, want %q %d", i, back[i].Key, back[i].EstimatedBytes, rows[i].Key, rows[i].EstimatedBytes)
		}
	}
}

// TestSplitColumnsAreKeyRows: the two encoders' row types hold KeyRow's
// columns between them, each as KeyRow declares it.
func TestSplitColumnsAreKeyRows(t *testing.T) {
	describe := func(f parquet.Field) string {
		enc := ""
		if e := f.Encoding(); e != nil {
			enc = e.String()
		}
		return fmt.Sprintf("%s optional=%v encoding=%s", f.Type(), f.Optional(), enc)
	}
	split := map[string]string{}
	for _, s := range []*parquet.Schema{parquet.SchemaOf(keyColumns{}), parquet.SchemaOf(keyOtherColumns{})} {
		for _, f := range s.Fields() {
			if _, dup := split[f.Name()]; dup {
				t.Errorf("column %s in both", f.Name())
			}
			split[f.Name()] = describe(f)
		}
	}
	fields := parquet.SchemaOf(KeyRow{}).Fields()
	for _, f := range fields {
		if got, want := split[f.Name()], describe(f); got != want {
			t.Errorf("column %s: %q, KeyRow's %q", f.Name(), got, want)
		}
	}
	if len(split) != len(fields) {
		t.Errorf("%d columns split, KeyRow has %d", len(split), len(fields))
	}
}

// TestSplicedEmptyFile: a Writer of several encoders and no rows writes a
// file of no row groups.
func TestSplicedEmptyFile(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter[KeyRow](&out, WriterOptions{Encoders: 2})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil || f.NumRows() != 0 || len(f.Schema().Fields()) != 18 {
		t.Fatalf("%v, %d rows", err, f.NumRows())
	}
}

// TestExportEncoders: two encoders (and their larger batch queue) only
// for a writer running alone, so that several files written at once stay
// within the memory bound; a chosen Encoders is kept.
func TestExportEncoders(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8)) // CPUs to spare for two encoders per writer
	for _, c := range []struct {
		set, parallel, want int
	}{{0, 1, 2}, {0, 2, 1}, {0, 4, 1}, {1, 1, 1}, {2, 4, 2}} {
		opts := ExportOptions{Writer: WriterOptions{Encoders: c.set}}
		if got := opts.writerOptions(c.parallel).Encoders; got != c.want {
			t.Errorf("Encoders %d, %d writers at once: %d encoders, want %d", c.set, c.parallel, got, c.want)
		}
	}
}
