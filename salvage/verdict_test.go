package salvage

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// withChecksum returns data (ending in 0xFF and a CRC-64) with its trailer
// recomputed.
func withChecksum(data []byte) []byte {
	out := append([]byte(nil), data...)
	binary.LittleEndian.PutUint64(out[len(out)-8:], rdb.CRC64(0, out[:len(out)-8]))
	return out
}

// spliceRepeat inserts a copy of the record of key (db 0) right after the
// record of after, and returns the file with a fresh checksum, the copied
// record's offset in it, and the original record's offset.
func spliceRepeat(t *testing.T, data []byte, key, after string) (out []byte, repeatAt, firstAt int64) {
	t.Helper()
	keys := readKeys(t, data)
	k, ok := keys[dbKey(0, []byte(key))]
	a, ok2 := keys[dbKey(0, []byte(after))]
	if !ok || !ok2 {
		t.Fatalf("no key %q or %q in the base file", key, after)
	}
	at := a.off + a.size
	out = append(append(append([]byte(nil), data[:at]...), k.raw...), data[at:]...)
	return withChecksum(out), at, k.off
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRepeatedKeyIsTheOnlyProblem(t *testing.T) {
	base := readTestdata(t, "repeat-base-7.0.15.rdb")
	want := readKeys(t, base)
	// The repeat sits between intact records: every record after it must
	// still be read.
	data, repeatAt, firstAt := spliceRepeat(t, base, "dupkey", "key:1000")
	for _, memLimit := range []int64{0, 1} { // 1: the smallest table, spilled every 768 keys
		res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{MemLimit: memLimit, MaxProblems: -1})
		if err != nil {
			t.Fatal(err)
		}
		if res.ProblemCount != 1 || len(res.Problems) != 1 {
			t.Fatalf("mem limit %d: %d problems, want only the repeat: %v", memLimit, res.ProblemCount, res.Problems)
		}
		p := res.Problems[0]
		if p.Kind != DuplicateKey || p.Offset != repeatAt || string(p.Key) != "dupkey" || p.DB != 0 {
			t.Fatalf("mem limit %d: problem %v, want duplicate-key db 0 \"dupkey\" at %d", memLimit, p, repeatAt)
		}
		if !strings.Contains(p.What, "offset "+itoa(firstAt)) {
			t.Errorf("mem limit %d: %q does not name the first record's offset %d", memLimit, p.What, firstAt)
		}
		if len(res.Lost) != 0 || len(res.Damaged) != 0 || res.Keys != int64(len(want)) || res.Duplicates != 1 {
			t.Errorf("mem limit %d: %d lost, %d damaged ranges, %d keys intact (want 0, 0, %d), %d duplicates",
				memLimit, len(res.Lost), len(res.Damaged), res.Keys, len(want), res.Duplicates)
		}
	}
	// Redis refuses the file; the salvaged one (the first record kept) loads.
	p := filepath.Join(t.TempDir(), "repeat.rdb")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if refused, log := redistest.Refuses(t, p); !refused || !strings.Contains(log, "uplicate") {
		t.Fatalf("redis-server did not refuse the file with a repeated key; log:\n%s", log)
	}
	out, res := salvageBytes(t, data, Options{})
	if out == nil || res.Keys != int64(len(want)) {
		t.Fatalf("salvage kept %d keys, want %d", res.Keys, len(want))
	}
	got := readKeys(t, out)
	for k, w := range want {
		if got[k].raw != w.raw {
			t.Errorf("salvaged key %q differs from the original record", k)
		}
	}
	sp := filepath.Join(t.TempDir(), "salvaged.rdb")
	if err := os.WriteFile(sp, out, 0o644); err != nil {
		t.Fatal(err)
	}
	loadInRedis(t, sp, out)
}

