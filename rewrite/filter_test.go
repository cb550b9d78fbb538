package rewrite

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

const sample = "../testdata/corpus/redis-7.4.1/main.rdb"

func TestParseFlagValues(t *testing.T) {
	types, err := ParseTypes([]string{"Hash,zset", "module"})
	if err != nil || !slices.Equal(types, []rdb.Type{rdb.TypeHash, rdb.TypeZSet, rdb.TypeModule}) {
		t.Errorf("ParseTypes: %v %v", types, err)
	}
	for i, name := range TypeNames {
		if rdb.Type(i+1).String() != name {
			t.Errorf("TypeNames[%d] = %s, rdb says %s", i, name, rdb.Type(i+1))
		}
	}
	dbs, err := ParseDBs([]string{"0,3", "15"})
	if err != nil || !slices.Equal(dbs, []int{0, 3, 15}) {
		t.Errorf("ParseDBs: %v %v", dbs, err)
	}
	m, err := ParseDBMap([]string{"1:0", "2:0,5:6"})
	if err != nil || len(m) != 3 || m.DB(1) != 0 || m.DB(2) != 0 || m.DB(5) != 6 || m.DB(7) != 7 {
		t.Errorf("ParseDBMap: %v %v", m, err)
	}
	sr, err := ParseSlots("100-200")
	if err != nil || *sr != (SlotRange{100, 200}) {
		t.Errorf("ParseSlots: %v %v", sr, err)
	}
	if sr, err := ParseSlots("7"); err != nil || *sr != (SlotRange{7, 7}) {
		t.Errorf("ParseSlots(7): %v %v", sr, err)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{second(ParseTypes([]string{"strng"})), `--type "strng": use string, list, set, zset, hash, stream, module`},
		{second(ParseDBs([]string{"-1"})), `--db "-1": use database numbers, 0 or more`},
		{second(ParseDBs([]string{"one"})), `--db "one"`},
		{second(ParseRegex("a(")), `--regex "a(": error parsing regexp`},
		{second(ParseDBMap([]string{"1-0"})), `--map-db "1-0": use FROM:TO`},
		{second(ParseDBMap([]string{"1:0", "1:2"})), `database 1 is mapped to both 0 and 2`},
		{second(ParseSlots("5-3")), `--slots "5-3"`},
		{second(ParseSlots("0-16384")), `--slots "0-16384"`},
		{second(SlotRanges(0)), `--slots-per-file 0: use 1 to 16384`},
	} {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("error %v, want %q", c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestKeyFilterKeep(t *testing.T) {
	key := func(db int, k string, typ rdb.Type, exp int64) *rdb.Record {
		return &rdb.Record{Kind: rdb.KindKey, DB: db, Key: []byte(k), Type: typ, ExpireAt: exp}
	}
	// "{user1}" hashes to slot 8106 whatever follows it.
	slot := rdb.KeySlot([]byte("{user1}:a"))
	for _, c := range []struct {
		name string
		f    *KeyFilter
		rec  *rdb.Record
		want bool
	}{
		{"nil keeps all", nil, key(3, "a", rdb.TypeHash, 0), true},
		{"zero keeps all", &KeyFilter{}, key(3, "a", rdb.TypeHash, 0), true},
		{"db in", &KeyFilter{DBs: []int{1, 3}}, key(3, "a", rdb.TypeHash, 0), true},
		{"db out", &KeyFilter{DBs: []int{1}}, key(3, "a", rdb.TypeHash, 0), false},
		{"glob", &KeyFilter{Match: "user:[0-9]*"}, key(0, "user:7:name", rdb.TypeString, 0), true},
		{"glob anchored", &KeyFilter{Match: "user:*"}, key(0, "xuser:7", rdb.TypeString, 0), false},
		{"glob escape", &KeyFilter{Match: `a\*`}, key(0, "ab", rdb.TypeString, 0), false},
		{"regex anywhere", &KeyFilter{Regex: regexp.MustCompile(`:\d+$`)}, key(0, "user:7", rdb.TypeString, 0), true},
		{"regex no", &KeyFilter{Regex: regexp.MustCompile(`^x`)}, key(0, "user:7", rdb.TypeString, 0), false},
		{"type in", &KeyFilter{Types: []rdb.Type{rdb.TypeZSet, rdb.TypeHash}}, key(0, "a", rdb.TypeHash, 0), true},
		{"type out", &KeyFilter{Types: []rdb.Type{rdb.TypeZSet}}, key(0, "a", rdb.TypeHash, 0), false},
		{"expired", &KeyFilter{ExpiredAt: 1000}, key(0, "a", rdb.TypeHash, 1000), false},
		{"not yet expired", &KeyFilter{ExpiredAt: 1000}, key(0, "a", rdb.TypeHash, 1001), true},
		{"no expiry", &KeyFilter{ExpiredAt: 1000}, key(0, "a", rdb.TypeHash, 0), true},
		{"slot in", &KeyFilter{Slots: &SlotRange{slot, slot}}, key(0, "{user1}:b", rdb.TypeHash, 0), true},
		{"slot out", &KeyFilter{Slots: &SlotRange{0, slot - 1}}, key(0, "{user1}:b", rdb.TypeHash, 0), false},
		{"all of them", &KeyFilter{DBs: []int{2}, Match: "*:7", Types: []rdb.Type{rdb.TypeSet}}, key(2, "u:7", rdb.TypeSet, 0), true},
		{"one fails", &KeyFilter{DBs: []int{2}, Match: "*:7", Types: []rdb.Type{rdb.TypeSet}}, key(2, "u:8", rdb.TypeSet, 0), false},
	} {
		if got := c.f.Keep(c.rec); got != c.want {
			t.Errorf("%s: Keep = %v, want %v", c.name, got, c.want)
		}
	}
	if (&KeyFilter{}).Filtering() || (*KeyFilter)(nil).Filtering() || !(&KeyFilter{MinBytes: 1}).Filtering() {
		t.Error("Filtering")
	}
}

func TestDBMapMerges(t *testing.T) {
	for _, c := range []struct {
		m    DBMap
		want []int
	}{
		{nil, nil},
		{DBMap{1: 2}, []int{2}},       // db 2's own keys and db 1's
		{DBMap{1: 2, 2: 3}, []int{3}}, // 2 moved away, but 3 keeps its own keys
		{DBMap{1: 0, 2: 0, 0: 5}, []int{0, 5}},
		{DBMap{4: 4}, nil},
	} {
		var got []int
		for db := range c.m.Merges() {
			got = append(got, db)
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("%v: merges %v, want %v", c.m, got, c.want)
		}
	}
}

// TestFindBigKeys: the keys FindBigKeys finds are those the analyze
// estimate puts at MinBytes or more, among those the rest of the filter
// keeps.
func TestFindBigKeys(t *testing.T) {
	open := func(int) (*rdb.Reader, io.Closer, error) {
		f, err := os.Open(sample)
		return rdb.NewReader(f), f, err
	}
	all := map[string]uint64{}
	r, c, _ := open(0)
	if _, err := analyze.ScanKeys(context.Background(), r, analyze.Options{}, func(k *analyze.Key) error {
		all[string(rune('0'+k.DB))+"/"+string(k.Key)] = k.Bytes
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, f := range []*KeyFilter{{MinBytes: 500}, {MinBytes: 200, Types: []rdb.Type{rdb.TypeString}}} {
		if err := FindBigKeys(context.Background(), f, 1, open, analyze.Options{}); err != nil {
			t.Fatal(err)
		}
		want := 0
		r, c, _ := open(0)
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			big := all[string(rune('0'+rec.DB))+"/"+string(rec.Key)] >= f.MinBytes && (f.Types == nil || rec.Type == f.Types[0])
			if big {
				want++
			}
			if f.Keep(rec) != big {
				t.Errorf("MinBytes %d: Keep(%q) = %v, estimate %d", f.MinBytes, rec.Key, !big, all[string(rune('0'+rec.DB))+"/"+string(rec.Key)])
			}
		}
		c.Close()
		if f.Big.Len() != want || want == 0 || want == len(all) {
			t.Errorf("MinBytes %d: %d big keys, want %d (of %d)", f.MinBytes, f.Big.Len(), want, len(all))
		}
	}
}

// TestSplitPutsEachKeyInItsSlotRange: every key of database 0 is in the
// file of its slot's range, and only there.
func TestSplitPutsEachKeyInItsSlotRange(t *testing.T) {
	in, err := os.Open(sample)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ranges, _ := SlotRanges(5000) // 0-4999 ... 15000-16383
	outs := make([]io.Writer, len(ranges))
	bufs := make([]*bytes.Buffer, len(ranges))
	for i := range outs {
		bufs[i] = new(bytes.Buffer)
		outs[i] = bufs[i]
	}
	wo := rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 12}}
	if _, err := Split(context.Background(), rdb.NewReader(in), nil, wo, ConvertOptions{Filter: &KeyFilter{DBs: []int{0}}}, ranges, outs); err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, b := range bufs {
		r := rdb.NewReader(b)
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			n++
			if s := rdb.KeySlot(rec.Key); rec.DB != 0 || s < ranges[i].First || s > ranges[i].Last {
				t.Errorf("%q (slot %d, db %d) in the file of %v", rec.Key, s, rec.DB, ranges[i])
			}
		}
	}
	if n != 79 { // db 0 of the file (meta.json: keys=79)
		t.Errorf("%d keys in the files, want 79", n)
	}
	// Without --db or --map-db, a key of another database is refused.
	in.Seek(0, io.SeekStart)
	_, err = Split(context.Background(), rdb.NewReader(in), nil, wo, ConvertOptions{}, ranges, outs)
	if err == nil || !strings.Contains(err.Error(), "--map-db 1:0") {
		t.Errorf("keys of db 1: %v", err)
	}
}
