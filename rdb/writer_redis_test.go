package rdb_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
)

// serverTarget is what the installed redis-server (Debian's 7.0.15) loads.
var serverTarget = rdb.Target{Dialect: rdb.DialectRedis, Version: 10}

const serverPolicy = rdb.DropFieldTTLs | rdb.DowngradeStreams | rdb.DropKeyMeta

// convertForServer writes data as an RDB 10 file without the module keys
// and module aux data the test server has no module for.
func convertForServer(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data), rdb.WithName(name))
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: serverTarget, Policy: serverPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDefaultAux("", time.Now().Unix(), 0); err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch rec.Kind {
		case rdb.KindKey:
			if rec.Type == rdb.TypeModule {
				continue
			}
			err = w.CopyKey(r, rec)
		case rdb.KindSelectDB:
			err = w.SelectDB(rec.DB)
		case rdb.KindFunction:
			err = w.WriteFunction(rec.Function)
		}
		if err != nil {
			t.Fatalf("%s: key %q: %v", name, rec.Key, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func loadableType(typ string) bool {
	switch typ {
	case "string", "list", "set", "zset", "hash", "stream":
		return true
	}
	return false
}

// TestWriterRedisServer: every corpus file converted to RDB 10 passes
// redis-check-rdb, loads into redis-server 7.0.15, and the server then
// holds what the corpus says the original server held, in the encoding
// our reader reports for the written file.
func TestWriterRedisServer(t *testing.T) {
	t.Logf("server: %s", redistest.Version(t))
	files := corpustest.Files(t)
	for _, f := range files {
		if f.Scenario() == "aof-preamble" {
			continue // its records are the state after the AOF tail
		}
		t.Run(f.Name, func(t *testing.T) {
			data, err := os.ReadFile(f.RDB)
			if err != nil {
				t.Fatal(err)
			}
			out := convertForServer(t, f.RDB, data)
			path := filepath.Join(t.TempDir(), "converted.rdb")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := redistest.CheckRDB(t, path); err != nil {
				t.Fatalf("redis-check-rdb: %v\n%s", err, msg)
			}
			encodings := fileEncodings(t, out)
			s := redistest.Start(t, path)
			compareServer(t, s, corpustest.Expected(t, f), encodings, true)
		})
	}
}

// fileEncodings maps db/key to the encoding our reader reports.
func fileEncodings(t *testing.T, data []byte) map[string]string {
	r := rdb.NewReader(bytes.NewReader(data))
	m := map[string]string{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Kind == rdb.KindKey {
			m[recKey(rec.DB, rec.Key)] = rec.Encoding
		}
	}
}

// compareServer checks every loadable expected key against the server.
func compareServer(t *testing.T, s *redistest.Server, expected []corpustest.Record, encodings map[string]string, checkTTL bool) {
	t.Helper()
	now := time.Now().UnixMilli()
	perDB := map[int][2]int{} // sure, maybe
	checked := 0
	curDB := -1
	for _, e := range expected {
		if e.Expired || !loadableType(e.Type) {
			continue
		}
		if e.ExpireAtMs != nil && *e.ExpireAtMs <= now+5000 {
			c := perDB[e.DB]
			if *e.ExpireAtMs > now-5000 {
				c[1]++ // may or may not still be there
			}
			perDB[e.DB] = c
			continue
		}
		c := perDB[e.DB]
		c[0]++
		perDB[e.DB] = c
		if e.DB != curDB {
			mustDo(t, s, "SELECT", e.DB)
			curDB = e.DB
		}
		key := fmt.Sprintf("%q (db %d)", e.KeyB64, e.DB)
		typ, _ := mustDo(t, s, "TYPE", e.KeyB64).(string)
		if typ != e.Type {
			t.Errorf("%s: server TYPE %q, want %q", key, typ, e.Type)
			continue
		}
		checked++
		if checkTTL {
			pt, _ := mustDo(t, s, "PEXPIRETIME", e.KeyB64).(int64)
			want := int64(-1)
			if e.ExpireAtMs != nil {
				want = *e.ExpireAtMs
			}
			if pt != want {
				t.Errorf("%s: PEXPIRETIME %d, want %d", key, pt, want)
			}
		}
		if encodings != nil {
			enc := string(asBytes(mustDo(t, s, "OBJECT", "ENCODING", e.KeyB64)))
			if ours := encodings[recKey(e.DB, e.KeyB64)]; ours != enc {
				t.Errorf("%s: server OBJECT ENCODING %q, our reader says %q for the written file", key, enc, ours)
			}
		}
		compareServerValue(t, s, key, e)
	}
	for db, c := range perDB {
		mustDo(t, s, "SELECT", db)
		n, _ := mustDo(t, s, "DBSIZE").(int64)
		if int(n) < c[0] || int(n) > c[0]+c[1] {
			t.Errorf("db %d: DBSIZE %d, want %d (+%d about to expire)", db, n, c[0], c[1])
		}
	}
	if checked == 0 {
		t.Errorf("no key checked")
	}
}

func mustDo(t *testing.T, s *redistest.Server, args ...any) any {
	t.Helper()
	v, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

func asBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	case int64:
		return strconv.AppendInt(nil, x, 10)
	}
	return nil
}

func asList(v any) [][]byte {
	a, _ := v.([]any)
	out := make([][]byte, len(a))
	for i, x := range a {
		out[i] = asBytes(x)
	}
	return out
}

func b64(p []byte) string { return base64.StdEncoding.EncodeToString(p) }

func compareServerValue(t *testing.T, s *redistest.Server, key string, e corpustest.Record) {
	switch e.Type {
	case "string":
		got := asBytes(mustDo(t, s, "GET", e.KeyB64))
		switch {
		case e.ValueB64 != nil:
			if !bytes.Equal(got, *e.ValueB64) {
				t.Errorf("%s: GET %q, want %q", key, short(got), short(*e.ValueB64))
			}
		case e.ValueLen != nil:
			sum := sha256.Sum256(got)
			if len(got) != *e.ValueLen || hex.EncodeToString(sum[:]) != e.ValueSHA256 {
				t.Errorf("%s: GET gives %d bytes, want %d", key, len(got), *e.ValueLen)
			}
		}
	case "list":
		var want [][]byte
		mustJSON(t, e.Value, &want)
		got := asList(mustDo(t, s, "LRANGE", e.KeyB64, 0, -1))
		if !equalLists(got, want) {
			t.Errorf("%s: LRANGE has %d elements, want %d (or different)", key, len(got), len(want))
		}
	case "set":
		var want [][]byte
		mustJSON(t, e.Value, &want)
		got := asList(mustDo(t, s, "SMEMBERS", e.KeyB64))
		sort.Slice(got, func(i, j int) bool { return bytes.Compare(got[i], got[j]) < 0 })
		sort.Slice(want, func(i, j int) bool { return bytes.Compare(want[i], want[j]) < 0 })
		if !equalLists(got, want) {
			t.Errorf("%s: SMEMBERS has %d members, want %d (or different)", key, len(got), len(want))
		}
	case "zset":
		var want [][2]string
		mustJSON(t, e.Value, &want)
		got := asList(mustDo(t, s, "ZRANGE", e.KeyB64, 0, -1, "WITHSCORES"))
		if len(got) != 2*len(want) {
			t.Errorf("%s: ZRANGE has %d members, want %d", key, len(got)/2, len(want))
			return
		}
		for i, w := range want {
			ws, _ := strconv.ParseFloat(w[1], 64)
			gs, _ := strconv.ParseFloat(string(got[2*i+1]), 64)
			if b64(got[2*i]) != w[0] || (gs != ws && !(math.IsNaN(gs) && math.IsNaN(ws))) {
				t.Errorf("%s: ZRANGE member %d is %q %s, want %s %s", key, i, got[2*i], got[2*i+1], w[0], w[1])
				return
			}
		}
	case "hash":
		var want map[string]string
		mustJSON(t, e.Value, &want)
		// Fields whose TTL has passed since the corpus was made are gone:
		// the writer drops them with their TTLs (DropFieldTTLs).
		for f, at := range e.FieldExpireAtMs {
			if at <= time.Now().UnixMilli() {
				delete(want, f)
			}
		}
		got := asList(mustDo(t, s, "HGETALL", e.KeyB64))
		gm := map[string]string{}
		for i := 0; i+1 < len(got); i += 2 {
			gm[b64(got[i])] = b64(got[i+1])
		}
		if len(gm) != len(want) {
			t.Errorf("%s: HGETALL has %d fields, want %d", key, len(gm), len(want))
		}
		for k, v := range want {
			if gm[k] != v {
				t.Errorf("%s: field %s is %q, want %q", key, k, gm[k], v)
				break
			}
		}
	case "stream":
		got := mustDo(t, s, "XRANGE", e.KeyB64, "-", "+")
		entries := []any{}
		for _, x := range got.([]any) {
			ent := x.([]any)
			var fv []string
			for _, f := range asList(ent[1]) {
				fv = append(fv, b64(f))
			}
			entries = append(entries, []any{string(asBytes(ent[0])), fv})
		}
		gj, _ := json.Marshal(entries)
		if e.Stream["entries"] != nil && !jsonEqual(t, gj, e.Stream["entries"]) {
			t.Errorf("%s: XRANGE differs:\n got %s\nwant %s", key, shortRaw(gj), shortRaw(e.Stream["entries"]))
		}
		compareServerStreamInfo(t, s, key, e)
	}
}

func compareServerStreamInfo(t *testing.T, s *redistest.Server, key string, e corpustest.Record) {
	full := e.Stream["xinfo_full"]
	if full == nil {
		return
	}
	var x map[string]json.RawMessage
	mustJSON(t, full, &x)
	info := asList(mustDo(t, s, "XINFO", "STREAM", e.KeyB64))
	im := map[string]string{}
	for i := 0; i+1 < len(info); i += 2 {
		im[string(info[i])] = string(info[i+1])
	}
	var length int64
	var last string
	mustJSON(t, x["length"], &length)
	mustJSON(t, x["last-generated-id"], &last)
	if im["length"] != strconv.FormatInt(length, 10) || im["last-generated-id"] != last {
		t.Errorf("%s: XINFO length %s last %s, want %d %s", key, im["length"], im["last-generated-id"], length, last)
	}
	var groups []struct {
		Name            any    `json:"name"`
		LastDeliveredID string `json:"last-delivered-id"`
		PELCount        int    `json:"pel-count"`
	}
	mustJSON(t, x["groups"], &groups)
	sg, _ := mustDo(t, s, "XINFO", "GROUPS", e.KeyB64).([]any)
	if len(sg) != len(groups) {
		t.Errorf("%s: %d groups, want %d", key, len(sg), len(groups))
		return
	}
	for i, g := range groups {
		kv := sg[i].([]any)
		m := map[string]string{}
		for j := 0; j+1 < len(kv); j += 2 {
			switch v := kv[j+1].(type) {
			case int64:
				m[string(asBytes(kv[j]))] = strconv.FormatInt(v, 10)
			default:
				m[string(asBytes(kv[j]))] = string(asBytes(v))
			}
		}
		if m["name"] != fmt.Sprint(g.Name) || m["last-delivered-id"] != g.LastDeliveredID || m["pending"] != strconv.Itoa(g.PELCount) {
			t.Errorf("%s: group %d is %v, want %v", key, i, m, g)
		}
	}
}

func equalLists(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestEncodeDumpRestore: our DUMP payloads for RDB 10, made from every key
// of each version's main file, are accepted by RESTORE and the server then
// holds the corpus's values; DUMP of the restored key decodes to the same
// value.
func TestEncodeDumpRestore(t *testing.T) {
	s := redistest.Start(t, "")
	for _, f := range corpustest.Files(t) {
		if f.Scenario() != "main" {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			mustDo(t, s, "FLUSHALL")
			data, err := os.ReadFile(f.RDB)
			if err != nil {
				t.Fatal(err)
			}
			r := rdb.NewReader(bytes.NewReader(data))
			dbs := map[int]bool{}
			for {
				rec, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if rec.Kind != rdb.KindKey || rec.Type == rdb.TypeModule {
					continue
				}
				key := append([]byte(nil), rec.Key...)
				db := rec.DB
				if rec.ExpireAt != 0 && rec.ExpireAt <= time.Now().UnixMilli() {
					continue
				}
				payload, err := rdb.DumpValue(r, rec, rdb.WriterOptions{Target: serverTarget, Policy: serverPolicy})
				if err != nil {
					t.Fatalf("%q: %v", key, err)
				}
				if !dbs[db] {
					dbs[db] = true
				}
				mustDo(t, s, "SELECT", db)
				if _, err := s.Do("RESTORE", key, 0, payload, "REPLACE"); err != nil {
					t.Errorf("%q: RESTORE: %v", key, err)
					continue
				}
				back := asBytes(mustDo(t, s, "DUMP", key))
				if err := sameDumpValue(payload, back); err != nil {
					t.Errorf("%q: DUMP after RESTORE: %v", key, err)
				}
			}
			compareServer(t, s, corpustest.Expected(t, f), nil, false)
		})
	}
}

// sameDumpValue decodes two payloads and compares their values.
func sameDumpValue(a, b []byte) error {
	var vals [2]string
	for i, p := range [][]byte{a, b} {
		r, err := rdb.NewDumpReader(p)
		if err != nil {
			return err
		}
		if _, err := r.Next(); err != nil {
			return err
		}
		v, err := r.ReadValue()
		if err != nil {
			return err
		}
		vals[i] = canonValue(v)
	}
	if vals[0] != vals[1] {
		return fmt.Errorf("values differ:\n ours   %s\n server %s", strings.TrimSpace(vals[0][:min(200, len(vals[0]))]), vals[1][:min(200, len(vals[1]))])
	}
	return nil
}
