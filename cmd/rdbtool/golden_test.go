package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/golden"
)

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
	golden.Check(t, "info-redis-7.4.1-main.txt", buf.Bytes())
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
	golden.Check(t, "memory-largest-8.csv", []byte(out))
}
