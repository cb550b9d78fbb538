package rdb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// records reads every non-key record of a file (skipping values).
func records(t *testing.T, path string) []rdb.Record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := rdb.NewReader(bytes.NewReader(data))
	var out []rdb.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if rec.Kind != rdb.KindKey {
			c := *rec
			c.AuxKey = append([]byte(nil), rec.AuxKey...)
			c.AuxValue = append([]byte(nil), rec.AuxValue...)
			out = append(out, c)
		}
	}
}

// TestNonKeyRecords checks functions, module aux data, slot info and aux
// fields against what the servers reported (meta.json).
func TestNonKeyRecords(t *testing.T) {
	checked := map[string]int{}
	for _, f := range corpustest.Files(t) {
		if f.Scenario() == "aof-preamble" {
			continue
		}
		meta := corpustest.Meta(t, f)
		recs := records(t, f.RDB)
		aux := map[string]string{}
		var libs []string
		var moduleAux []rdb.Record
		slots := map[int]uint64{}
		for _, rec := range recs {
			switch rec.Kind {
			case rdb.KindAux:
				aux[string(rec.AuxKey)] = string(rec.AuxValue)
			case rdb.KindFunction:
				libs = append(libs, string(rec.Function))
			case rdb.KindModuleAux:
				moduleAux = append(moduleAux, rec)
			case rdb.KindSlotInfo:
				slots[rec.Slot] = rec.SlotKeys
			}
		}
		// redis-ver (3.2+ writes aux fields) must name the server version.
		if v, ok := aux["redis-ver"]; ok && !strings.HasPrefix(f.Server(), "valkey") {
			if "redis-"+v != f.Server() {
				t.Errorf("%s: redis-ver %q", f.Name, v)
			}
			checked["redis-ver"]++
		}
		if fl, ok := meta["function_list"].([]any); ok {
			var want []string
			for _, lib := range fl {
				l := lib.([]any)
				for i := 0; i+1 < len(l); i += 2 {
					if l[i] == "library_code" {
						want = append(want, l[i+1].(string))
					}
				}
			}
			if fmt.Sprint(libs) != fmt.Sprint(want) {
				t.Errorf("%s: function libraries %q, want %q", f.Name, libs, want)
			}
			checked["functions"] += len(want)
		}
		if f.Scenario() == "module" && f.Server() != "redis-4.0.14" {
			// testrdb stores its aux data before and after the keyspace.
			whens := map[uint64]bool{}
			for _, m := range moduleAux {
				if m.Module.Name != "test__rdb" {
					t.Errorf("%s: module aux from %q", f.Name, m.Module.Name)
				}
				whens[m.When] = true
				ma := meta["module_aux"].(map[string]any)
				if !bytes.Contains(m.ModuleAux, []byte(ma["testrdb.get.before"].(string))) && !bytes.Contains(m.ModuleAux, []byte(ma["testrdb.get.after"].(string))) {
					t.Errorf("%s: module aux payload %q holds neither recorded string", f.Name, m.ModuleAux)
				}
			}
			if len(moduleAux) != 2 || !whens[1] || !whens[2] {
				t.Errorf("%s: %d module aux records (whens %v), want one before and one after the keyspace", f.Name, len(moduleAux), whens)
			}
			checked["module-aux"] += len(moduleAux)
		}
		if counts, ok := meta["slot_key_counts"].([]any); ok && strings.HasPrefix(f.Server(), "redis-") {
			for _, c := range counts {
				p := c.([]any)
				slot, n := int(p[0].(float64)), uint64(p[1].(float64))
				if slots[slot] != n {
					t.Errorf("%s: slot %d has %d keys in slot info, CLUSTER COUNTKEYSINSLOT said %d", f.Name, slot, slots[slot], n)
				}
			}
			if len(slots) != len(counts) {
				t.Errorf("%s: %d slot-info records, %d slots with keys", f.Name, len(slots), len(counts))
			}
			checked["slot-info"] += len(slots)
		}
	}
	t.Logf("checked: %v", checked)
	for _, k := range []string{"redis-ver", "functions", "module-aux", "slot-info"} {
		if checked[k] == 0 {
			t.Errorf("no %s records were checked", k)
		}
	}
}

// build assembles an RDB file from parts and appends a valid checksum.
func build(version string, parts ...[]byte) []byte {
	b := []byte(version)
	for _, p := range parts {
		b = append(b, p...)
	}
	b = append(b, 0xFF)
	return binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
}

