package rdb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"

	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// keydbFile is the layout KeyDB's rdbSaveKeyValuePair (src/rdb.cpp)
// writes on an active replica: per key, the expiry, then an aux field
// "mvcc-tstamp", then type, key and value; subkey expiries follow a key as
// "keydb-subexpire-key"/"keydb-subexpire-when" aux fields. The header and
// aux fields are those of rdbSaveInfoAuxFields (RDB 9, redis-ver is
// KeyDB's version, "repl-masters" on a multi-master replica).
func keydbFile() []byte {
	str := func(b []byte, s string) []byte { return append(append(b, byte(len(s))), s...) }
	aux := func(b []byte, k, v string) []byte { return str(str(append(b, 0xFA), k), v) }
	b := []byte("REDIS0009")
	b = aux(b, "redis-ver", "6.3.4")
	b = aux(b, "redis-bits", "64")
	b = aux(b, "ctime", "1733400000")
	b = aux(b, "used-mem", "2226936")
	b = aux(b, "repl-stream-db", "0")
	b = aux(b, "repl-id", "9e3b6f0c2b1c4e9d8a7f6e5d4c3b2a1908f7e6d5")
	b = aux(b, "repl-offset", "1234")
	b = aux(b, "repl-masters", "")
	b = aux(b, "aof-preamble", "0")
	b = append(b, 0xFE, 0x00, 0xFB, 0x03, 0x01)
	// A key with a TTL: the timestamp sits between the expiry and the value.
	b = append(b, 0xFC)
	b = binary.LittleEndian.AppendUint64(b, 4102444800000)
	b = aux(b, "mvcc-tstamp", "1733400000123456")
	b = str(str(append(b, 0x00), "session"), "abc")
	// A key without one.
	b = aux(b, "mvcc-tstamp", "1733400000223456")
	b = str(str(append(b, 0x00), "plain"), "xyz")
	// A set (type 2) with a subkey expiry on one member.
	b = aux(b, "mvcc-tstamp", "1733400000323456")
	b = str(append(b, 0x02), "setky")
	b = str(str(append(b, 0x02), "m1"), "m2")
	b = aux(b, "keydb-subexpire-key", "m1")
	b = aux(b, "keydb-subexpire-when", "4102444800000")
	b = append(b, 0xFF)
	return binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
}

const keydbPath = "testdata/keydb-active-replica.rdb"

// TestKeyDBFileIsCurrent keeps the committed file what keydbFile builds
// (the command-line tests read it).
func TestKeyDBFileIsCurrent(t *testing.T) {
	data, err := os.ReadFile(keydbPath)
	if os.Getenv("RDBTOOL_WRITE_TESTDATA") != "" {
		os.MkdirAll(filepath.Dir(keydbPath), 0o755)
		os.WriteFile(keydbPath, keydbFile(), 0o644)
		return
	}
	if err != nil || !bytes.Equal(data, keydbFile()) {
		t.Fatalf("%s is not what keydbFile builds (%v); RDBTOOL_WRITE_TESTDATA=1 rewrites it", keydbPath, err)
	}
}

func TestReadKeyDBTimestamps(t *testing.T) {
	r := rdb.NewReader(bytes.NewReader(keydbFile()))
	type key struct {
		name   string
		exp    int64
		ts     uint64
		offset int64
	}
	var got []key
	var aux []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case rdb.KindKey:
			got = append(got, key{string(rec.Key), rec.ExpireAt, rec.MVCCTimestamp, rec.Offset})
			if err := r.VerifyValue(); err != nil {
				t.Fatal(err)
			}
		case rdb.KindAux:
			aux = append(aux, string(rec.AuxKey))
		}
	}
	want := []key{{"session", 4102444800000, 1733400000123456, 0}, {"plain", 0, 1733400000223456, 0}, {"setky", 0, 1733400000323456, 0}}
	if len(got) != len(want) {
		t.Fatalf("keys %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].name != want[i].name || got[i].exp != want[i].exp || got[i].ts != want[i].ts {
			t.Errorf("key %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if !r.KeyDB() {
		t.Error("KeyDB() is false after KeyDB's aux fields")
	}
	if st, _ := r.Checksum(); st != rdb.ChecksumVerified {
		t.Errorf("checksum %s", st)
	}
	// mvcc-tstamp is part of the key records, not an aux record; the
	// subkey expiries stay readable aux fields.
	for _, a := range aux {
		if a == "mvcc-tstamp" {
			t.Error("mvcc-tstamp read as an aux record")
		}
	}
	if aux[len(aux)-1] != "keydb-subexpire-when" {
		t.Errorf("aux fields %q", aux)
	}
}

func TestKeyDBCronRefusedByName(t *testing.T) {
	data := keydbFile()
	// A type-64 (KEYDB.CRON) key where the first string key's type is.
	i := bytes.Index(data, []byte("\x00\x07session"))
	bad := append([]byte(nil), data...)
	bad[i] = 64
	r := rdb.NewReader(bytes.NewReader(bad))
	var err error
	for err == nil {
		_, err = r.Next()
	}
	var re *rdb.Error
	if !errors.As(err, &re) || re.Offset != int64(i) || !bytes.Contains([]byte(re.What), []byte("KeyDB cron job")) {
		t.Fatalf("error %v, want the KeyDB cron job named at offset %d", err, i)
	}
}
