package rdb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// describeRecord renders a record and, for a key, its whole decoded value:
// what the sequential and the parallel reads are compared on.
func describeRecord(r *rdb.Reader, rec *rdb.Record) (string, error) {
	if rec.Kind != rdb.KindKey {
		c := *rec
		c.Key, c.KeyMeta = nil, nil // what the reused Record kept from an earlier key
		b, _ := json.Marshal(c)
		return string(b), nil
	}
	v, err := r.ReadValue()
	if err != nil {
		return "", err
	}
	// %+v, not JSON, for the rest: scores may be infinite.
	var stream, module []byte
	if v.Stream != nil {
		if stream, err = json.Marshal(v.Stream); err != nil {
			return "", err
		}
	}
	if v.Module != nil {
		if module, err = json.Marshal(v.Module); err != nil {
			return "", err
		}
	}
	v.Stream, v.Module = nil, nil
	c := *rec
	if len(c.KeyMeta) == 0 {
		c.KeyMeta = nil // empty or nil, as the Reader last had it
	}
	rb, _ := json.Marshal(c) // after the value: Size is known
	return fmt.Sprintf("%s %+v %s %s", rb, *v, stream, module), nil
}

// readSequential is the reference: Next, then the value.
func readSequential(data []byte, opts ...rdb.Option) ([]string, rdb.ChecksumStatus, error) {
	return readDescribed(data, describeRecord, opts...)
}

// readDescribed reads data record by record, rendering each with
// describe.
func readDescribed(data []byte, describe func(*rdb.Reader, *rdb.Record) (string, error), opts ...rdb.Option) ([]string, rdb.ChecksumStatus, error) {
	r := rdb.NewReader(bytes.NewReader(data), opts...)
	var out []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			st, _ := r.Checksum()
			return out, st, nil
		}
		if err != nil {
			return out, 0, err
		}
		s, err := describe(r, rec)
		if err != nil {
			return out, 0, err
		}
		out = append(out, s)
	}
}

func readParallel(data []byte, workers int, unordered bool, opts ...rdb.Option) ([]string, rdb.ChecksumStatus, error) {
	return readParallelWith(data, rdb.ParallelOptions{Workers: workers, Unordered: unordered}, opts...)
}

func readParallelWith(data []byte, o rdb.ParallelOptions, opts ...rdb.Option) ([]string, rdb.ChecksumStatus, error) {
	r := rdb.NewReader(bytes.NewReader(data), opts...)
	var out []string
	err := rdb.ReadParallel(context.Background(), r, o, rdb.ParallelHandler[string]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *string) (err error) {
			*out, err = describeRecord(w.Reader, rec)
			return err
		},
		Sink: func(s *string) error { out = append(out, *s); return nil },
	})
	st, _ := r.Checksum()
	return out, st, err
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func compareReads(t *testing.T, name string, data []byte, workers int, opts ...rdb.Option) {
	t.Helper()
	want, wantSt, wantErr := readSequential(data, opts...)
	got, gotSt, gotErr := readParallel(data, workers, false, opts...)
	if errText(gotErr) != errText(wantErr) {
		t.Fatalf("%s, %d workers: error %v, sequential %v", name, workers, gotErr, wantErr)
	}
	var we, ge *rdb.Error
	if errors.As(wantErr, &we) != errors.As(gotErr, &ge) || (we != nil && (we.Offset != ge.Offset || !bytes.Equal(we.Key, ge.Key))) {
		t.Fatalf("%s, %d workers: error %#v, sequential %#v", name, workers, ge, we)
	}
	if wantErr == nil && gotSt != wantSt {
		t.Fatalf("%s, %d workers: checksum %v, sequential %v", name, workers, gotSt, wantSt)
	}
	if len(got) != len(want) {
		t.Fatalf("%s, %d workers: %d records, sequential %d", name, workers, len(got), len(want))
	}
	sameRecords(t, fmt.Sprintf("%s, %d workers", name, workers), got, want[:len(got)])
}

// sameRecords fails the test at the first record of got that differs from
// want's, showing where.
func sameRecords(t *testing.T, name string, got, want []string) {
	t.Helper()
	for i := range got {
		if got[i] != want[i] {
			j := 0
			for j < len(got[i]) && j < len(want[i]) && got[i][j] == want[i][j] {
				j++
			}
			t.Fatalf("%s: record %d differs at byte %d:\n got  %.300s\n want %.300s", name, i, j, got[i][max(j-100, 0):], want[i][max(j-100, 0):])
		}
	}
}

