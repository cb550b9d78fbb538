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

	"github.com/rdbtool/rdbtool/internal/corpustest"
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

// TestSlotInfoShown: librdb's cluster_slot_info.rdb holds one slot-info
// record (slot 7638, 1 key, 0 expires, per librdb's own JSON for it).
func TestSlotInfoShown(t *testing.T) {
	const f = "../../testdata/corpus-thirdparty/librdb/cluster_slot_info.rdb"
	out, code := run(t, "info", f)
	if code != 0 || !strings.Contains(out, "cluster slot info: 1 slots, 1 keys, 0 with expiry: slot 7638 1/0") {
		t.Errorf("info: exit %d:\n%s", code, out)
	}
	out, code = run(t, "info", "--format", "json", f)
	if code != 0 || !strings.Contains(out, `"slots": [
    {
      "slot": 7638,
      "keys": 1,
      "expires": 0
    }
  ]`) {
		t.Errorf("info json: exit %d:\n%s", code, out)
	}
	out, code = run(t, "dump", f)
	if code != 0 || !strings.HasPrefix(out, `{"slot_info":{"db":0,"slot":7638,"keys":1,"expires":0}}`+"\n") {
		t.Errorf("dump: exit %d:\n%s", code, out)
	}
}

// TestKeyDBFile: a file laid out as KeyDB's rdb.cpp writes it on an active
// replica (see rdb/keydb_test.go) is read whole: dialect keydb, keys with
// their TTLs and timestamps.
func TestKeyDBFile(t *testing.T) {
	const f = "../../rdb/testdata/keydb-active-replica.rdb"
	out, code := run(t, "info", "--format", "json", f)
	if code != 0 || !strings.Contains(out, `"dialect": "keydb"`) {
		t.Errorf("info: exit %d:\n%s", code, out)
	}
	out, code = run(t, "dump", f)
	want := `{"db":0,"key":"session","key_b64":"c2Vzc2lvbg==","type":"string","encoding":"embstr","expire_at_ms":4102444800000,"mvcc_tstamp":1733400000123456,"value":"abc","value_b64":"YWJj"}`
	if code != 0 || !strings.HasPrefix(out, want+"\n") || strings.Count(out, "mvcc_tstamp") != 3 {
		t.Errorf("dump: exit %d:\n%s", code, out)
	}
	for _, jobs := range []string{"1", "2"} {
		if out, code := run(t, "check", "--jobs", jobs, f); code != 0 || !strings.Contains(out, "ok, 3 keys, keydb RDB 9,") {
			t.Errorf("check --jobs %s: exit %d:\n%s", jobs, code, out)
		}
	}
}

// TestImpossibleIntsetIsDamaged: an intset claiming 2^31 members in 16
// bytes is a damaged key in analyze, memory and check alike, never a clean
// set of 2,147,483,648 elements.
func TestImpossibleIntsetIsDamaged(t *testing.T) {
	b := []byte("REDIS0010\xfe\x00\x0b\x03big\x10")
	b = binary.LittleEndian.AppendUint32(b, 2)
	b = binary.LittleEndian.AppendUint32(b, 1<<31)
	b = append(b, 1, 0, 2, 0, 3, 0, 4, 0, 0xFF)
	b = binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
	p := filepath.Join(t.TempDir(), "intset.rdb")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{{"analyze", p}, {"analyze", "--format", "json", p}, {"memory", p}, {"check", p}} {
		out, code := runMsg(t, c...)
		if code == 0 || !strings.Contains(out, `key "big"`) || !strings.Contains(out, "intset") {
			t.Errorf("%v: exit %d:\n%s", c, code, out)
		}
		if strings.Contains(out, "2,147,483,648") {
			t.Errorf("%v reports the claimed count as elements:\n%s", c, out)
		}
	}
}

// TestCheckTrailingBytesAfterTrailer: redis-rdb-tools' redis_40_with_module.rdb
// has 40 bytes after its end-of-file trailer (checksum disabled). Redis
// reads nothing after the trailer (rdbLoad, redis-check-rdb), so the file
// is clean with a note, on either path.
func TestCheckTrailingBytesAfterTrailer(t *testing.T) {
	const f = "../../testdata/corpus-thirdparty/redis-rdb-tools/redis_40_with_module.rdb"
	for _, jobs := range []string{"1", "2"} {
		out, code := run(t, "check", "--jobs", jobs, f)
		if code != 0 || !strings.Contains(out, "note: offset 248-288 (40 bytes): trailing-bytes") || !strings.Contains(out, "ok, 2 keys, redis RDB 8, checksum disabled (1 notes)") {
			t.Errorf("check --jobs %s: exit %d:\n%s", jobs, code, out)
		}
	}
}

// TestCheckJobsSameOutput: check on several goroutines (the default) prints
// exactly what --jobs 1 prints, for every corpus file written by a real server, files
// with notes (bytes after the trailer, KeyDB), and damaged copies.
func TestCheckJobsSameOutput(t *testing.T) {
	files := []string{
		"../../testdata/corpus-thirdparty/redis-rdb-tools/redis_40_with_module.rdb",
		"../../rdb/testdata/keydb-active-replica.rdb",
	}
	for _, f := range corpustest.Files(t) {
		files = append(files, f.RDB)
	}
	data, err := os.ReadFile(filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.4.1", "main.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, at := range []int{len(data) / 3, len(data) / 2} {
		d := bytes.Clone(data)
		clear(d[at : at+200])
		p := filepath.Join(dir, "zeroed"+strconv.Itoa(i)+".rdb")
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for _, f := range files {
		one, code1 := run(t, "check", "--jobs", "1", f)
		// The default is runtime.GOMAXPROCS(0); 3 takes the parallel path
		// on any machine.
		all, code := run(t, "check", "--jobs", "3", f)
		if one != all || code1 != code {
			t.Errorf("%s: --jobs 1 (exit %d):\n%s\n--jobs 3 (exit %d):\n%s", f, code1, one, code, all)
		}
	}
}