// TestRepeatFoundAfterSpilling: a repeat of a key read thousands of keys
// earlier, when its digest is on disk, is reported at the end.
func TestRepeatFoundAfterSpilling(t *testing.T) {
	base := readTestdata(t, "repeat-base-7.0.15.rdb")
	data, repeatAt, _ := spliceRepeat(t, base, "key:3", "withttl")
	res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{MemLimit: 1, MaxProblems: -1})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProblemCount != 1 || res.Problems[0].Kind != DuplicateKey || res.Problems[0].Offset != repeatAt || string(res.Problems[0].Key) != "key:3" || res.Problems[0].DB != 0 {
		t.Fatalf("problems %v, want one duplicate-key db 0 \"key:3\" at %d", res.Problems, repeatAt)
	}
}

func TestEmptyCollectionsAreNotes(t *testing.T) {
	data := readTestdata(t, "corrupt_empty_keys.rdb")
	res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Clean() || len(res.Damaged) != 0 || len(res.Lost) != 0 {
		t.Fatalf("problems %v", res.Problems)
	}
	// Redis's own test expects these nine "skipping empty key" lines.
	want := []string{"set", "list_quicklist", "list_quicklist_empty_ziplist", "list_ziplist", "hash", "hash_ziplist", "zset", "zset_ziplist", "zset_listpack"}
	got := map[string]bool{}
	for _, n := range res.Notes {
		if n.Kind != EmptyCollection {
			t.Errorf("note %v, want only empty collections", n)
		}
		got[string(n.Key)] = true
	}
	for _, k := range want {
		if !got[k] {
			t.Errorf("no note for empty key %q (notes: %v)", k, res.Notes)
		}
	}
	if res.NoteCount != len(want) {
		t.Errorf("%d notes, want %d", res.NoteCount, len(want))
	}
	// And the server agrees: it loads the file, skipping all nine.
	srv := redistest.Start(t, filepath.Join("testdata", "corrupt_empty_keys.rdb"))
	if n := redistest.MustDo(t, srv, "DBSIZE"); n != int64(0) {
		t.Errorf("redis-server kept %v keys", n)
	}
	if !strings.Contains(srv.Log(), "empty keys skipped: 9") {
		t.Errorf("redis-server log does not say it skipped 9 empty keys:\n%s", srv.Log())
	}
}

