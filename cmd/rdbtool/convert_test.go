package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

const clusterSample = "../../testdata/corpus/redis-7.4.1/cluster.rdb"

// fileKey is one key of a file, its value in a form that does not depend
// on the encoding.
type fileKey struct {
	DB       int
	Key      string
	Type     rdb.Type
	ExpireAt int64
	Value    string
}

type fileContent struct {
	Version int
	Keys    map[string]fileKey // by db/key
}

// runMsg is run with the error main would print appended to the output.
func runMsg(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return out.String(), 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return out.String() + err.Error(), ee.code
	}
	return out.String() + err.Error(), 2
}

func dbKey(db int, key string) string { return fmt.Sprintf("%d/%s", db, key) }

// canonOptions leave out of the canonical value what a conversion may
// legitimately change.
type canonOptions struct {
	noFieldTTLs bool  // hash field TTLs are left out
	expiredAt   int64 // hash fields that expire by then are left out (with noFieldTTLs)
	noStreamMD  bool  // stream metadata other than entries and last ID is left out
}

func readFile(t *testing.T, data []byte, co canonOptions) fileContent {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data))
	fc := fileContent{Keys: map[string]fileKey{}}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading the output: %v", err)
		}
		fc.Version = r.Version()
		if rec.Kind != rdb.KindKey {
			continue
		}
		v, err := r.ReadValue()
		if err != nil {
			t.Fatalf("key %q: %v", rec.Key, err)
		}
		k := fileKey{DB: rec.DB, Key: string(rec.Key), Type: rec.Type, ExpireAt: rec.ExpireAt, Value: canon(v, co)}
		id := dbKey(rec.DB, k.Key)
		if _, dup := fc.Keys[id]; dup {
			t.Fatalf("key %s twice", id)
		}
		fc.Keys[id] = k
	}
	if st, _ := r.Checksum(); st != rdb.ChecksumVerified {
		t.Errorf("checksum %v", st)
	}
	return fc
}

func readPath(t *testing.T, path string, co canonOptions) fileContent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return readFile(t, data, co)
}

func canon(v *rdb.Value, co canonOptions) string {
	var parts []string
	sorted := true
	switch v.Type {
	case rdb.TypeString:
		return fmt.Sprintf("%q", v.String)
	case rdb.TypeList:
		sorted = false
		for _, it := range v.Items {
			parts = append(parts, fmt.Sprintf("%q", it))
		}
	case rdb.TypeSet:
		for _, it := range v.Items {
			parts = append(parts, fmt.Sprintf("%q", it))
		}
	case rdb.TypeZSet:
		for _, z := range v.ZSet {
			parts = append(parts, fmt.Sprintf("%q=%x", z.Member, math.Float64bits(z.Score)))
		}
	case rdb.TypeHash:
		for _, f := range v.Hash {
			if co.noFieldTTLs {
				if f.ExpireAt != 0 && f.ExpireAt <= co.expiredAt {
					continue
				}
				parts = append(parts, fmt.Sprintf("%q=%q", f.Field, f.Value))
				continue
			}
			parts = append(parts, fmt.Sprintf("%q=%q@%d", f.Field, f.Value, f.ExpireAt))
		}
	case rdb.TypeStream:
		sorted = false
		for _, e := range v.Stream.Entries {
			parts = append(parts, fmt.Sprintf("%s%q", e.ID, e.Fields))
		}
		parts = append(parts, "last="+v.Stream.LastID.String())
		if !co.noStreamMD {
			parts = append(parts, fmt.Sprintf("%+v", v.Stream.StreamInfo))
		}
	case rdb.TypeModule:
		return fmt.Sprintf("%s %x", v.Module.Name, v.Module.Raw)
	}
	if sorted {
		sort.Strings(parts)
	}
	return strings.Join(parts, ",")
}