// Every corpus file reads the same in parallel, at 1, 2 and 8 workers, as
// record by record: every record, every decoded value, the checksum.
func TestParallelMatchesSequentialOnCorpus(t *testing.T) {
	t.Parallel()
	forCorpusFiles(t, func(p string, data []byte, workers int) {
		compareReads(t, p, data, workers, rdb.WithName(p), rdb.AllowNewerVersions())
		if workers == 2 && !testing.Short() {
			// Workers reading their records themselves (WithReaderAt);
			// under -short (-race), TestParallelBatchSizes covers it.
			compareReads(t, p+", ReaderAt", data, workers, rdb.WithName(p), rdb.AllowNewerVersions(), rdb.WithReaderAt(bytes.NewReader(data)))
		}
	})
}

// forCorpusFiles calls fn with every corpus and third-party file at 1, 2
// and 8 workers; with -short (which runs under -race), with a quarter of
// the fixtures at 2 workers.
func forCorpusFiles(t *testing.T, fn func(path string, data []byte, workers int)) {
	t.Helper()
	files := corpustest.Files(t)
	tp, _ := filepath.Glob(filepath.Join(corpustest.ThirdPartyDir(t), "*", "*.rdb"))
	paths := make([]string, 0, len(files)+len(tp))
	for _, f := range files {
		paths = append(paths, f.RDB)
	}
	paths = append(paths, tp...)
	workers := []int{1, 2, 8}
	local := filepath.Join(corpustest.Root(), "testdata")
	if testing.Short() {
		workers = []int{2}
	}
	for i, p := range paths {
		if testing.Short() && (!strings.HasPrefix(p, local) || i%4 != 0) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range workers {
			fn(p, data, w)
		}
	}
}

// Damage anywhere gives the same first error, offset and key as the
// sequential path: truncation at many offsets and flipped bytes.
func TestParallelSameFirstError(t *testing.T) {
	t.Parallel()
	p := filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.4.1", "main.rdb")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	step := max(len(data)/25, 1)
	if testing.Short() {
		step = len(data) / 6
	}
	for n := 0; n < len(data); n += step {
		compareReads(t, fmt.Sprintf("truncated at %d", n), data[:n], 2)
		if !testing.Short() {
			compareReads(t, fmt.Sprintf("truncated at %d, ReaderAt", n), data[:n], 2, rdb.WithReaderAt(bytes.NewReader(data[:n])))
		}
	}
	for i := 9; i < len(data); i += step {
		d := bytes.Clone(data)
		d[i] ^= 0x5a
		compareReads(t, fmt.Sprintf("byte %d flipped", i), d, 2)
		compareReads(t, fmt.Sprintf("byte %d flipped, no checksum", i), d, 8, rdb.WithoutChecksum())
	}
}

// bigValues writes a file whose values are larger than what the engine
// batches (a 3 MiB string, a list of 2 MiB of elements, a 1 MiB key
// name), among small keys, in two databases.
func bigValues(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.WriteAux([]byte("redis-ver"), []byte("7.2.4")))
	for db := range 2 {
		must(w.SelectDB(db))
		for i := range 3000 {
			must(w.WriteString(rdb.KeyHeader{Key: fmt.Appendf(nil, "k%d:%d", db, i)}, fmt.Appendf(nil, "v%d", i*i)))
			switch i {
			case 1000:
				must(w.WriteString(rdb.KeyHeader{Key: []byte("big-string")}, bytes.Repeat([]byte("abcdefgh"), 3<<17)))
			case 2000:
				lw, err := w.BeginList(rdb.KeyHeader{Key: []byte("big-list"), ExpireAt: 4102444800000, Idle: 7, HasIdle: true}, 2048)
				must(err)
				for j := range 2048 {
					must(lw.Add(rdb.Element{Member: fmt.Appendf(nil, "%01024d", j)}))
				}
				must(lw.Close())
			case 2500:
				must(w.WriteString(rdb.KeyHeader{Key: bytes.Repeat([]byte("K"), 1<<20)}, []byte("long key")))
			}
		}
	}
	must(w.Close())
	return buf.Bytes()
}

// Records too large to batch are read on the framing goroutine in their
// place; results and errors stay those of the sequential path.
func TestParallelLargeValuesInOrder(t *testing.T) {
	t.Parallel()
	data := bigValues(t)
	workers, cuts := []int{1, 2, 8}, []int{len(data) / 3, len(data) / 2, len(data) - 100}
	if testing.Short() {
		workers, cuts = []int{2}, cuts[:1] // -short runs under -race
	}
	for _, w := range workers {
		compareReads(t, "big values", data, w)
	}
	for _, n := range cuts {
		compareReads(t, fmt.Sprintf("big values truncated at %d", n), data[:n], 2)
	}
}

