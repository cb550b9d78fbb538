package rdb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// describeElements renders a key and its elements through NextElement, or
// for a part of a value (part set) the key only with the first part and
// the record's size only with the last: the parts of a value, joined,
// render as the whole value does.
func describeElements(r *rdb.Reader, rec *rdb.Record, part *rdb.ValuePart) (string, error) {
	switch {
	case rec.Kind != rdb.KindKey:
		return describeRecord(r, rec)
	case rec.Type != rdb.TypeList && rec.Type != rdb.TypeSet && rec.Type != rdb.TypeZSet && rec.Type != rdb.TypeHash:
		if part != nil {
			return "", fmt.Errorf("a %s in parts", rec.Type)
		}
		return describeRecord(r, rec)
	}
	var sb strings.Builder
	if part == nil || part.Index == 0 {
		fmt.Fprintf(&sb, "db %d key %q %s/%d %s expire %d idle %d freq %d meta %d: ", rec.DB, rec.Key, rec.Type, rec.RDBType, rec.Encoding, rec.ExpireAt, rec.Idle, rec.Freq, len(rec.KeyMeta))
	}
	for e, err := range r.Elements() {
		if err != nil {
			return sb.String(), err
		}
		fmt.Fprintf(&sb, "%q=%q@%v/%d;", e.Member, e.Value, e.Score, e.ExpireAt)
	}
	if part == nil || part.Last {
		fmt.Fprintf(&sb, " at %d size %d", rec.Offset, rec.Size)
	}
	return sb.String(), nil
}

type splitResult struct {
	s    string
	part *rdb.ValuePart
}

// readSplit reads data with every large value split into parts and joins
// the parts' renderings; parts counts the values split and inlineRest the
// parts given to Work on the framing goroutine.
func readSplit(data []byte, workers, bufSize int, opts ...rdb.Option) (out []string, split, inlineRest int, err error) {
	r := rdb.NewReader(bytes.NewReader(data), opts...)
	var joined strings.Builder
	next := 0
	err = rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: workers, BufferSize: bufSize}, rdb.ParallelHandler[splitResult]{
		Split: func(rec *rdb.Record) bool { return true },
		Work: func(w *rdb.Worker, rec *rdb.Record, out *splitResult) (err error) {
			if p := w.Part(); p != nil {
				if n, ok := w.Reader.Len(); ok && p.Count < n {
					return fmt.Errorf("part of %d elements in a value of %d", n, p.Count)
				}
				c := *p
				out.part = &c
				if p.Index > 0 && p.Last && w.Inline() {
					inlineRest++
				}
			}
			out.s, err = describeElements(w.Reader, rec, out.part)
			return err
		},
		Sink: func(res *splitResult) error {
			if res.part == nil {
				if next != 0 {
					return fmt.Errorf("a whole record between parts")
				}
				out = append(out, res.s)
				return nil
			}
			if res.part.Index != next {
				return fmt.Errorf("part %d after part %d", res.part.Index, next-1)
			}
			joined.WriteString(res.s)
			next++
			if res.part.Last {
				out = append(out, joined.String())
				joined.Reset()
				next = 0
				split++
			}
			return nil
		},
	})
	return out, split, inlineRest, err
}

// readWhole is the reference for readSplit: the sequential reader.
func readWhole(data []byte, opts ...rdb.Option) ([]string, error) {
	out, _, err := readDescribed(data, func(r *rdb.Reader, rec *rdb.Record) (string, error) {
		return describeElements(r, rec, nil)
	}, opts...)
	return out, err
}

// compareSplit checks that a read with values in parts joins up to the
// sequential read, record for record, with the same first error; it
// returns how many values were split.
func compareSplit(t *testing.T, name string, data []byte, workers, bufSize int, opts ...rdb.Option) (split, inlineRest int) {
	t.Helper()
	want, wantErr := readWhole(data, opts...)
	got, split, inlineRest, gotErr := readSplit(data, workers, bufSize, opts...)
	if errText(gotErr) != errText(wantErr) {
		t.Fatalf("%s, %d workers: error %v, sequential %v", name, workers, gotErr, wantErr)
	}
	// Before an error, the parts of the value it cut short are not
	// joined; every whole record must match.
	if len(got) > len(want) || wantErr == nil && len(got) != len(want) {
		t.Fatalf("%s, %d workers: %d records, sequential %d", name, workers, len(got), len(want))
	}
	sameRecords(t, fmt.Sprintf("%s, %d workers, in parts", name, workers), got, want[:len(got)])
	return split, inlineRest
}

