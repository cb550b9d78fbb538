package salvage

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// contentFile writes 20 small string keys and "pad", whose value repeats
// "abcd", uncompressed.
func contentFile(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, NoCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	w.SelectDB(0)
	for i := 0; i < 20; i++ {
		k := "k" + strconv.Itoa(i)
		if err := w.WriteString(rdb.KeyHeader{Key: []byte(k)}, []byte("value-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteString(rdb.KeyHeader{Key: []byte("pad")}, []byte(strings.Repeat("abcd", 64))); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestContentChangeVerdicts: bytes changed inside values' content, where
// only the checksum sees them. Where the change breaks a repeating pattern
// the checksum proves it and only its key is lost; elsewhere no key can be
// verified (or all are kept with KeepUnverified). Every problem reaches the
// Problem callback once, in the order of Result.Problems (the scan holds
// its callbacks until it knows whether the records show the damage).
func TestContentChangeVerdicts(t *testing.T) {
	clean := contentFile(t)
	pad := bytes.Index(clean, []byte("abcdabcd"))
	v3, v7 := bytes.Index(clean, []byte("value-k3")), bytes.Index(clean, []byte("value-k7"))
	if pad < 0 || v3 < 0 || v7 < 0 {
		t.Fatal("values not found in the file")
	}
	for _, c := range []struct {
		name      string
		at        []int
		keep      bool
		keys      int64
		lost      int64
		lostNamed string
	}{
		{"inside the pattern", []int{pad + 100, pad + 101}, false, 20, 1, "pad"},
		{"in two values", []int{v3 + 2, v7 + 2}, false, 0, 21, ""},
		{"in two values, kept unverified", []int{v3 + 2, v7 + 2}, true, 21, 0, ""},
	} {
		data := bytes.Clone(clean)
		for _, i := range c.at {
			data[i] ^= 0x01
		}
		var called []Problem
		res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{MaxProblems: -1, KeepUnverified: c.keep, Problem: func(p Problem) { called = append(called, p) }})
		if err != nil {
			t.Fatal(err)
		}
		if !res.ChecksumMismatch || res.Keys != c.keys || res.LostCount != c.lost {
			t.Errorf("%s: mismatch %v, %d keys, %d lost, want %d and %d; problems %v", c.name, res.ChecksumMismatch, res.Keys, res.LostCount, c.keys, c.lost, res.Problems)
		}
		if c.lostNamed != "" && (len(res.Lost) != 1 || string(res.Lost[0].Key) != c.lostNamed) {
			t.Errorf("%s: lost %v, want %q", c.name, res.Lost, c.lostNamed)
		}
		if len(called) != len(res.Problems) || len(called) != res.ProblemCount {
			t.Fatalf("%s: %d problems passed to the callback, %d in the result (count %d)", c.name, len(called), len(res.Problems), res.ProblemCount)
		}
		for i := range called {
			if called[i].String() != res.Problems[i].String() {
				t.Errorf("%s: problem %d: callback %s, result %s", c.name, i, called[i], res.Problems[i])
			}
		}
	}
}

// TestDeferredCallbacksOnStructuralDamage: when the records show the
// damage, the problems held back while the scan could not tell reach the
// callback once, first, in order.
func TestDeferredCallbacksOnStructuralDamage(t *testing.T) {
	data := contentFile(t)
	at := bytes.Index(data, []byte("value-k10"))
	clear(data[at-4 : at+40])
	var called []string
	res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{MaxProblems: -1, Problem: func(p Problem) { called = append(called, p.String()) }})
	if err != nil {
		t.Fatal(err)
	}
	if !res.ChecksumMismatch || len(res.Damaged) == 0 || res.Problems[0].Kind != Checksum {
		t.Fatalf("mismatch %v, damaged %v, problems %v", res.ChecksumMismatch, res.Damaged, res.Problems)
	}
	if len(called) != len(res.Problems) {
		t.Fatalf("%d problems passed to the callback, %d in the result", len(called), len(res.Problems))
	}
	for i := range called {
		if called[i] != res.Problems[i].String() {
			t.Errorf("problem %d: callback %s, result %s", i, called[i], res.Problems[i])
		}
	}
}
