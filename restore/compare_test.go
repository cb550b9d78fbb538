package restore

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
)

// Helpers to compare a server with a corpus file's expected.jsonl (the
// same checks as rdb's writer tests).

type doer interface {
	Do(args ...any) (any, error)
}

func recKey(db int, key []byte) string { return strconv.Itoa(db) + "/" + string(key) }

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("JSON %s: %v", shortRaw(b), err)
	}
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	mustJSON(t, a, &x)
	mustJSON(t, b, &y)
	return reflect.DeepEqual(x, y)
}

func short[T any](v T) string {
	s := fmt.Sprint(any(v))
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func shortRaw(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}

func loadableType(typ string) bool {
	switch typ {
	case "string", "list", "set", "zset", "hash", "stream":
		return true
	}
	return false
}

// compareServer checks every loadable expected key against the server.
func compareServer(t *testing.T, s doer, expected []corpustest.Record, encodings map[string]string, checkTTL bool) {
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

func mustDo(t *testing.T, s doer, args ...any) any {
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

func compareServerValue(t *testing.T, s doer, key string, e corpustest.Record) {
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

func compareServerStreamInfo(t *testing.T, s doer, key string, e corpustest.Record) {
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