// With a 4 KiB framing buffer every collection over 1 KiB is "large": on
// every corpus file, values read in parts on 1, 2 and 8 workers join up to
// what the sequential reader gives, elements, record sizes and all; parts
// too large for the look-ahead are read on the framing goroutine.
func TestParallelSplitMatchesSequentialOnCorpus(t *testing.T) {
	t.Parallel()
	var split, inlineRest int
	forCorpusFiles(t, func(p string, data []byte, workers int) {
		s, ir := compareSplit(t, p, data, workers, 4096, rdb.WithName(p), rdb.AllowNewerVersions())
		split, inlineRest = split+s, inlineRest+ir
		if workers == 2 && !testing.Short() {
			// Parts read by the workers themselves (WithReaderAt).
			compareSplit(t, p+", ReaderAt", data, workers, 4096, rdb.WithName(p), rdb.AllowNewerVersions(), rdb.WithReaderAt(bytes.NewReader(data)))
		}
	})
	t.Logf("%d values read in parts, %d of them ending on the framing goroutine", split, inlineRest)
	if split == 0 || inlineRest == 0 {
		t.Fatalf("%d values split, %d ending on the framing goroutine: the test does not reach both", split, inlineRest)
	}
}

// bigCollections writes one large value of every splittable encoding the
// Writer makes for RDB version v (quicklists hold their elements in nodes),
// with string keys between them.
func bigCollections(t *testing.T, v int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: v}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const n = 8000
	// Random letters, which LZF does not shrink.
	rnd := rand.New(rand.NewPCG(1, uint64(v)))
	letters := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a' + byte(rnd.IntN(26))
		}
		return b
	}
	elem := func(j int) []byte { return fmt.Appendf(nil, "element-%d-%s", j, letters(j%300)) }
	must(w.WriteString(rdb.KeyHeader{Key: []byte("before")}, []byte("1")))
	lw, err := w.BeginList(rdb.KeyHeader{Key: []byte("list"), ExpireAt: 4102444800000}, n)
	must(err)
	for j := range n {
		must(lw.Add(rdb.Element{Member: elem(j)}))
	}
	must(lw.Close())
	sw, err := w.BeginSet(rdb.KeyHeader{Key: []byte("set")}, n)
	must(err)
	for j := range n {
		must(sw.Add(rdb.Element{Member: elem(j)}))
	}
	must(sw.Close())
	zw, err := w.BeginZSet(rdb.KeyHeader{Key: []byte("zset")}, n)
	must(err)
	for j := range n {
		must(zw.Add(rdb.Element{Member: elem(j), Score: float64(j) / 7}))
	}
	must(zw.Close())
	hw, err := w.BeginHash(rdb.KeyHeader{Key: []byte("hash"), Idle: 3, HasIdle: true}, n)
	must(err)
	for j := range n {
		must(hw.Add(rdb.Element{Member: elem(j), Value: elem(n - j)}))
	}
	must(hw.Close())
	// An element larger than the look-ahead in the middle of a set.
	sw, err = w.BeginSet(rdb.KeyHeader{Key: []byte("set-with-a-large-member")}, n)
	must(err)
	for j := range n {
		m := elem(j)
		if j == n/2 {
			m = letters(3 << 20)
		}
		must(sw.Add(rdb.Element{Member: m}))
	}
	must(sw.Close())
	must(w.WriteString(rdb.KeyHeader{Key: []byte("after")}, []byte("2")))
	must(w.Close())
	return buf.Bytes()
}

// At the real buffer size: values over a quarter of the 1 MiB buffer go
// out in parts, the same as read whole, in every RDB version's encodings;
// damage inside them (truncation) stops the read with the sequential
// path's error.
func TestParallelSplitLargeCollections(t *testing.T) {
	t.Parallel()
	versions, workers := []int{6, 9, 11}, []int{1, 2, 8}
	if testing.Short() {
		versions, workers = versions[2:], workers[1:2] // -short runs under -race
	}
	for _, v := range versions {
		data := bigCollections(t, v)
		for _, w := range workers {
			split, rest := compareSplit(t, fmt.Sprintf("RDB %d", v), data, w, 0)
			if split != 5 || rest != 1 {
				t.Fatalf("RDB %d, %d workers: %d values split, %d ending on the framing goroutine; want 5 and 1", v, w, split, rest)
			}
		}
		cuts := []int{len(data) / 5, len(data) / 3, len(data) / 2, len(data) - 4<<20, len(data) - 100}
		if testing.Short() {
			cuts = cuts[2:4]
		}
		for _, cut := range cuts {
			compareSplit(t, fmt.Sprintf("RDB %d cut at %d", v, cut), data[:cut], 2, 0)
		}
	}
}