// compareKeys checks that got holds exactly the keys of want that keep
// selects, moved to the database move gives, with the same values.
func compareKeys(t *testing.T, got, want fileContent, keep func(fileKey) bool, move func(int) int) {
	t.Helper()
	n := 0
	for _, w := range want.Keys {
		if !keep(w) {
			continue
		}
		n++
		db := w.DB
		if move != nil {
			db = move(db)
		}
		g, ok := got.Keys[dbKey(db, w.Key)]
		if !ok {
			t.Errorf("key %q of db %d missing from db %d of the output", w.Key, w.DB, db)
			continue
		}
		if g.Type != w.Type || g.ExpireAt != w.ExpireAt || g.Value != w.Value {
			t.Errorf("key %q: got %v exp %d %.200s\nwant %v exp %d %.200s", w.Key, g.Type, g.ExpireAt, g.Value, w.Type, w.ExpireAt, w.Value)
		}
	}
	if len(got.Keys) != n {
		t.Errorf("output has %d keys, want %d", len(got.Keys), n)
	}
	if n == 0 {
		t.Errorf("the filter kept nothing: a useless test")
	}
}

func TestConvertFilters(t *testing.T) {
	in := readPath(t, sample, canonOptions{})
	now := time.Now().UnixMilli()
	dir := t.TempDir()
	re := regexp.MustCompile(`^s1:db1:`)
	cases := []struct {
		name string
		args []string
		keep func(fileKey) bool
		move func(int) int
	}{
		{"all", nil, func(fileKey) bool { return true }, nil},
		{"db", []string{"--db", "1", "--db", "15"}, func(k fileKey) bool { return k.DB == 1 || k.DB == 15 }, nil},
		{"match", []string{"--match", "s1:ttl:*"}, func(k fileKey) bool { return strings.HasPrefix(k.Key, "s1:ttl:") }, nil},
		{"match-class", []string{"--match", "s1:[a-d]*"}, func(k fileKey) bool {
			return strings.HasPrefix(k.Key, "s1:") && len(k.Key) > 3 && k.Key[3] >= 'a' && k.Key[3] <= 'd'
		}, nil},
		{"regex", []string{"--regex", `^s1:db1:`}, func(k fileKey) bool { return re.MatchString(k.Key) }, nil},
		{"type", []string{"--type", "hash,zset"}, func(k fileKey) bool { return k.Type == rdb.TypeHash || k.Type == rdb.TypeZSet }, nil},
		{"type-db", []string{"--type", "string", "--db", "0"}, func(k fileKey) bool { return k.Type == rdb.TypeString && k.DB == 0 }, nil},
		{"map-db", []string{"--map-db", "15:3", "--map-db", "1:4"}, func(fileKey) bool { return true },
			func(db int) int { return map[int]int{0: 0, 1: 4, 15: 3}[db] }},
		{"map-db-merge", []string{"--map-db", "15:1"}, func(fileKey) bool { return true },
			func(db int) int { return map[int]int{0: 0, 1: 1, 15: 1}[db] }},
		{"drop-expired", []string{"--drop-expired"}, func(k fileKey) bool { return k.ExpireAt == 0 || k.ExpireAt > now+60_000 }, nil},
		{"slots", []string{"--slots", "0-8191"}, func(k fileKey) bool { return rdb.KeySlot([]byte(k.Key)) <= 8191 }, nil},
		{"slot", []string{"--slots", fmt.Sprint(rdb.KeySlot([]byte("s1:db1:hash")))}, func(k fileKey) bool {
			return rdb.KeySlot([]byte(k.Key)) == rdb.KeySlot([]byte("s1:db1:hash"))
		}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, c.name+".rdb")
			msg, code := runMsg(t, append([]string{"convert", sample, out}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			if !strings.Contains(msg, "keys written") {
				t.Errorf("no summary: %s", msg)
			}
			got := readPath(t, out, canonOptions{})
			if got.Version != 12 {
				t.Errorf("version %d, want the input's 12", got.Version)
			}
			keep := c.keep
			if c.name == "drop-expired" {
				// Keys expiring around now may go either way.
				keep = func(k fileKey) bool {
					if k.ExpireAt != 0 && k.ExpireAt > now-60_000 && k.ExpireAt <= now+60_000 {
						t.Skipf("key %q expires within a minute of now", k.Key)
					}
					return c.keep(k)
				}
				dropped := 0
				for _, k := range in.Keys {
					if !keep(k) {
						dropped++
					}
				}
				if dropped == 0 {
					t.Fatal("the sample has no expired key")
				}
			}
			compareKeys(t, got, in, keep, c.move)
		})
	}
}

