// Comparison of a running server with a corpus file's expected.jsonl,
// shared by rdb's writer tests and restore's tests.

package redistest

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

// Doer sends one command and returns its reply: *Server, or a test's own
// client (such as one that routes each key to its cluster node).
type Doer interface {
	Do(args ...any) (any, error)
}

// CompareOptions says which checks CompareServer makes beyond the values.
type CompareOptions struct {
	// Encodings, when not nil, maps EncodingKey(db, key) to the encoding
	// our reader reports; each key's OBJECT ENCODING must match it.
	Encodings map[string]string
	// CheckTTL makes each key's PEXPIRETIME match the corpus.
	CheckTTL bool
}

// EncodingKey is the key of CompareOptions.Encodings for a db and key.
func EncodingKey(db int, key []byte) string { return strconv.Itoa(db) + "/" + string(key) }

func loadableType(typ string) bool {
	switch typ {
	case "string", "list", "set", "zset", "hash", "stream":
		return true
	}
	return false
}

// CompareServer checks every loadable expected key against the server:
// its TYPE, its value (CompareValue), and per db the DBSIZE, allowing for
// keys about to expire.
func CompareServer(t testing.TB, s Doer, expected []corpustest.Record, opt CompareOptions) {
	t.Helper()
	now := time.Now().UnixMilli()
	perDB := map[int][2]int{} // sure, maybe
	checked := 0
	curDB := -1
	for _, e := range expected {
		if e.Expired || !loadableType(e.Type) {
			continue
		}
		if at, ok := lastFieldExpiry(t, e); ok && at <= now+5000 {
			// Every field's TTL has passed since the corpus was made: the
			// hash is gone (the writer leaves it out, a server deletes it).
			c := perDB[e.DB]
			if at > now-5000 {
				c[1]++
			}
			perDB[e.DB] = c
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
			MustDo(t, s, "SELECT", e.DB)
			curDB = e.DB
		}
		key := fmt.Sprintf("%q (db %d)", e.KeyB64, e.DB)
		typ, _ := MustDo(t, s, "TYPE", e.KeyB64).(string)
		if typ != e.Type {
			t.Errorf("%s: server TYPE %q, want %q", key, typ, e.Type)
			continue
		}
		checked++
		if opt.CheckTTL {
			pt, _ := MustDo(t, s, "PEXPIRETIME", e.KeyB64).(int64)
			want := int64(-1)
			if e.ExpireAtMs != nil {
				want = *e.ExpireAtMs
			}
			if pt != want {
				t.Errorf("%s: PEXPIRETIME %d, want %d", key, pt, want)
			}
		}
		if opt.Encodings != nil {
			enc := string(AsBytes(MustDo(t, s, "OBJECT", "ENCODING", e.KeyB64)))
			if ours := opt.Encodings[EncodingKey(e.DB, e.KeyB64)]; ours != enc {
				t.Errorf("%s: server OBJECT ENCODING %q, our reader says %q for the written file", key, enc, ours)
			}
		}
		CompareValue(t, s, key, e)
	}
	for db, c := range perDB {
		MustDo(t, s, "SELECT", db)
		n, _ := MustDo(t, s, "DBSIZE").(int64)
		if int(n) < c[0] || int(n) > c[0]+c[1] {
			t.Errorf("db %d: DBSIZE %d, want %d (+%d about to expire)", db, n, c[0], c[1])
		}
	}
	if checked == 0 {
		t.Errorf("no key checked")
	}
}

// lastFieldExpiry returns the latest field expiry of a hash every field
// of which has a TTL; ok is false for other keys.
func lastFieldExpiry(t testing.TB, e corpustest.Record) (last int64, ok bool) {
	if e.Type != "hash" || len(e.FieldExpireAtMs) == 0 {
		return 0, false
	}
	var fields map[string]string
	mustJSON(t, e.Value, &fields)
	for f := range fields {
		at, has := e.FieldExpireAtMs[f]
		if !has {
			return 0, false
		}
		last = max(last, at)
	}
	return last, len(fields) > 0
}

