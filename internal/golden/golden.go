// Package golden compares a test's output with a golden file in the
// package's testdata directory, and rewrites the file when the tests run
// with -update (after a deliberate change of output).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// Check compares got with testdata/name and fails t at the first line
// that differs, or writes got there when the tests run with -update.
func Check(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update creates it)", err, t.Name())
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Fatalf("%s differs from the golden file at line %d:\n got %q\nwant %q\n(go test -run %s -update rewrites it after a deliberate change)", path, i+1, g, w, t.Name())
		}
	}
	// Only empty lines at the end differ.
	t.Fatalf("%s differs from the golden file in its last lines: got %d lines, want %d (go test -run %s -update rewrites it after a deliberate change)", path, len(gl), len(wl), t.Name())
}