// TestConvertTargets converts the 7.4 sample (RDB 12, with hash field
// TTLs and stream layout 3) for older servers.
func TestConvertTargets(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UnixMilli()
	for _, c := range []struct {
		args    []string
		version int
	}{
		{[]string{"--target-version", "10"}, 10},
		{[]string{"--target", "redis-7.0"}, 10},
		{[]string{"--target", "redis-6.2.16", "--drop-functions"}, 9},
		{[]string{"--target", "valkey-8.0"}, 11},
		{[]string{"--target-version", "12"}, 12},
	} {
		t.Run(strings.Join(c.args, "="), func(t *testing.T) {
			out := filepath.Join(dir, "out.rdb")
			args := append([]string{"convert", sample, out, "--drop-field-ttls", "--downgrade-streams"}, c.args...)
			msg, code := runMsg(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			co := canonOptions{noFieldTTLs: c.version < 12, expiredAt: now, noStreamMD: true}
			got := readPath(t, out, co)
			if got.Version != c.version {
				t.Errorf("version %d, want %d", got.Version, c.version)
			}
			want := readPath(t, sample, co)
			compareKeys(t, got, want, func(fileKey) bool { return true }, nil)
			// The sample's field TTLs pass in real time: once they have,
			// the fields are dropped as expired instead.
			if c.version < 12 && !droppedFieldsTTL.MatchString(msg) {
				t.Errorf("the summary does not say field TTLs were dropped: %s", msg)
			}
		})
	}
	if _, code := runMsg(t, "convert", sample, filepath.Join(dir, "x.rdb"), "--target", "redis-1.0"); code != 1 {
		t.Errorf("unknown target: exit %d", code)
	}
	if _, code := runMsg(t, "convert", sample, filepath.Join(dir, "x.rdb"), "--target", "redis-7.0", "--target-version", "10"); code != 1 {
		t.Errorf("--target and --target-version: exit %d", code)
	}
}

// droppedFieldsTTL matches convert's summary of field TTLs left out: the
// TTLs alone, or the fields whose TTL had passed.
var droppedFieldsTTL = regexp.MustCompile(`[1-9][0-9]* (hash field TTLs dropped|expired hash fields dropped)`)

// TestConvertUnsupported: field TTLs cannot go to RDB 10 unless dropped.
func TestConvertUnsupported(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.rdb")
	msg, code := runMsg(t, "convert", sample, out, "--target-version", "10", "--downgrade-streams")
	if code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, msg)
	}
	for _, want := range []string{"hash field TTLs", "RDB 10", "--drop-field-ttls"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q: %s", want, msg)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed conversion left %s (%v)", out, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	msg, code = runMsg(t, "convert", sample, out, "--target-version", "10", "--downgrade-streams", "--drop-field-ttls")
	if code != 0 {
		t.Fatalf("with --drop-field-ttls: exit %d: %s", code, msg)
	}
	if !droppedFieldsTTL.MatchString(msg) || !strings.Contains(msg, "streams downgraded") {
		t.Errorf("the summary does not report what was dropped: %s", msg)
	}
}

