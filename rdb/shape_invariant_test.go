package rdb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// impossibleIntsetFile is an RDB 10 file with one set whose intset header
// claims 2^31 members in a 16-byte blob.
func impossibleIntsetFile() []byte {
	b := []byte("REDIS0010")
	b = append(b, 0xFE, 0x00, 0x0B, 3, 'b', 'i', 'g', 16)
	b = binary.LittleEndian.AppendUint32(b, 2)     // 16-bit members
	b = binary.LittleEndian.AppendUint32(b, 1<<31) // claimed count
	b = append(b, 1, 0, 2, 0, 3, 0, 4, 0)
	b = append(b, 0xFF)
	return binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
}

func TestShapeRefusesImpossibleHeaders(t *testing.T) {
	lp := func(total uint32, count uint16, body ...byte) []byte {
		b := binary.LittleEndian.AppendUint32(nil, total)
		b = binary.LittleEndian.AppendUint16(b, count)
		return append(append(b, body...), 0xFF)
	}
	cases := []struct {
		name string
		typ  byte
		blob []byte
		want string
	}{
		{"intset count", 11, append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 2), 1<<31), 1, 0, 2, 0, 3, 0, 4, 0), "intset claims 2147483648 members"},
		{"intset encoding", 11, append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 3), 1), 1, 0, 0), "intset encoding 3"},
		{"listpack total", 16, lp(99, 1, 0x01, 0x01), "listpack header says 99 bytes"},
		{"listpack count", 16, lp(9, 60000, 0x01, 0x01), "listpack claims 60000 entries"},
	}
	for _, c := range cases {
		b := []byte("REDIS0010")
		b = append(b, 0xFE, 0x00, c.typ, 1, 'k', byte(len(c.blob)))
		b = append(append(b, c.blob...), 0xFF)
		b = binary.LittleEndian.AppendUint64(b, rdb.CRC64(0, b))
		r := rdb.NewReader(bytes.NewReader(b))
		rec := nextKey(t, r)
		_, err := r.ReadShape(rdb.ShapeOptions{})
		var re *rdb.Error
		if !errors.As(err, &re) || !errors.Is(err, rdb.ErrCorrupt) || !strings.Contains(re.What, c.want) || string(re.Key) != string(rec.Key) {
			t.Errorf("%s: ReadShape error %v, want %q for key %q", c.name, err, c.want, rec.Key)
		}
	}
	// And the full file.
	r := rdb.NewReader(bytes.NewReader(impossibleIntsetFile()))
	nextKey(t, r)
	if s, err := r.ReadShape(rdb.ShapeOptions{}); err == nil {
		t.Fatalf("a 16-byte intset of %d members read as a clean shape", s.Elements)
	}
}

func nextKey(t *testing.T, r *rdb.Reader) *rdb.Record {
	t.Helper()
	for {
		rec, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			return rec
		}
	}
}