// Batch sizes and counts change how records are grouped, not what is
// read: tiny and large batches, one batch beyond the workers and many,
// match the sequential read.
func TestParallelBatchSizes(t *testing.T) {
	corpusFile := filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.4.1", "main.rdb")
	corpus, err := os.ReadFile(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string][]byte{corpusFile: corpus}
	if !testing.Short() { // -short runs under -race
		inputs["big values"] = bigValues(t)
	}
	for name, data := range inputs {
		want, wantSt, err := readSequential(data)
		if err != nil {
			t.Fatal(err)
		}
		options := []rdb.ParallelOptions{
			{Workers: 2, BatchBytes: 1024, Batches: 1},
			{Workers: 3, BatchBytes: 4 << 20, Batches: 16},
			{Workers: 2, BatchBytes: 512 << 10, Batches: 6, BufferSize: 64 << 10},
		}
		if testing.Short() {
			options = options[:1]
		}
		for _, o := range options {
			got, st, err := readParallelWith(data, o, rdb.WithReaderAt(bytes.NewReader(data)))
			what := fmt.Sprintf("%s, %+v", name, o)
			if err != nil || st != wantSt || len(got) != len(want) {
				t.Fatalf("%s: %d records, checksum %v, error %v; sequential %d, %v", what, len(got), st, err, len(want), wantSt)
			}
			sameRecords(t, what, got, want)
		}
	}
}

// Unordered results are the same multiset; KeysOnly sees keys only.
func TestParallelUnorderedAndKeysOnly(t *testing.T) {
	data := bigValues(t)
	want, _, err := readSequential(data)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readParallel(data, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range want {
		count[s]++
	}
	for _, s := range got {
		count[s]--
	}
	for s, n := range count {
		if n != 0 {
			t.Fatalf("unordered: record count off by %d: %.200s", n, s)
		}
	}
	r := rdb.NewReader(bytes.NewReader(data))
	n := 0
	err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{KeysOnly: true}, rdb.ParallelHandler[rdb.RecordKind]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *rdb.RecordKind) error { *out = rec.Kind; return nil },
		Sink: func(k *rdb.RecordKind) error {
			if *k != rdb.KindKey {
				return fmt.Errorf("KeysOnly gave a %v record", *k)
			}
			n++
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 6006 {
		t.Fatalf("KeysOnly: %d keys, want 6006", n)
	}
}

// An error from Sink ends the read with that error, and Work sees no
// record after the batch in flight.
func TestParallelSinkErrorStops(t *testing.T) {
	data := bigValues(t)
	stopAt := errors.New("enough")
	n := 0
	r := rdb.NewReader(bytes.NewReader(data))
	err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 2}, rdb.ParallelHandler[int]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *int) error { *out = 1; return nil },
		Sink: func(*int) error {
			if n++; n == 100 {
				return stopAt
			}
			return nil
		},
	})
	if err != stopAt || n != 100 {
		t.Fatalf("got %v after %d results, want %v after 100", err, n, stopAt)
	}
}

// SinkBatch receives every result, in file order, as Sink does, and its
// error ends the read as Sink's does.
func TestParallelSinkBatch(t *testing.T) {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20000 { // several batches
		if err := w.WriteString(rdb.KeyHeader{Key: fmt.Appendf(nil, "k%d", i)}, fmt.Appendf(nil, "v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	var want, got []int64
	r := rdb.NewReader(bytes.NewReader(data))
	work := func(w *rdb.Worker, rec *rdb.Record, out *int64) error { *out = rec.Offset; return nil }
	if err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 1}, rdb.ParallelHandler[int64]{
		Work: work,
		Sink: func(o *int64) error { want = append(want, *o); return nil },
	}); err != nil {
		t.Fatal(err)
	}
	batches := 0
	r = rdb.NewReader(bytes.NewReader(data))
	if err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 3}, rdb.ParallelHandler[int64]{
		Work:      work,
		SinkBatch: func(os []int64) error { batches++; got = append(got, os...); return nil },
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) || batches >= len(want) {
		t.Fatalf("SinkBatch: %d results in %d batches, Sink: %d results (same order: %v)", len(got), batches, len(want), slices.Equal(got, want))
	}
	stopAt := errors.New("enough")
	n := 0
	r = rdb.NewReader(bytes.NewReader(data))
	err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 2}, rdb.ParallelHandler[int64]{
		Work: work,
		SinkBatch: func(os []int64) error {
			if n++; n == 2 {
				return stopAt
			}
			return nil
		},
	})
	if err != stopAt || n != 2 {
		t.Fatalf("got %v after %d batches, want %v after 2", err, n, stopAt)
	}
}

