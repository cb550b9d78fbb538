package rewrite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// convertData converts data for wo with o, as Convert does with Start's
// aux fields (but for a fixed ctime), and returns the file or the error.
func convertData(data []byte, wo rdb.WriterOptions, o ConvertOptions, ro ...rdb.Option) ([]byte, error) {
	var buf bytes.Buffer
	c, err := NewConverter(&buf, wo, o)
	if err != nil {
		return nil, err
	}
	if err := c.Writer().WriteDefaultAux("", 1700000000, 0); err != nil {
		return nil, err
	}
	if err := c.Convert(context.Background(), rdb.NewReader(bytes.NewReader(data), ro...), nil); err != nil {
		c.Writer().Abort()
		return nil, err
	}
	if err := c.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// errText is err's message, "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// countParts reads data as convert's ReadParallel does with a 4 KiB
// buffer and counts the parts after the first of values it splits.
func countParts(t *testing.T, data []byte, w *rdb.Writer) int {
	t.Helper()
	n := 0
	// A damaged file's error is not this count's concern.
	_ = rdb.ReadParallel(context.Background(), rdb.NewReader(bytes.NewReader(data)), rdb.ParallelOptions{Workers: 2, BufferSize: 4096}, rdb.ParallelHandler[int]{
		Split: w.SplitsValue,
		Work: func(wk *rdb.Worker, rec *rdb.Record, out *int) error {
			if p := wk.Part(); p != nil && p.Index > 0 {
				*out = 1
			}
			return nil
		},
		Sink: func(v *int) error { n += *v; return nil },
	})
	return n
}

// Convert writes the same bytes, or fails with the same error, at 1, 2
// and 8 jobs, with a 4 KiB framing buffer too, so that every set, sorted
// set and hash over 1 KiB (and every plain list for RDB 6) goes to the
// workers in parts: the corpus, to several targets, with the default
// encoding thresholds (most parts then of values built at the end) and
// with tiny ones (most written straight, in parts).
func TestConvertInPartsIdentical(t *testing.T) {
	defer func(n int) { convertBufferSize = n }(convertBufferSize)
	drop := rdb.DropFieldTTLs | rdb.DowngradeStreams | rdb.DropKeyMeta | rdb.DropFunctions
	tiny := rdb.DefaultLimits(rdb.Target{Dialect: rdb.DialectRedis, Version: 10})
	tiny.HashMaxEntries, tiny.SetMaxIntsetEntries, tiny.SetMaxListpackEntries, tiny.ZSetMaxEntries, tiny.ListMaxZiplistEntries = 2, 2, 2, 2, 2
	targets := []struct {
		name string
		wo   rdb.WriterOptions
	}{
		{"rdb6", rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 6}, Policy: drop}},
		{"rdb9", rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 9}, Policy: drop}},
		{"rdb11", rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}, Policy: drop}},
		{"rdb10-tiny", rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, Policy: drop, Limits: &tiny}},
		{"rdb6-tiny", rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 6}, Policy: drop, Limits: &tiny}},
	}
	files := corpustest.Files(t)
	if testing.Short() {
		files = files[:len(files)/4]
	}
	parts, compared := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range targets {
			w, err := rdb.NewWriter(&bytes.Buffer{}, tg.wo)
			if err != nil {
				t.Fatal(err)
			}
			parts += countParts(t, data, w)
			for _, bufSize := range []int{0, 4096} {
				// ReadParallel keeps the buffer of a Reader that has read.
				var ro []rdb.Option
				if bufSize > 0 {
					ro = append(ro, rdb.WithBufferSize(bufSize))
				}
				convertBufferSize = bufSize
				want, wantErr := convertData(data, tg.wo, ConvertOptions{Jobs: 1, SkipModules: true}, ro...)
				for _, jobs := range []int{2, 8} {
					got, err := convertData(data, tg.wo, ConvertOptions{Jobs: jobs, SkipModules: true}, ro...)
					// Content the target cannot hold is listed in full by
					// --jobs 1 only (see Convert).
					var all *Error
					unsupported := errors.As(wantErr, &all) && errors.Is(err, rdb.ErrUnsupported)
					if errText(err) != errText(wantErr) && !unsupported {
						t.Fatalf("%s to %s, %d jobs, buffer %d: error %v; --jobs 1: %v", f.Name, tg.name, jobs, bufSize, err, wantErr)
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("%s to %s, %d jobs, buffer %d: %d bytes differ from --jobs 1's %d", f.Name, tg.name, jobs, bufSize, len(got), len(want))
					}
					compared++
				}
			}
		}
	}
	if parts < 100 {
		t.Fatalf("only %d parts after a first one: the test does not reach values in parts", parts)
	}
	t.Logf("%d conversions compared; %d parts after a first one", compared, parts)
}