func TestStreamLengthIsANote(t *testing.T) {
	data := readTestdata(t, "stream_listpacks_1.rdb")
	res, err := Scan(bytes.NewReader(data), int64(len(data)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Clean() || res.Keys != 5 || len(res.Lost) != 0 {
		t.Fatalf("%d keys, problems %v", res.Keys, res.Problems)
	}
	if res.NoteCount != 1 || res.Notes[0].Kind != StreamLength || string(res.Notes[0].Key) != "trim" {
		t.Fatalf("notes %v, want one stream-length note for \"trim\"", res.Notes)
	}
	// The server loads it with the stored length.
	srv := redistest.Start(t, filepath.Join("testdata", "stream_listpacks_1.rdb"))
	if n := redistest.MustDo(t, srv, "XLEN", "trim"); n != int64(120) {
		t.Errorf("XLEN trim = %v, want 120", n)
	}
	if got := len(redistest.AsList(redistest.MustDo(t, srv, "XRANGE", "trim", "-", "+"))); got != 118 {
		t.Errorf("XRANGE trim holds %d entries, want 118", got)
	}
	if out, err := redistest.CheckRDB(t, filepath.Join("testdata", "stream_listpacks_1.rdb")); err != nil {
		t.Errorf("redis-check-rdb: %v\n%s", err, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestLostKeysMatchTheOriginal zeroes 4 KiB at several places of files
// written by redis-server 7.0.15 and compares what salvage reports lost
// with a diff of the key sets of the original and the salvaged file: every
// key named lost is gone, and the keys gone without a name are within the
// reported bound (exactly its count when the bound is exact).
func TestLostKeysMatchTheOriginal(t *testing.T) {
	for _, name := range []string{"testdata/repeat-base-7.0.15.rdb", "../testdata/corpus/redis-7.0.15/main.rdb"} {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		orig := readKeys(t, data)
		exact := 0
		for off := 12000; off+4096 < len(data)-9; off += 7919 {
			bad := append([]byte(nil), data...)
			clear(bad[off : off+4096])
			out, res := salvageBytes(t, bad, Options{})
			if out == nil {
				t.Fatalf("%s @%d: nothing salvaged", name, off)
			}
			got := readKeys(t, out)
			named := map[string]bool{}
			for _, l := range res.Lost {
				k := dbKey(l.DB, l.Key)
				if _, ok := orig[k]; ok {
					named[k] = true
					if _, kept := got[k]; kept {
						t.Errorf("%s @%d: %q reported lost, but the salvaged file has it", name, off, k)
					}
				}
			}
			var unnamed int64
			for k := range orig {
				if _, kept := got[k]; !kept && !named[k] {
					unnamed++
				}
			}
			h := res.Hidden
			if unnamed < h.Min || unnamed > h.Max || h.Exact && unnamed != h.Min {
				t.Errorf("%s @%d: %d keys gone without a name; reported: %s", name, off, unnamed, h)
			}
			if h.Exact {
				exact++
			}
			t.Logf("%s @%d: %d gone: %d named, %d unnamed; %s", name, off, len(orig)-len(got), len(named), unnamed, h)
		}
		if exact == 0 && name != "testdata/repeat-base-7.0.15.rdb" {
			t.Errorf("%s: no exact count at any offset", name)
		}
	}
}

// TestTrailingBytesAfterAValidTrailer: Redis reads nothing after the
// checksum, so bytes after a trailer whose checksum holds are a note (the
// server loads the file and redis-check-rdb passes it), and after one whose
// checksum does not hold, a problem (both refuse it).
func TestTrailingBytesAfterAValidTrailer(t *testing.T) {
	base := readTestdata(t, "repeat-base-7.0.15.rdb")
	junk := []byte("6ce932509f837be39659508afae0e80443148d47")
	good := append(append([]byte(nil), base...), junk...)
	bad := append([]byte(nil), good...)
	bad[len(base)-1] ^= 0x40 // the checksum's last byte
	disabled := append([]byte(nil), good...)
	clear(disabled[len(base)-8 : len(base)])
	dir := t.TempDir()
	for _, c := range []struct {
		name   string
		data   []byte
		loads  bool
		status rdb.ChecksumStatus
	}{{"good", good, true, rdb.ChecksumVerified}, {"disabled", disabled, true, rdb.ChecksumDisabled}, {"bad", bad, false, rdb.ChecksumUnknown}} {
		res, err := Scan(bytes.NewReader(c.data), int64(len(c.data)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Clean() != c.loads || res.Checksum != c.status || res.LostCount != 0 || len(res.Damaged) != 0 {
			t.Errorf("%s: clean %v, checksum %s, %d lost, damaged %v; problems %v", c.name, res.Clean(), res.Checksum, res.LostCount, res.Damaged, res.Problems)
		}
		kinds := res.Problems
		if c.loads {
			kinds = res.Notes
		}
		if len(kinds) != 1 || kinds[0].Kind != Trailing || kinds[0].Offset != int64(len(base)) || kinds[0].End != int64(len(c.data)) {
			t.Errorf("%s: want one trailing-bytes entry at [%d, %d): problems %v, notes %v", c.name, len(base), len(c.data), res.Problems, res.Notes)
		}
		// What the real engines say of the same bytes.
		p := filepath.Join(dir, c.name+".rdb")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := redistest.CheckRDB(t, p)
		if (err == nil) != c.loads {
			t.Errorf("%s: redis-check-rdb: %v (want it to pass: %v)\n%s", c.name, err, c.loads, out)
		}
		if c.loads {
			srv := redistest.Start(t, p)
			for _, d := range res.DBs {
				redistest.MustDo(t, srv, "SELECT", d.DB)
				if n, ok := redistest.MustDo(t, srv, "DBSIZE").(int64); !ok || n != d.Keys {
					t.Errorf("%s: the server loaded %v keys in db %d, the scan read %d", c.name, n, d.DB, d.Keys)
				}
			}
		}
	}
}
