package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// TestCheckRepeatedKey: a file (written by redis-server 7.0.15) with one
// key record repeated is invalid, exit 1, with the repeat as its only
// problem: nothing unreadable, nothing lost.
func TestCheckRepeatedKey(t *testing.T) {
	data, err := os.ReadFile("../../salvage/testdata/repeat-base-7.0.15.rdb")
	if err != nil {
		t.Fatal(err)
	}
	rec := []byte("\x00\x06dupkey\x02v1")
	after := []byte("\x00\x08key:1000\x0avalue-1000")
	first, at := bytes.Index(data, rec), bytes.Index(data, after)
	if first < 0 || at < 0 {
		t.Fatal("records not found in the base file")
	}
	at += len(after)
	bad := append(append(append([]byte(nil), data[:at]...), rec...), data[at:]...)
	binary.LittleEndian.PutUint64(bad[len(bad)-8:], rdb.CRC64(0, bad[:len(bad)-8]))
	p := filepath.Join(t.TempDir(), "repeat.rdb")
	if err := os.WriteFile(p, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []string{"32M", "1M"} {
		out, code := run(t, "check", "--mem-limit", limit, p)
		if code != 1 {
			t.Fatalf("--mem-limit %s: exit %d, want 1: %s", limit, code, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		wantLine := "offset " + itoa(at) + ": duplicate-key db 0 key \"dupkey\": this key was already read in this database, in the record at offset " + itoa(first)
		if !strings.Contains(lines[0], wantLine) {
			t.Errorf("--mem-limit %s: first line %q, want %q", limit, lines[0], wantLine)
		}
		for _, bad := range []string{"damaged", "key-lost", "unknown", "unreadable bytes"} {
			if strings.Contains(out, bad) {
				t.Errorf("--mem-limit %s: output mentions %q:\n%s", limit, bad, out)
			}
		}
		if !strings.Contains(out, "INVALID: 1 repeated keys") || !strings.Contains(out, "db 0: 2006 keys intact (1 with expiry), 0 lost") {
			t.Errorf("--mem-limit %s: summary:\n%s", limit, out)
		}
	}
}

// TestCheckCompressedNotRDBFailsAtOnce: a gzip of zeros is refused from its
// first bytes, without decompressing the rest to a temporary file.
func TestCheckCompressedNotRDBFailsAtOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "zeros.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	zeros := make([]byte, 1<<20)
	for i := 0; i < 512; i++ { // 512 MiB decompressed
		zw.Write(zeros)
	}
	zw.Close()
	f.Close()
	start := time.Now()
	out, code := run(t, "check", p)
	took := time.Since(start)
	if code != 2 || !strings.Contains(out, "gzip-compressed content does not start with an RDB header") {
		t.Fatalf("exit %d: %s", code, out)
	}
	// Decompressing 512 MiB takes seconds; looking at the first bytes, milliseconds.
	if took > time.Second {
		t.Errorf("took %v to refuse it", took)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