// bigValues writes an RDB 10 file holding a set, a hash, a sorted set and
// a list of n members each (member:0000000 ...; in the list every other
// one an integer instead; "big" plus the type's name), a
// hash "tail" of 1000 fields (field:0000000 ...) whose fields 60 and 600
// have 600 KB values (larger than convert's look-ahead: the rest of the
// hash is copied on the framing goroutine), a hash "smalltail" of 100
// such fields (its encoding depends on them all), and a string. With dupAt > 0, the
// set's member at that index repeats member 7; with dupTail > 0, so does
// the tail's field at that index its field 7.
func bigValues(t *testing.T, n, dupAt, dupTail int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
	if err != nil {
		t.Fatal(err)
	}
	member := func(i int) []byte { return fmt.Appendf(nil, "member:%07d", i) }
	// Convert copies the first record itself, before the workers start.
	if err := w.WriteDefaultAux("", 1700000000, 0); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []rdb.Type{rdb.TypeSet, rdb.TypeHash, rdb.TypeZSet, rdb.TypeList} {
		cw, err := w.BeginCollection(rdb.KeyHeader{Key: []byte("big" + typ.String())}, typ, rdb.CollectionInfo{Count: int64(n)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			e := rdb.Element{Member: member(i), Value: []byte(strconv.Itoa(i * 3)), Score: float64(i%1000) / 7}
			if typ == rdb.TypeList && i%2 == 1 {
				e.Member = []byte(strconv.Itoa(i * 1000003))
			}
			if err := cw.Add(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	big := make([]byte, 600_000)
	rnd := rand.New(rand.NewPCG(1, 2)) // random bytes: LZF leaves them large
	for i := range big {
		big[i] = byte(rnd.Uint32())
	}
	for key, fields := range map[string]int{"tail": 1000, "smalltail": 100} {
		cw, err := w.BeginHash(rdb.KeyHeader{Key: []byte(key)}, int64(fields))
		if err != nil {
			t.Fatal(err)
		}
		for i := range fields {
			v := []byte("v")
			if i == 60 || i == 600 {
				v = big
			}
			if err := cw.Add(rdb.Element{Member: fmt.Appendf(nil, "field:%07d", i), Value: v}); err != nil {
				t.Fatal(err)
			}
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteString(rdb.KeyHeader{Key: []byte("after")}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	// Members are short strings stored verbatim: give one the text of
	// another, and clear the checksum (a zero one is not checked).
	dup := func(m, first []byte) {
		at := bytes.Index(data, m)
		if at < 0 {
			t.Fatalf("%s not found", m)
		}
		copy(data[at:], first)
		clear(data[len(data)-8:])
	}
	if dupAt > 0 {
		dup(member(dupAt), member(7))
	}
	if dupTail > 0 {
		dup(fmt.Appendf(nil, "field:%07d", dupTail), []byte("field:0000007"))
	}
	return data
}

// A member repeated far apart in a 3 MB set, in different parts, is
// refused with the error the one-goroutine path gives, whether its first
// occurrence is still in the check's memory or spilled to disk.
func TestConvertInPartsRepeatedMember(t *testing.T) {
	data := bigValues(t, 200_000, 180_000, 0)
	for _, mem := range []int64{0, 64 << 10} {
		wo := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, KeyDigestMemory: mem}
		_, want := convertData(data, wo, ConvertOptions{Jobs: 1})
		if !errors.Is(want, rdb.ErrDuplicateMember) {
			t.Fatalf("--jobs 1, digest memory %d: %v, want a repeated member", mem, want)
		}
		if mem == 0 && !bytes.Contains([]byte(want.Error()), []byte(`set member "member:0000007"`)) {
			t.Fatalf("--jobs 1: %v: the member is not named", want)
		}
		for _, jobs := range []int{2, 8} {
			_, err := convertData(data, wo, ConvertOptions{Jobs: jobs})
			if errText(err) != errText(want) || !errors.Is(err, rdb.ErrDuplicateMember) {
				t.Fatalf("--jobs %d, digest memory %d: %v\n--jobs 1: %v", jobs, mem, err, want)
			}
		}
	}
	// Within one part; and in the rest of a value copied on the framing
	// goroutine, repeating a member of a part before.
	for _, data := range [][]byte{bigValues(t, 200_000, 9, 0), bigValues(t, 1000, 0, 900)} {
		wo := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}}
		_, want := convertData(data, wo, ConvertOptions{Jobs: 1})
		_, err := convertData(data, wo, ConvertOptions{Jobs: 2})
		if !errors.Is(want, rdb.ErrDuplicateMember) || errText(err) != errText(want) {
			t.Fatalf("--jobs 2: %v\n--jobs 1: %v", err, want)
		}
	}
}

// Large values converted in parts (for RDB 10 and, with text scores and
// ziplist nodes, RDB 7, where the list is cut anew) are the bytes --jobs 1
// writes, and redis-server loads them.
func TestConvertInPartsLoads(t *testing.T) {
	n := 100_000
	data := bigValues(t, n, 0, 0)
	for _, version := range []int{7, 10} {
		wo := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: version}}
		want, err := convertData(data, wo, ConvertOptions{Jobs: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := convertData(data, wo, ConvertOptions{Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("RDB %d: --jobs 2 wrote %d bytes that differ from --jobs 1's %d", version, len(got), len(want))
		}
		w, _ := rdb.NewWriter(&bytes.Buffer{}, wo)
		if parts := countParts(t, data, w); parts < 3*100 {
			t.Fatalf("RDB %d: %d parts: the values did not go in parts", version, parts)
		}
		if version != 10 {
			continue
		}
		out := filepath.Join(t.TempDir(), "out.rdb")
		if err := os.WriteFile(out, got, 0o644); err != nil {
			t.Fatal(err)
		}
		s := redistest.Start(t, out)
		for cmd, key := range map[string]string{"SCARD": "bigset", "HLEN": "bighash", "ZCARD": "bigzset", "LLEN": "biglist"} {
			if c := redistest.MustDo(t, s, cmd, key); c != int64(n) {
				t.Fatalf("%s %s: %v, want %d", cmd, key, c, n)
			}
		}
		if v := redistest.AsBytes(redistest.MustDo(t, s, "HGET", "bighash", "member:0099999")); string(v) != strconv.Itoa(99999*3) {
			t.Fatalf("HGET bighash member:0099999: %q", v)
		}
		v := redistest.AsBytes(redistest.MustDo(t, s, "ZSCORE", "bigzset", "member:0001999"))
		if f, err := strconv.ParseFloat(string(v), 64); err != nil || f != 999.0/7 {
			t.Fatalf("ZSCORE bigzset member:0001999: %q", v)
		}
		if v := redistest.AsBytes(redistest.MustDo(t, s, "HGET", "tail", "field:0000600")); len(v) != 600_000 {
			t.Fatalf("HGET tail field:0000600: %d bytes", len(v))
		}
		if v := redistest.MustDo(t, s, "HLEN", "tail"); v != int64(1000) {
			t.Fatalf("HLEN tail: %v", v)
		}
		if v := redistest.AsBytes(redistest.MustDo(t, s, "HGET", "smalltail", "field:0000060")); len(v) != 600_000 {
			t.Fatalf("HGET smalltail field:0000060: %d bytes", len(v))
		}
		for _, i := range []int{0, 1, 4097, n - 1} {
			want := string(fmt.Appendf(nil, "member:%07d", i))
			if i%2 == 1 {
				want = strconv.Itoa(i * 1000003)
			}
			if v := redistest.AsBytes(redistest.MustDo(t, s, "LINDEX", "biglist", i)); string(v) != want {
				t.Fatalf("LINDEX biglist %d: %q, want %q", i, v, want)
			}
		}
		if v := redistest.MustDo(t, s, "SISMEMBER", "bigset", "member:0054321"); v != int64(1) {
			t.Fatalf("SISMEMBER: %v", v)
		}
	}
}