// TestConvertMapDBCollision: merging databases that hold the same key name
// fails, naming the key; merging disjoint ones works (TestConvertFilters).
func TestConvertMapDBCollision(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.rdb")
	// db 0 and db 1 of the sample both hold s1:ttl:* keys.
	msg, code := runMsg(t, "convert", sample, out, "--map-db", "1:0")
	if code != 1 || !strings.Contains(msg, `"s1:ttl:`) || !strings.Contains(msg, "target db 0") {
		t.Errorf("exit %d: %s", code, msg)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed conversion left %s", out)
	}
	// Filtered so that the names no longer meet: fine.
	msg, code = runMsg(t, "convert", sample, out, "--map-db", "1:0", "--match", "s1:db1:*")
	if code != 0 {
		t.Errorf("exit %d: %s", code, msg)
	}
	// Swapping databases merges nothing.
	msg, code = runMsg(t, "convert", sample, out, "--map-db", "1:0", "--map-db", "0:1")
	if code != 0 {
		t.Errorf("swap: exit %d: %s", code, msg)
	}
	got := readPath(t, out, canonOptions{})
	if _, ok := got.Keys[dbKey(0, "s1:db1:hash")]; !ok {
		t.Errorf("swap: s1:db1:hash not in db 0")
	}
}

// TestConvertStdout: OUT "-" writes the file to standard output.
func TestConvertStdout(t *testing.T) {
	msg, code := runMsg(t, "convert", "--quiet", "--type", "string", sample, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, msg)
	}
	got := readFile(t, []byte(msg), canonOptions{})
	want := readPath(t, sample, canonOptions{})
	compareKeys(t, got, want, func(k fileKey) bool { return k.Type == rdb.TypeString }, nil)
}

// TestSplit: the files of a split hold every key of the input once, in
// database 0, each in the file of its cluster slot (as the server that
// made the corpus computed it).
func TestSplit(t *testing.T) {
	slots := map[string]int{}
	for _, f := range corpustest.Files(t) {
		if f.Name != "redis-7.4.1/cluster" {
			continue
		}
		for _, e := range corpustest.Expected(t, f) {
			if e.Slot != nil {
				slots[string(e.KeyB64)] = *e.Slot
			}
		}
	}
	if len(slots) == 0 {
		t.Fatal("no slots in the corpus's redis-7.4.1/cluster expectations")
	}
	in := readPath(t, clusterSample, canonOptions{})
	for _, per := range []int{16384, 5000, 200} { // 1 file; uneven last range; 82 files in two passes
		t.Run(fmt.Sprint(per), func(t *testing.T) {
			dir := t.TempDir()
			prefix := filepath.Join(dir, "part")
			msg, code := runMsg(t, "split", "--quiet", clusterSample, "--slots-per-file", fmt.Sprint(per), "--out-prefix", prefix)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, msg)
			}
			files, _ := filepath.Glob(prefix + "-*.rdb")
			if want := (16384 + per - 1) / per; len(files) != want {
				t.Fatalf("%d files, want %d", len(files), want)
			}
			union := map[string]fileKey{}
			for _, name := range files {
				var lo, hi int
				if _, err := fmt.Sscanf(filepath.Base(name), "part-%05d-%05d.rdb", &lo, &hi); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, k := range readPath(t, name, canonOptions{}).Keys {
					if k.DB != 0 {
						t.Errorf("%s: key %q in db %d", name, k.Key, k.DB)
					}
					s, ok := slots[k.Key]
					if !ok {
						t.Errorf("%s: key %q is not in the corpus", name, k.Key)
					} else if s < lo || s > hi {
						t.Errorf("%s: key %q has slot %d", name, k.Key, s)
					}
					if _, dup := union[k.Key]; dup {
						t.Errorf("key %q in two files", k.Key)
					}
					union[k.Key] = k
				}
			}
			if len(union) != len(in.Keys) {
				t.Errorf("%d keys in the files, %d in the input", len(union), len(in.Keys))
			}
			for _, w := range in.Keys {
				g, ok := union[w.Key]
				if !ok {
					t.Errorf("key %q missing", w.Key)
					continue
				}
				if g.Type != w.Type || g.ExpireAt != w.ExpireAt || g.Value != w.Value {
					t.Errorf("key %q differs", w.Key)
				}
			}
		})
	}
}
