package analyze

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

func openInput(path string) Input {
	return Input{Name: path, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return rdb.NewReader(f, rdb.WithName(path)), f.Close, nil
	}}
}

// openInputAt is openInput with the file as the Reader's ReaderAt.
func openInputAt(path string) Input {
	return Input{Name: path, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return rdb.NewReader(f, rdb.WithName(path), rdb.WithReaderAt(f)), f.Close, nil
	}}
}

// TestReportTotalsCorpus checks key counts per db and expired counts
// against the expectations of every corpus file.
func TestReportTotalsCorpus(t *testing.T) {
	for _, f := range corpustest.Files(t) {
		if strings.Contains(f.Name, "aof-preamble") {
			continue // records describe the state after the AOF tail
		}
		opts := Options{Allocator: Libc}
		if f.Server() == "redis-2.8.24" {
			// RDB 6 has no ctime aux field: measure from the save time.
			ms := int64(corpustest.Meta(t, f)["save_time_ms"].(float64))
			opts.Now = time.UnixMilli(ms)
		}
		rep, err := New(opts).Analyze(context.Background(), []Input{openInput(f.RDB)})
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		want := map[int]uint64{}
		var expired, ttl uint64
		for _, r := range corpustest.Expected(t, f) {
			want[r.DB]++
			if r.Expired {
				expired++
			}
			if r.ExpireAtMs != nil {
				ttl++
			}
		}
		got := map[int]uint64{}
		for _, d := range rep.DBs {
			got[d.DB] = d.Keys
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: keys per db %v, want %v", f.Name, got, want)
		}
		if rep.Totals.Expired != expired {
			t.Errorf("%s: %d expired keys, want %d", f.Name, rep.Totals.Expired, expired)
		}
		if rep.Totals.WithTTL != ttl {
			t.Errorf("%s: %d keys with TTL, want %d", f.Name, rep.Totals.WithTTL, ttl)
		}
	}
}

func TestMergeFiles(t *testing.T) {
	files := corpustest.Files(t)
	var a, b string
	for _, f := range files {
		switch f.Name {
		case "redis-7.4.1/main":
			a = f.RDB
		case "redis-7.0.15/main":
			b = f.RDB
		}
	}
	an := New(Options{Top: 3})
	ctx := context.Background()
	ra, err := an.Analyze(ctx, []Input{openInput(a)})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := an.Analyze(ctx, []Input{openInput(b)})
	if err != nil {
		t.Fatal(err)
	}
	both, err := an.Analyze(ctx, []Input{openInput(a), openInput(b)})
	if err != nil {
		t.Fatal(err)
	}
	if len(both.Files) != 2 || both.Files[0].Name != a || both.Files[1].Name != b {
		t.Fatalf("files %+v", both.Files)
	}
	if both.Totals.Keys != ra.Totals.Keys+rb.Totals.Keys || both.Totals.Memory != ra.Totals.Memory+rb.Totals.Memory {
		t.Errorf("merged totals %+v, want sum of %+v and %+v", both.Totals, ra.Totals, rb.Totals)
	}
	for _, bk := range both.BigKeys {
		if len(bk.ByMemory) > 3 {
			t.Errorf("%s: %d big keys, want at most 3", bk.Type, len(bk.ByMemory))
		}
		for i := 1; i < len(bk.ByMemory); i++ {
			if bk.ByMemory[i].Memory > bk.ByMemory[i-1].Memory {
				t.Errorf("%s: big keys not sorted", bk.Type)
			}
		}
	}
	js, err := json.Marshal(both)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.SchemaVersion != SchemaVersion || back.Totals != both.Totals {
		t.Errorf("JSON round trip lost data")
	}
	if len(back.BiggestKeys) == 0 || string(back.BiggestKeys[0].Key) != string(both.BiggestKeys[0].Key) {
		t.Errorf("JSON round trip lost the biggest keys")
	}
}

// TestPrefixBounded feeds many distinct prefixes and checks the table
// stays bounded and accounts for what it folded away.
func TestPrefixBounded(t *testing.T) {
	p := newPrefixAgg(":", 2, 100)
	var total uint64
	key := make([]byte, 0, 64)
	for i := 0; i < 500_000; i++ {
		key = fmt.Appendf(key[:0], "user:%d:name", i)
		mem := uint64(50)
		if i%1000 == 0 {
			mem = 100_000 // a few heavy prefixes
		}
		total += mem
		p.add(key, mem, 6)
		if p.len() > pruneAt*p.limit+1 {
			t.Fatalf("table grew to %d rows", p.len())
		}
	}
	r := p.report(":")
	if len(r.Rows) > 100 {
		t.Fatalf("%d rows", len(r.Rows))
	}
	if r.Rows[0].Prefix != "user:" || r.Rows[0].Keys != 500_000 || r.Rows[0].Memory != total {
		t.Errorf("top row %+v", r.Rows[0])
	}
	var kept uint64
	for _, row := range r.Rows {
		if row.Level == 2 {
			kept += row.Memory
		}
	}
	if kept+r.Collapsed.Memory != total {
		t.Errorf("level 2: kept %d + collapsed %d != %d", kept, r.Collapsed.Memory, total)
	}
	if r.Rows[1].Memory < 100_000 {
		t.Errorf("heavy prefixes lost: %+v", r.Rows[1])
	}
}