// A file rewritten while it is read with WithReaderAt fails the read with
// ErrChanged: the framing pass checksummed one content and the workers
// would decode another. Both the same size with a new modification time,
// and shorter than where the framing pass found records.
func TestParallelReaderAtFileChanged(t *testing.T) {
	data := bigValues(t)
	for _, change := range []string{"rewritten", "truncated"} {
		path := filepath.Join(t.TempDir(), "dump.rdb")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		r := rdb.NewReader(f, rdb.WithReaderAt(f), rdb.WithName(path))
		keys, changed := 0, false
		err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 2}, rdb.ParallelHandler[string]{
			Framing: func(rec *rdb.Record) error {
				if rec.Kind != rdb.KindKey || changed {
					return nil
				}
				changed = true
				switch change {
				case "rewritten":
					other := bytes.Clone(data)
					for i := len(other) / 2; i < len(other); i++ {
						other[i] ^= 0xff
					}
					if err := os.WriteFile(path, other, 0o644); err != nil {
						return err
					}
					// A modification time the rewrite cannot have kept.
					later := time.Now().Add(time.Hour)
					return os.Chtimes(path, later, later)
				default:
					return os.Truncate(path, rec.Offset+64)
				}
			},
			Work: func(w *rdb.Worker, rec *rdb.Record, out *string) (err error) {
				*out, err = describeRecord(w.Reader, rec)
				return err
			},
			Sink: func(*string) error { keys++; return nil },
		})
		if !errors.Is(err, rdb.ErrChanged) {
			t.Fatalf("%s: error %v after %d records, want ErrChanged", change, err, keys)
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %q does not name the file", change, err)
		}
	}
}

// Keys of every corpus file read again with ReopenAt, at their offset and
// database, are the records and values the whole read gave there.
func TestReopenAt(t *testing.T) {
	t.Parallel()
	for _, f := range corpustest.Files(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		type keyAt struct {
			off  int64
			db   int
			desc string
		}
		var keys []keyAt
		var r *rdb.Reader // the whole read's, for ReopenAt
		// A small buffer, which the reopened Readers take too: quicker
		// to make, and values longer than it are read in steps.
		_, _, err = readDescribed(data, func(rd *rdb.Reader, rec *rdb.Record) (string, error) {
			r = rd
			if rec.Kind != rdb.KindKey {
				return "", nil
			}
			off, db := rec.Offset, rec.DB
			desc, err := describeRecord(rd, rec)
			keys = append(keys, keyAt{off, db, desc})
			return desc, err
		}, rdb.WithName(f.Name), rdb.AllowNewerVersions(), rdb.WithReaderAt(bytes.NewReader(data)), rdb.WithBufferSize(4096))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		// Up to 300 keys a file, spread over it.
		step := max(len(keys)/300, 1)
		for i := 0; i < len(keys); i += step {
			k := keys[i]
			rr, err := r.ReopenAt(k.off, k.db)
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			rec, err := rr.Next()
			if err != nil {
				t.Fatalf("%s: reopened at %d: %v", f.Name, k.off, err)
			}
			desc, err := describeRecord(rr, rec)
			if err != nil {
				t.Fatalf("%s: reopened at %d: %v", f.Name, k.off, err)
			}
			if desc != k.desc {
				t.Fatalf("%s: reopened at %d:\n got  %.300s\n want %.300s", f.Name, k.off, desc, k.desc)
			}
		}
	}
	r := rdb.NewReader(bytes.NewReader(nil))
	if _, err := r.ReopenAt(0, 0); err == nil || r.CanReopen() {
		t.Fatal("ReopenAt without a ReaderAt: no error")
	}
	data, err := os.ReadFile(corpustest.Find(t, "redis-7.0.15/main").RDB)
	if err != nil {
		t.Fatal(err)
	}
	r = rdb.NewReader(bytes.NewReader(data), rdb.WithReaderAt(bytes.NewReader(data)))
	if _, err := r.ReopenAt(0, 0); err == nil {
		t.Error("ReopenAt before the header: no error")
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	for _, off := range []int64{-1, int64(len(data)) + 1} {
		if _, err := r.ReopenAt(off, 0); err == nil {
			t.Errorf("ReopenAt(%d) in a file of %d bytes: no error", off, len(data))
		}
	}
}
