package diff_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
)

type got struct {
	kind diff.Kind
	ttl  bool
	kd   *diff.KeyDiff
}

func run(t *testing.T, a, b diff.Input, opts diff.Options) (*diff.Result, map[string]got) {
	t.Helper()
	res, err := diff.Compare(context.Background(), a, b, opts)
	if err != nil {
		t.Fatalf("Compare: %v", err)
	}
	t.Cleanup(func() { res.Close() })
	out := map[string]got{}
	err = res.Each(func(kd *diff.KeyDiff) error {
		id := fmt.Sprintf("%d/%s", kd.DB, kd.Key)
		if _, dup := out[id]; dup {
			t.Errorf("key %s reported twice", id)
		}
		out[id] = got{kd.Kind, kd.TTL != nil, kd}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The three writers must work on every result.
	for _, w := range []func(io.Writer, *diff.Result, bool) error{diff.WriteText, diff.WriteJSON, diff.WriteJSONL} {
		if err := w(io.Discard, res, false); err != nil {
			t.Fatal(err)
		}
	}
	return res, out
}

func TestSelfIsSame(t *testing.T) {
	for _, name := range []string{"redis-2.8.24/main", "redis-6.2.16/main", "redis-7.4.1/main", "redis-8.6.3/main", "valkey-8.0.1/main", "redis-6.2.16/module"} {
		t.Run(name, func(t *testing.T) {
			f := corpustest.Find(t, name)
			for _, lim := range []int64{0, 2 << 10} {
				res, keys := run(t, diff.FileInput(f.RDB), diff.FileInput(f.RDB), diff.Options{MemLimit: lim})
				if !res.Summary.Same || len(keys) != 0 {
					t.Fatalf("mem-limit %d: a file differs from itself: %v", lim, keys)
				}
				if res.Summary.A.Keys == 0 {
					t.Fatal("no keys compared")
				}
				// The same keys in the same order pair as they are
				// read: nothing waits, whatever the budget.
				if res.Summary.Spilled {
					t.Fatal("a file compared with itself spilled")
				}
			}
		})
	}
}

// canonical is a key's logical content computed from expected.jsonl.
type canonical struct {
	typ string
	exp int64
	val string // canonical value text
	ftl string // hash field TTLs
}

func canonOf(t *testing.T, r corpustest.Record, cutoff int64) (canonical, bool) {
	if r.Expired {
		return canonical{}, false
	}
	c := canonical{typ: r.Type}
	if r.ExpireAtMs != nil {
		c.exp = *r.ExpireAtMs
		if c.exp <= cutoff {
			return canonical{}, false
		}
	}
	switch r.Type {
	case "string":
		if r.ValueB64 != nil {
			h := sha256.Sum256(*r.ValueB64)
			c.val = hex.EncodeToString(h[:])
		} else {
			c.val = r.ValueSHA256
		}
	case "list", "set":
		var v []string
		json.Unmarshal(r.Value, &v)
		if r.Type == "set" {
			sort.Strings(v)
		}
		c.val = strings.Join(v, ",")
	case "zset":
		var v [][2]any
		json.Unmarshal(r.Value, &v)
		var parts []string
		for _, p := range v {
			var sc float64
			switch x := p[1].(type) {
			case float64:
				sc = x
			case string:
				switch x {
				case "inf", "+inf":
					sc = math.Inf(1)
				case "-inf":
					sc = math.Inf(-1)
				default:
					fmt.Sscan(x, &sc)
				}
			}
			parts = append(parts, fmt.Sprintf("%s=%v", p[0], sc))
		}
		sort.Strings(parts)
		c.val = strings.Join(parts, ",")
	case "hash":
		var v map[string]string
		json.Unmarshal(r.Value, &v)
		var parts, ttls []string
		for f, val := range v {
			if at, ok := r.FieldExpireAtMs[f]; ok {
				if at <= cutoff {
					continue
				}
				ttls = append(ttls, fmt.Sprintf("%s=%d", f, at))
			}
			parts = append(parts, f+"="+val)
		}
		sort.Strings(parts)
		sort.Strings(ttls)
		c.val, c.ftl = strings.Join(parts, ","), strings.Join(ttls, ",")
	case "stream":
		var x struct {
			Entries json.RawMessage `json:"entries"`
			Length  int64           `json:"length"`
			LastID  string          `json:"last-generated-id"`
			Added   *int64          `json:"entries-added"`
			MaxDel  *string         `json:"max-deleted-entry-id"`
			FirstID *string         `json:"recorded-first-entry-id"`
			Groups  []struct {
				Name      string          `json:"name"`
				LastID    string          `json:"last-delivered-id"`
				Pending   json.RawMessage `json:"pending"`
				Consumers []struct {
					Name     string          `json:"name"`
					SeenTime int64           `json:"seen-time"`
					Pending  json.RawMessage `json:"pending"`
				} `json:"consumers"`
			} `json:"groups"`
		}
		raw := r.Stream["xinfo_full"]
		if raw == nil {
			t.Fatalf("stream without xinfo_full")
		}
		if err := json.Unmarshal(raw, &x); err != nil {
			t.Fatal(err)
		}
		g, _ := json.Marshal(x.Groups)
		c.val = fmt.Sprintf("%s|%d|%s|%s", r.Stream["entries"], x.Length, x.LastID, g)
		if x.Added != nil && x.MaxDel != nil && x.FirstID != nil {
			c.ftl = fmt.Sprintf("%d|%s|%s", *x.Added, *x.MaxDel, *x.FirstID)
		} else {
			c.ftl = "n/a"
		}
	default:
		t.Fatalf("type %s not handled by the test", r.Type)
	}
	return c, true
}

// expectedDiff computes the differences between two corpus files from
// their expected.jsonl, as of cutoff.
func expectedDiff(t *testing.T, fa, fb corpustest.File, cutoff int64) map[string]got {
	load := func(f corpustest.File) map[string]canonical {
		m := map[string]canonical{}
		for _, r := range corpustest.Expected(t, f) {
			if c, ok := canonOf(t, r, cutoff); ok {
				m[fmt.Sprintf("%d/%s", r.DB, r.KeyB64)] = c
			}
		}
		return m
	}
	ma, mb := load(fa), load(fb)
	out := map[string]got{}
	for k, a := range ma {
		b, ok := mb[k]
		ttl := a.exp != b.exp
		switch {
		case !ok:
			out[k] = got{kind: diff.Removed}
		case a.typ != b.typ:
			out[k] = got{kind: diff.TypeChanged, ttl: ttl}
		case a.val != b.val || (a.ftl != b.ftl && a.ftl != "n/a" && b.ftl != "n/a"):
			out[k] = got{kind: diff.ValueChanged, ttl: ttl}
		case ttl:
			out[k] = got{kind: diff.TTLChanged, ttl: true}
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			out[k] = got{kind: diff.Added}
		}
	}
	return out
}

func TestCorpusVersions(t *testing.T) {
	pairs := [][2]string{
		{"redis-6.2.16/main", "redis-7.0.15/main"},
		{"redis-7.0.15/main", "valkey-8.0.1/main"},
		{"redis-7.2.6/main", "redis-7.4.1/main"},
		{"redis-6.0.20/main", "redis-6.2.16/main"},
		{"redis-2.8.24/main", "redis-3.2.13/main"},
		{"valkey-7.2.7/main", "redis-7.2.6/main"},
		{"redis-7.4.1/main", "redis-8.6.3/main"},
	}
	for _, p := range pairs {
		t.Run(p[0]+"_vs_"+p[1], func(t *testing.T) {
			fa, fb := corpustest.Find(t, p[0]), corpustest.Find(t, p[1])
			for _, lim := range []int64{0, 4 << 10} {
				res, gotKeys := run(t, diff.FileInput(fa.RDB), diff.FileInput(fb.RDB), diff.Options{MemLimit: lim})
				want := expectedDiff(t, fa, fb, res.Summary.AsOf)
				gotB64 := gotKeys
				for k, w := range want {
					g, ok := gotB64[k]
					if !ok {
						t.Errorf("missed: %s %s", k, w.kind)
						continue
					}
					if g.kind != w.kind || g.ttl != w.ttl {
						t.Errorf("%s: got %s (ttl %v), want %s (ttl %v)", k, g.kind, g.ttl, w.kind, w.ttl)
					}
				}
				for k, g := range gotB64 {
					if _, ok := want[k]; !ok {
						t.Errorf("extra: %s %s %+v", k, g.kind, g.kd.Details)
					}
				}
				if len(want) == 0 {
					t.Errorf("the two files are expected to differ")
				}
				if int64(len(want)) != res.Summary.Counts.Total() {
					t.Errorf("summary counts %d differences, want %d", res.Summary.Counts.Total(), len(want))
				}
			}
		})
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, s *redistest.Server, args ...any) any {
	t.Helper()
	v, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// TestMutations loads data into a real server, saves, applies recorded
// mutations, saves again, and checks that exactly those are reported.
func TestMutations(t *testing.T) {
	s := redistest.Start(t, "")
	dir := t.TempDir()
	future := time.Now().Add(48 * time.Hour).UnixMilli()
	// db 0: sessions (to be mostly deleted), users (hashes), queues
	// (lists), tags (sets), boards (zsets), events (streams).
	do(t, s, "SELECT", 0)
	for i := 0; i < 200; i++ {
		do(t, s, "SET", fmt.Sprintf("session:%d", i), fmt.Sprintf("token-%d", i))
	}
	for i := 0; i < 20; i++ {
		do(t, s, "HSET", fmt.Sprintf("user:%d", i), "name", fmt.Sprintf("n%d", i), "email", fmt.Sprintf("u%d@x", i), "age", i)
	}
	do(t, s, "HSET", "user:big", "f0", "v0")
	for i := 1; i < 1000; i++ {
		do(t, s, "HSET", "user:big", fmt.Sprintf("f%d", i), fmt.Sprintf("v%d", i))
	}
	for i := 0; i < 300; i++ {
		do(t, s, "RPUSH", "queue:jobs", fmt.Sprintf("job-%d", i))
		do(t, s, "RPUSH", "queue:small", i)
	}
	do(t, s, "RPUSH", "queue:edit", "a", "b", "c", "d")
	do(t, s, "SADD", "tags:a", "x", "y", "z")
	do(t, s, "ZADD", "board:1", 1, "alice", 2, "bob", 3, "carol")
	do(t, s, "XADD", "events:1", "1-1", "type", "login")
	do(t, s, "XADD", "events:1", "2-1", "type", "logout")
	do(t, s, "XGROUP", "CREATE", "events:1", "g1", "0")
	do(t, s, "SET", "ttl:keep", "v", "PXAT", future)
	do(t, s, "SET", "ttl:change", "v", "PXAT", future)
	do(t, s, "SET", "ttl:both", "v1", "PXAT", future)
	do(t, s, "SET", "type:x", "str")
	do(t, s, "SELECT", 1)
	for i := 0; i < 50; i++ {
		do(t, s, "SET", fmt.Sprintf("cache:%d", i), i)
	}
	do(t, s, "SELECT", 2)
	do(t, s, "SET", "stable", "1")
	do(t, s, "SAVE")
	before := filepath.Join(dir, "before.rdb")
	copyFile(t, filepath.Join(s.Dir, "dump.rdb"), before)

	want := map[string]diff.Kind{}
	// The recorded mutations.
	do(t, s, "SELECT", 0)
	for i := 0; i < 195; i++ { // delete 195 of 200 sessions
		k := fmt.Sprintf("session:%d", i)
		do(t, s, "DEL", k)
		want["0/"+k] = diff.Removed
	}
	do(t, s, "HSET", "user:3", "email", "new@x")
	want["0/user:3"] = diff.ValueChanged
	do(t, s, "HDEL", "user:4", "age")
	do(t, s, "HSET", "user:4", "phone", "123")
	want["0/user:4"] = diff.ValueChanged
	do(t, s, "HSET", "user:big", "f500", "changed")
	want["0/user:big"] = diff.ValueChanged
	do(t, s, "LTRIM", "queue:jobs", 100, -1)
	want["0/queue:jobs"] = diff.ValueChanged
	do(t, s, "LTRIM", "queue:small", 0, 249)
	want["0/queue:small"] = diff.ValueChanged
	do(t, s, "LSET", "queue:edit", 2, "C")
	want["0/queue:edit"] = diff.ValueChanged
	do(t, s, "SREM", "tags:a", "y")
	do(t, s, "SADD", "tags:a", "w")
	want["0/tags:a"] = diff.ValueChanged
	do(t, s, "ZADD", "board:1", 10, "alice")
	do(t, s, "ZREM", "board:1", "bob")
	want["0/board:1"] = diff.ValueChanged
	do(t, s, "XADD", "events:1", "3-1", "type", "login")
	want["0/events:1"] = diff.ValueChanged
	do(t, s, "PEXPIREAT", "ttl:change", future+3_600_000)
	want["0/ttl:change"] = diff.TTLChanged
	do(t, s, "SET", "ttl:both", "v2", "PXAT", future+7_200_000)
	want["0/ttl:both"] = diff.ValueChanged
	do(t, s, "DEL", "type:x")
	do(t, s, "SADD", "type:x", "m")
	want["0/type:x"] = diff.TypeChanged
	do(t, s, "SET", "new:key", "hello")
	want["0/new:key"] = diff.Added
	do(t, s, "SELECT", 1)
	do(t, s, "FLUSHDB")
	for i := 0; i < 50; i++ {
		want[fmt.Sprintf("1/cache:%d", i)] = diff.Removed
	}
	do(t, s, "SAVE")
	after := filepath.Join(dir, "after.rdb")
	copyFile(t, filepath.Join(s.Dir, "dump.rdb"), after)

	check := func(t *testing.T, keys map[string]got) {
		for k, w := range want {
			g, ok := keys[k]
			if !ok {
				t.Errorf("missed %s (%s)", k, w)
			} else if g.kind != w {
				t.Errorf("%s: got %s, want %s", k, g.kind, w)
			}
		}
		for k, g := range keys {
			if _, ok := want[k]; !ok {
				t.Errorf("extra %s (%s)", k, g.kind)
			}
		}
	}
	for _, lim := range []int64{0, 8 << 10} {
		t.Run(fmt.Sprintf("files/mem%d", lim), func(t *testing.T) {
			res, keys := run(t, diff.FileInput(before), diff.FileInput(after), diff.Options{MemLimit: lim, MaxDetails: 5})
			check(t, keys)
			checkDetails(t, keys)
			if res.Summary.Counts.Removed != 245 {
				t.Errorf("removed %d, want 245", res.Summary.Counts.Removed)
			}
			var session *diff.Group
			for i := range res.Summary.ByPrefix {
				if res.Summary.ByPrefix[i].Name == "session:" {
					session = &res.Summary.ByPrefix[i]
				}
			}
			if session == nil || session.KeysA != 200 || session.KeysB != 5 || session.Removed != 195 {
				t.Errorf("session: prefix summary %+v", session)
			}
			var text bytes.Buffer
			diff.WriteText(&text, res, false)
			first := strings.SplitN(text.String(), "\n", 3)
			if !strings.HasPrefix(first[0], "DIFFERENT: 258 keys differ: 245 removed") || !strings.Contains(first[1], "LOST") {
				t.Errorf("text report starts with:\n%s\n%s", first[0], first[1])
			}
			if !strings.Contains(text.String(), "EMPTIED: db 1 lost all its 50 keys") {
				t.Errorf("FLUSHDB not called out:\n%s", text.String()[:500])
			}
		})
	}
	t.Run("live-after", func(t *testing.T) {
		live, err := diff.LiveInput(context.Background(), "redis://"+s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer live.Close()
		_, keys := run(t, diff.FileInput(before), live, diff.Options{MaxDetails: 5})
		check(t, keys)
		checkDetails(t, keys)
		_, keys = run(t, diff.FileInput(after), live, diff.Options{})
		if len(keys) != 0 {
			t.Errorf("the server differs from its own snapshot: %v", keys)
		}
	})
	t.Run("filters", func(t *testing.T) {
		_, keys := run(t, diff.FileInput(before), diff.FileInput(after), diff.Options{FilterDB: true, DB: 0, Match: "user:*"})
		if len(keys) != 3 {
			t.Errorf("--db 0 --match user:* gave %d keys, want 3", len(keys))
		}
		_, keys = run(t, diff.FileInput(before), diff.FileInput(after), diff.Options{IgnoreTTL: true, Match: "ttl:*"})
		if len(keys) != 1 || keys["0/ttl:both"].kind != diff.ValueChanged {
			t.Errorf("--ignore-ttl: %v", keys)
		}
		_, keys = run(t, diff.FileInput(before), diff.FileInput(after), diff.Options{TTLTolerance: 2 * time.Hour, Match: "ttl:*"})
		if len(keys) != 1 || keys["0/ttl:both"].ttl {
			t.Errorf("--ttl-tolerance 2h: %v", keys)
		}
	})
}

func checkDetails(t *testing.T, keys map[string]got) {
	t.Helper()
	d := func(k string) *diff.Details {
		g := keys[k]
		if g.kd == nil || g.kd.Details == nil {
			t.Fatalf("%s has no details", k)
		}
		return g.kd.Details
	}
	if x := d("0/user:3"); x.Changed == nil || x.Changed.Count != 1 || string(x.Changed.Items[0].Member) != "email" || string(x.Changed.Items[0].New) != "new@x" {
		t.Errorf("user:3 details %+v", x)
	}
	if x := d("0/user:4"); x.Added == nil || x.Removed == nil || string(x.Added.Items[0].Member) != "phone" || string(x.Removed.Items[0].Member) != "age" {
		t.Errorf("user:4 details %+v", x)
	}
	if x := d("0/user:big"); x.Changed == nil || x.Changed.Count != 1 || x.OldLen != 1000 {
		t.Errorf("user:big details %+v", x)
	}
	if x := d("0/queue:jobs"); x.List == nil || x.List.HeadRemoved != 100 || x.Removed.Count != 100 || len(x.Removed.Items) != 5 {
		t.Errorf("queue:jobs details %+v %+v", x, x.List)
	}
	if x := d("0/queue:small"); x.List == nil || x.List.TailRemoved != 50 {
		t.Errorf("queue:small details %+v", x)
	}
	if x := d("0/queue:edit"); x.Changed == nil || *x.Changed.Items[0].Index != 2 {
		t.Errorf("queue:edit details %+v", x)
	}
	if x := d("0/tags:a"); x.Added.Count != 1 || x.Removed.Count != 1 || string(x.Removed.Items[0].Member) != "y" {
		t.Errorf("tags:a details %+v", x)
	}
	if x := d("0/board:1"); x.Changed.Count != 1 || x.Removed.Count != 1 || float64(*x.Changed.Items[0].NewScore) != 10 {
		t.Errorf("board:1 details %+v", x)
	}
	if x := d("0/events:1"); x.Added == nil || x.Added.Items[0].ID != "3-1" {
		t.Errorf("events:1 details %+v", x)
	}
	if g := keys["0/ttl:both"]; !g.ttl {
		t.Errorf("ttl:both: TTL change not reported with the value change")
	}
}

// TestLiveVsSnapshot loads a corpus file into a fresh server and compares
// the file with the server: no differences.
func TestLiveVsSnapshot(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	s := redistest.Start(t, f.RDB)
	live, err := diff.LiveInput(context.Background(), "redis://"+s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	res, keys := run(t, diff.FileInput(f.RDB), live, diff.Options{})
	if len(keys) != 0 {
		for k, g := range keys {
			t.Errorf("%s: %s %+v", k, g.kind, g.kd.Details)
		}
	}
	if res.Summary.B.Keys == 0 || res.Summary.A.Keys != res.Summary.B.Keys {
		t.Errorf("keys compared: %d vs %d", res.Summary.A.Keys, res.Summary.B.Keys)
	}
	// And the other way round, one database, through the URL.
	live1, err := diff.LiveInput(context.Background(), "redis://"+s.Addr+"/1")
	if err != nil {
		t.Fatal(err)
	}
	defer live1.Close()
	_, keys = run(t, live1, diff.FileInput(f.RDB), diff.Options{FilterDB: true, DB: 1})
	if len(keys) != 0 {
		t.Errorf("db 1: %v", keys)
	}
}

// TestLiveOverTLS: a server read over rediss:// with the tls-* query
// options every command takes (a private CA, a client certificate).
func TestLiveOverTLS(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main")
	c := redistest.WriteCerts(t, t.TempDir())
	_, addr := redistest.StartTLS(t, f.RDB, c)
	if _, err := diff.LiveInput(context.Background(), "rediss://"+addr+"?tls-ca="+c.CA); err == nil {
		t.Fatal("no client certificate: connected")
	}
	live, err := diff.LiveInput(context.Background(), "rediss://"+addr+"?tls-ca="+c.CA+"&tls-cert="+c.ClientCert+"&tls-key="+c.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	res, keys := run(t, diff.FileInput(f.RDB), live, diff.Options{})
	if len(keys) != 0 || res.Summary.B.Keys == 0 || res.Summary.A.Keys != res.Summary.B.Keys {
		t.Errorf("file vs server over TLS: %d differences, keys %d vs %d", len(keys), res.Summary.A.Keys, res.Summary.B.Keys)
	}
}
