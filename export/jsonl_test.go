package export

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/rdb"
)

// A score renders as strconv's shortest 'g' form (or "inf", "-inf",
// "nan"): every integer around the ±1e6 limit of the integer fast path,
// zeros, and random floats of every magnitude.
func TestFloatMatchesStrconv(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		j := &JSONWriter{}
		j.float(f)
		want := strconv.AppendFloat(nil, f, 'g', -1, 64)
		switch {
		case math.IsInf(f, 1):
			want = []byte(`"inf"`)
		case math.IsInf(f, -1):
			want = []byte(`"-inf"`)
		case math.IsNaN(f):
			want = []byte(`"nan"`)
		}
		if !bytes.Equal(j.buf, want) {
			t.Fatalf("%v (%x): %s, want %s", f, math.Float64bits(f), j.buf, want)
		}
	}
	for i := -1_000_010; i <= 1_000_010; i++ {
		check(float64(i))
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.5, -0.5, 1e6, -1e6, 1e6 - 0.5, 999999.5, 1e21, -1e21,
		math.MaxInt64, math.MinInt64, 1 << 53, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.Inf(1), math.Inf(-1), math.NaN()} {
		check(f)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(math.Float64frombits(rng.Uint64()))
		check(float64(rng.IntN(100000)) / 7)
		check(math.Round(rng.NormFloat64() * 1e5))
	}
}

// errWriter fails every write.
type errWriter struct{ n int }

func (w *errWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("disk full")
}

// Flush reports the io.Writer's error, and keeps reporting it without
// writing again.
func TestJSONWriterFlushError(t *testing.T) {
	w := &errWriter{}
	j := NewJSONWriter(w)
	j.str("x")
	if err := j.Flush(); err == nil || err.Error() != "disk full" {
		t.Fatalf("Flush: %v, want disk full", err)
	}
	j.str("y")
	if err := j.Flush(); err == nil || w.n != 1 {
		t.Fatalf("second Flush: %v after %d writes, want the error after 1", err, w.n)
	}
}

// A string value larger than a flush, binary or text, is written in
// pieces that join into the value: encoding/json reads the line back to
// the value and encoding/base64 decodes value_b64 to it.
func TestWriteKeyLargeString(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	binary := make([]byte, 1<<20+1)
	for i := range binary {
		binary[i] = byte(rng.Uint32())
	}
	text := []byte(strings.Repeat("名前 \"quoted\" \x1b[31m \u009b tab\t é\n", 30000))
	for _, value := range [][]byte{binary, text, binary[:b64Piece], binary[:b64Piece+1], binary[:2*b64Piece-1]} {
		var rdbFile bytes.Buffer
		w, err := rdb.NewWriter(&rdbFile, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 11}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteString(rdb.KeyHeader{Key: []byte("big")}, value); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, errText := dumpSequential(rdbFile.Bytes())
		if errText != "<nil>" {
			t.Fatal(errText)
		}
		var line struct {
			Key      string  `json:"key"`
			Value    *string `json:"value"`
			ValueB64 []byte  `json:"value_b64"`
		}
		if err := json.Unmarshal(out, &line); err != nil {
			t.Fatalf("%d bytes: %v", len(value), err)
		}
		if !bytes.Equal(line.ValueB64, value) {
			t.Errorf("%d bytes: value_b64 decodes to %d bytes that differ", len(value), len(line.ValueB64))
		}
		if valid := utf8.Valid(value); (line.Value != nil) != valid || valid && *line.Value != string(value) {
			t.Errorf("%d bytes: value is not the text (valid UTF-8: %v)", len(value), valid)
		}
	}
}