// TestPrefixChurningParent: once "sess:" has produced most of the rows a
// prune folded, its new small children are folded at once, while a heavy
// child arriving late and a child already kept go on being counted, and
// every level still sums to the total.
func TestPrefixChurningParent(t *testing.T) {
	p := newPrefixAgg(":", 3, 100)
	var total uint64
	key := make([]byte, 0, 64)
	add := func(k []byte, mem uint64) {
		total += mem
		p.add(k, mem, 6)
	}
	add([]byte("sess:early:a:x"), 1000) // kept from the start
	for i := 0; i < 100_000; i++ {
		key = fmt.Appendf(key[:0], "sess:%d:a:x", i)
		add(key, 64)
		if i%10 == 0 {
			add([]byte("sess:early:a:x"), 10)
		}
	}
	if !p.rows[p.find([]byte("sess:"), hashBytes([]byte("sess:")))].tail {
		t.Fatal("sess: not marked as churning")
	}
	add([]byte("sess:late:a:x"), 50_000)
	add([]byte("sess:late:a:x"), 1)
	r := p.report(":")
	rows := map[string]PrefixRow{}
	byLevel := map[int]uint64{}
	for _, row := range r.Rows {
		rows[row.Prefix] = row
		byLevel[row.Level] += row.Memory
	}
	if g := rows["sess:early:"]; g.Keys != 10_001 || g.Memory != 1000+10*10_000 {
		t.Errorf("sess:early: %+v", g)
	}
	if g := rows["sess:late:"]; g.Keys != 2 || g.Memory != 50_001 {
		t.Errorf("sess:late: %+v", g)
	}
	if g := rows["sess:late:a:"]; g.Keys != 2 {
		t.Errorf("sess:late:a: %+v", g)
	}
	if g := rows["sess:"]; g.Memory != total {
		t.Errorf("sess: %+v, want memory %d", g, total)
	}
	// Level 1 is never folded; levels 2 and 3 share Collapsed.
	if byLevel[1] != total || byLevel[2]+byLevel[3]+r.Collapsed.Memory != 2*total {
		t.Errorf("levels %v + collapsed %d, total %d", byLevel, r.Collapsed.Memory, total)
	}
}

func TestAllocators(t *testing.T) {
	for _, c := range []struct{ n, je, libc uint64 }{
		{1, 8, 24}, {24, 24, 24}, {25, 32, 40}, {41, 48, 56}, {65, 80, 72}, {129, 160, 136}, {257, 320, 264}, {4096, 4096, 4104},
	} {
		if g := Jemalloc.Usable(c.n); g != c.je {
			t.Errorf("jemalloc %d = %d, want %d", c.n, g, c.je)
		}
		if g := Libc.Usable(c.n); g != c.libc {
			t.Errorf("libc %d = %d, want %d", c.n, g, c.libc)
		}
	}
	// A distribution's libjemalloc: 16-byte spacing up to 128, then as
	// Redis's build (TestLoadedCorpusRedis70 checks every class against
	// the installed server's MEMORY MALLOC-STATS).
	for _, c := range []struct{ n, want uint64 }{{1, 8}, {9, 16}, {17, 32}, {24, 32}, {41, 48}, {65, 80}, {129, 160}, {4096, 4096}} {
		if g := JemallocSystem.Usable(c.n); g != c.want {
			t.Errorf("jemalloc-system %d = %d, want %d", c.n, g, c.want)
		}
	}
	for _, s := range []string{"jemalloc", "jemalloc-5.3.0", "jemalloc-system", "debian", "libc", "glibc"} {
		a, err := ParseAllocator(s)
		if err != nil {
			t.Errorf("ParseAllocator(%q): %v", s, err)
			continue
		}
		if b, err := ParseAllocator(a.String()); err != nil || b != a {
			t.Errorf("ParseAllocator(%q) = %v, which does not round-trip (%v, %v)", s, a, b, err)
		}
	}
}

func TestNthLargest(t *testing.T) {
	for n := 1; n < 300; n += 7 {
		a := make([]uint64, n)
		for i := range a {
			a[i] = uint64((i * 7919) % 37)
		}
		sorted := append([]uint64(nil), a...)
		slices.Sort(sorted)
		for k := 1; k <= n; k += 3 {
			b := append([]uint64(nil), a...)
			if got, want := nthLargest(b, k), sorted[n-k]; got != want {
				t.Fatalf("n=%d k=%d: %d, want %d", n, k, got, want)
			}
		}
	}
}

func TestPrefixerCutsAtTheDeepestCountedPrefix(t *testing.T) {
	cases := []struct {
		seps  string
		depth int
		key   string
		want  string
		null  bool
	}{
		{":", 2, "user:1:name", "user:1:", false},
		{":", 2, "user:1", "user:", false},
		{":", 2, "plain", "", false},
		{":", 1, "a:b:c", "a:", false},
		{":/", 3, "a/b:c/d", "a/b:c/", false},
		{":", -1, "a:b", "", true},        // NoPrefixes
		{"", 0, "a:b:c:d", "a:b:", false}, // default separator and depth
	}
	for _, c := range cases {
		got := NewPrefixer(Options{Separators: c.seps, Depth: c.depth, NoPrefixes: c.depth < 0}).Prefix([]byte(c.key))
		if string(got) != c.want || (got == nil) != c.null {
			t.Errorf("Prefix(%q, seps %q, depth %d) = %q (nil %v), want %q (nil %v)", c.key, c.seps, c.depth, got, got == nil, c.want, c.null)
		}
	}
}