func str(s string) []byte { return append([]byte{byte(len(s))}, s...) }

func TestFunctionPreRelease(t *testing.T) {
	// Opcode 246 as Redis 7.0 release candidates wrote it: name, engine,
	// a description flag and description, then the code.
	rec246 := append([]byte{0xF6}, str("mylib")...)
	rec246 = append(rec246, str("LUA")...)
	rec246 = append(rec246, 1)
	rec246 = append(rec246, str("a library")...)
	rec246 = append(rec246, str("return 1")...)
	r := rdb.NewReader(bytes.NewReader(build("REDIS0010", rec246)))
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != rdb.KindFunction || string(rec.FunctionName) != "mylib" || string(rec.FunctionEngine) != "LUA" || string(rec.Function) != "return 1" {
		t.Fatalf("got %v %q %q %q", rec.Kind, rec.FunctionName, rec.FunctionEngine, rec.Function)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestValkeySlotImport(t *testing.T) {
	name := strings.Repeat("a", 40)
	imp := append([]byte{0xF3}, str(name)...)
	imp = append(imp, 2, 0, 10, 0x7F, 0xFF, 0x7F, 0xFF) // ranges 0-10 and 16383-16383 (14-bit lengths)
	r := rdb.NewReader(bytes.NewReader(build("VALKEY080", imp)))
	rec, err := r.Next()
	if err != nil {
		t.Fatal(err)
	}
	if rec.Kind != rdb.KindSlotImport || string(rec.SlotImportJob) != name || fmt.Sprint(rec.SlotRanges) != "[[0 10] [16383 16383]]" {
		t.Fatalf("got %v %q %v", rec.Kind, rec.SlotImportJob, rec.SlotRanges)
	}
	// The same byte in a Redis file is key metadata, which must precede a key.
	r = rdb.NewReader(bytes.NewReader(build("REDIS0013", imp)))
	if _, err := r.Next(); err == nil {
		t.Fatal("opcode 243 read as slot import in a Redis file")
	}
}

func TestVersionErrors(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   error
		text   string
	}{
		{"REDIS0014", rdb.ErrUnsupportedVersion, "RDB version 14"},
		{"VALKEY081", rdb.ErrUnsupportedVersion, "Valkey RDB version 81"},
		{"REDIX0011", rdb.ErrCorrupt, "not an RDB file"},
		{"REDIS00x1", rdb.ErrCorrupt, "four digits"},
	} {
		_, err := rdb.NewReader(strings.NewReader(tc.header + "\xff")).Next()
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v", tc.header, err)
		}
	}
	// With AllowNewerVersions a file in a known layout reads.
	r := rdb.NewReader(bytes.NewReader(build("REDIS0014", []byte{0, 1, 'k'}, str("v"))), rdb.AllowNewerVersions())
	rec, err := r.Next()
	if err != nil || string(rec.Key) != "k" {
		t.Fatalf("newer version: %v %v", rec, err)
	}
	if v, err := r.ReadString(); err != nil || string(v) != "v" {
		t.Fatalf("value %q %v", v, err)
	}
}

func TestResumeMidFile(t *testing.T) {
	data, err := os.ReadFile("../testdata/corpus/redis-7.0.15/lfu.rdb")
	if err != nil {
		t.Fatal(err)
	}
	// Note where each key starts, then resume at the third key.
	r := rdb.NewReader(bytes.NewReader(data))
	var offsets []int64
	var keys []string
	db := 0
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			offsets = append(offsets, rec.Offset)
			keys = append(keys, string(rec.Key))
			if len(offsets) == 3 {
				db = rec.DB
			}
		}
	}
	off := offsets[2]
	rr := rdb.NewReader(bytes.NewReader(data[off:]), rdb.Resume(rdb.DialectRedis, 10, db, off))
	var got []string
	for {
		rec, err := rr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			if len(got) == 0 && rec.Offset != off {
				t.Errorf("first resumed key at offset %d, want %d", rec.Offset, off)
			}
			got = append(got, string(rec.Key))
			if err := rr.VerifyValue(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(keys[2:]) {
		t.Errorf("resumed keys %v, want %v", got, keys[2:])
	}
	if st, _ := rr.Checksum(); st != rdb.ChecksumSkipped {
		t.Errorf("checksum status %v after resuming", st)
	}
}