// MustDo sends a command and fails the test on an error reply.
func MustDo(t testing.TB, s Doer, args ...any) any {
	t.Helper()
	v, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return v
}

// AsBytes returns a bulk, simple or integer reply as bytes.
func AsBytes(v any) []byte {
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

// AsList returns an array reply as a list of AsBytes.
func AsList(v any) [][]byte {
	a, _ := v.([]any)
	out := make([][]byte, len(a))
	for i, x := range a {
		out[i] = AsBytes(x)
	}
	return out
}

func b64(p []byte) string { return base64.StdEncoding.EncodeToString(p) }

// CompareValue checks that the server holds e's value under e.KeyB64 (in
// the selected db); key names the key in messages. Hash fields whose TTL
// has passed are not expected; stream entries, and with xinfo_full the
// length, last ID and groups, are compared.
func CompareValue(t testing.TB, s Doer, key string, e corpustest.Record) {
	t.Helper()
	switch e.Type {
	case "string":
		got := AsBytes(MustDo(t, s, "GET", e.KeyB64))
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
		got := AsList(MustDo(t, s, "LRANGE", e.KeyB64, 0, -1))
		if !equalLists(got, want) {
			t.Errorf("%s: LRANGE has %d elements, want %d (or different)", key, len(got), len(want))
		}
	case "set":
		var want [][]byte
		mustJSON(t, e.Value, &want)
		got := AsList(MustDo(t, s, "SMEMBERS", e.KeyB64))
		sort.Slice(got, func(i, j int) bool { return bytes.Compare(got[i], got[j]) < 0 })
		sort.Slice(want, func(i, j int) bool { return bytes.Compare(want[i], want[j]) < 0 })
		if !equalLists(got, want) {
			t.Errorf("%s: SMEMBERS has %d members, want %d (or different)", key, len(got), len(want))
		}
	case "zset":
		var want [][2]string
		mustJSON(t, e.Value, &want)
		got := AsList(MustDo(t, s, "ZRANGE", e.KeyB64, 0, -1, "WITHSCORES"))
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
		got := AsList(MustDo(t, s, "HGETALL", e.KeyB64))
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
		got := MustDo(t, s, "XRANGE", e.KeyB64, "-", "+")
		entries := []any{}
		for _, x := range got.([]any) {
			ent := x.([]any)
			var fv []string
			for _, f := range AsList(ent[1]) {
				fv = append(fv, b64(f))
			}
			entries = append(entries, []any{string(AsBytes(ent[0])), fv})
		}
		gj, _ := json.Marshal(entries)
		if e.Stream["entries"] != nil && !jsonEqual(t, gj, e.Stream["entries"]) {
			t.Errorf("%s: XRANGE differs:\n got %s\nwant %s", key, shortRaw(gj), shortRaw(e.Stream["entries"]))
		}
		compareStreamInfo(t, s, key, e)
	}
}

func compareStreamInfo(t testing.TB, s Doer, key string, e corpustest.Record) {
	t.Helper()
	full := e.Stream["xinfo_full"]
	if full == nil {
		return
	}
	var x map[string]json.RawMessage
	mustJSON(t, full, &x)
	info := AsList(MustDo(t, s, "XINFO", "STREAM", e.KeyB64))
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
	sg, _ := MustDo(t, s, "XINFO", "GROUPS", e.KeyB64).([]any)
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
				m[string(AsBytes(kv[j]))] = strconv.FormatInt(v, 10)
			default:
				m[string(AsBytes(kv[j]))] = string(AsBytes(v))
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

func mustJSON(t testing.TB, b []byte, v any) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("JSON %s: %v", shortRaw(b), err)
	}
}

func jsonEqual(t testing.TB, a, b json.RawMessage) bool {
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
