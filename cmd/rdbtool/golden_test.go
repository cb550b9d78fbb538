package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata from the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
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
	if !bytes.Equal(got, want) {
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
				t.Fatalf("%s differs at line %d:\n got %q\nwant %q\n(go test -run %s -update rewrites it after a deliberate change)", path, i+1, g, w, t.Name())
			}
		}
	}
}

// TestInfoTableGolden: info's tables, with sizes in binary units and
// ctime as a UTC date with its age (against a fixed clock), and with
// --bytes.
func TestInfoTableGolden(t *testing.T) {
	out, code := run(t, "info", "--format", "json", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	var fi fileInfo
	if err := json.Unmarshal([]byte(out), &fi); err != nil {
		t.Fatal(err)
	}
	fi.File = "main.rdb"
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	printInfo(&buf, fi, false, now)
	printInfo(&buf, fi, true, now)
	golden(t, "info-redis-7.4.1-main.txt", buf.Bytes())
	for _, want := range []string{"174 KiB,", "2026-11-24T22:03:24Z (10d 13h ago), 1795557804", "4.62 MiB, 4842872", " bytes, checksum"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("info table lacks %q", want)
		}
	}
}

// TestMemoryLargestGolden: the CSV of memory --largest on a corpus file.
func TestMemoryLargestGolden(t *testing.T) {
	out, code := run(t, "memory", "--largest", "8", sample)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	golden(t, "memory-largest-8.csv", []byte(out))
}