// An error from Work on a middle part, or from Sink on one, ends the read
// with that error; nothing after that part reaches Sink.
func TestParallelSplitErrorInAPart(t *testing.T) {
	data := bigCollections(t, 11)
	stop := errors.New("stop here")
	for _, inSink := range []bool{false, true} {
		r := rdb.NewReader(bytes.NewReader(data))
		var sunk []string
		err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 2}, rdb.ParallelHandler[splitResult]{
			Split: func(rec *rdb.Record) bool { return true },
			Work: func(w *rdb.Worker, rec *rdb.Record, out *splitResult) error {
				out.s = string(rec.Key)
				if p := w.Part(); p != nil {
					c := *p
					out.part = &c
					if !inSink && string(rec.Key) == "zset" && p.Index == 2 {
						return stop
					}
				}
				return nil
			},
			Sink: func(res *splitResult) error {
				if inSink && res.s == "zset" && res.part != nil && res.part.Index == 2 {
					return stop
				}
				label := res.s
				if res.part != nil {
					label = fmt.Sprintf("%s/%d", res.s, res.part.Index)
				}
				sunk = append(sunk, label)
				return nil
			},
		})
		if !errors.Is(err, stop) {
			t.Fatalf("in sink %v: error %v, want %v", inSink, err, stop)
		}
		if len(sunk) == 0 || sunk[len(sunk)-1] != "zset/1" {
			t.Fatalf("in sink %v: sunk %v, want it to end with zset/1", inSink, sunk)
		}
	}
}

// Results built in place with KeepWith stay intact while later results of
// the same batch grow the memory they were built in.
func TestParallelKeepWith(t *testing.T) {
	data := bigValues(t)
	r := rdb.NewReader(bytes.NewReader(data))
	var keys int
	err := rdb.ReadParallel(context.Background(), r, rdb.ParallelOptions{Workers: 2, KeysOnly: true}, rdb.ParallelHandler[[]byte]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *[]byte) error {
			*out = w.KeepWith(func(dst []byte) []byte {
				for range 50 { // enough to outgrow the memory a few times per batch
					dst = append(dst, rec.Key...)
				}
				return dst
			})
			return nil
		},
		Sink: func(b *[]byte) error {
			keys++
			n := len(*b) / 50
			if len(*b) != 50*n || !bytes.Equal(*b, bytes.Repeat((*b)[:n], 50)) {
				return fmt.Errorf("result %d is not one key 50 times: %.80q", keys, *b)
			}
			return nil
		},
	})
	if err != nil || keys != 6006 { // 2 databases of 3000 and three large keys
		t.Fatalf("%d keys, error %v", keys, err)
	}
}

// Cancelling the context stops a read in the middle of a value in parts.
func TestParallelSplitCancelled(t *testing.T) {
	data := bigCollections(t, 11)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := rdb.NewReader(bytes.NewReader(data))
	parts, finished := 0, 0
	err := rdb.ReadParallel(ctx, r, rdb.ParallelOptions{Workers: 2}, rdb.ParallelHandler[splitResult]{
		Split: func(rec *rdb.Record) bool { return true },
		Work: func(w *rdb.Worker, rec *rdb.Record, out *splitResult) error {
			if p := w.Part(); p != nil {
				c := *p
				out.part = &c
			}
			return nil
		},
		Sink: func(res *splitResult) error {
			if res.part != nil {
				if parts++; parts == 1 {
					cancel()
				}
				if res.part.Last {
					finished++
				}
			}
			return nil
		},
	})
	// The framing runs a few batches ahead of the sink: the first value
	// (about 10 parts) may finish, not the four after it.
	if !errors.Is(err, context.Canceled) || finished > 1 {
		t.Fatalf("error %v after %d parts and %d values, want %v within the first value", err, parts, finished, context.Canceled)
	}
}
