package rdb_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// ourRecord is one line of our JSON export, decoded for comparison.
type ourRecord struct {
	DB              int                        `json:"db"`
	KeyB64          []byte                     `json:"key_b64"`
	Type            string                     `json:"type"`
	Encoding        string                     `json:"encoding"`
	ExpireAtMs      *int64                     `json:"expire_at_ms"`
	ValueB64        *[]byte                    `json:"value_b64"`
	Value           json.RawMessage            `json:"value"`
	FieldExpireAtMs map[string]int64           `json:"field_expire_at_ms"`
	Stream          map[string]json.RawMessage `json:"stream"`
	LFUFreq         *int                       `json:"lfu_freq"`
	IdleSeconds     *int64                     `json:"idle_seconds"`
	fromDump        bool
	KeyMeta         []struct {
		Class string `json:"class"`
	} `json:"key_meta"`
}

// exportFile runs the JSON exporter over a whole RDB file.
func exportFile(t *testing.T, path string, opts ...rdb.Option) ([]ourRecord, *rdb.Reader) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	var buf bytes.Buffer
	r := rdb.NewReader(fh, append([]rdb.Option{rdb.WithName(path)}, opts...)...)
	jw := export.NewJSONWriter(&buf)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if rec.Kind == rdb.KindKey {
			if err := jw.WriteKey(r, rec); err != nil {
				t.Fatalf("export: %v", err)
			}
		}
	}
	jw.Flush()
	var out []ourRecord
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var o ourRecord
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("our export is not valid JSON: %v\n%s", err, sc.Bytes())
		}
		out = append(out, o)
	}
	return out, r
}

func recKey(db int, key []byte) string { return strconv.Itoa(db) + "/" + string(key) }

// TestCorpus checks every key of every corpus file against what the live
// server reported for it.
func TestCorpus(t *testing.T) {
	t.Parallel()
	files := corpustest.Files(t)
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			expected := corpustest.Expected(t, f)
			meta := corpustest.Meta(t, f)
			ours, r := exportFile(t, f.RDB)
			checkTrailer(t, f, meta, r)
			if f.Scenario() == "aof-preamble" {
				// The records are the state after the AOF tail; the RDB part
				// holds the state before it. Check that the part parsed to its
				// documented end.
				if end, ok := meta["rdb_end_offset"].(float64); ok && r.Offset() != int64(end) {
					t.Errorf("RDB preamble ended at %d, meta says %d", r.Offset(), int64(end))
				}
				return
			}
			byKey := map[string]*ourRecord{}
			for i := range ours {
				k := recKey(ours[i].DB, ours[i].KeyB64)
				if byKey[k] != nil {
					t.Errorf("key %q in db %d exported twice", ours[i].KeyB64, ours[i].DB)
				}
				byKey[k] = &ours[i]
			}
			if len(ours) != len(expected) {
				t.Errorf("exported %d keys, expected %d", len(ours), len(expected))
			}
			for _, e := range expected {
				o := byKey[recKey(e.DB, e.KeyB64)]
				if o == nil {
					t.Errorf("key %q (db %d) missing", e.KeyB64, e.DB)
					continue
				}
				compareRecord(t, f, e, o)
			}
			checkDumps(t, f, expected)
		})
	}
}

func checkTrailer(t *testing.T, f corpustest.File, meta map[string]any, r *rdb.Reader) {
	st, _ := r.Checksum()
	ver, _ := strconv.Atoi(fmt.Sprint(meta["rdb_version"]))
	want := rdb.ChecksumVerified
	switch {
	case ver < 5:
		want = rdb.ChecksumAbsent
	case f.Scenario() == "nochecksum":
		want = rdb.ChecksumDisabled
	}
	if st != want {
		t.Errorf("checksum status %v, want %v", st, want)
	}
	if r.Version() != ver {
		t.Errorf("version %d, meta says %d", r.Version(), ver)
	}
}

// encodingExceptions are the only places where the encoding a server
// reported cannot be derived from the file, each for a stated reason.
func encodingException(f corpustest.File, e corpustest.Record, ours string) bool {
	// Redis 5.0's OBJECT ENCODING has no name for streams.
	if e.Type == "stream" && e.Encoding == "unknown" && strings.HasPrefix(f.Server(), "redis-5.") {
		return true
	}
	// APPEND turns a short embstr into a raw string in memory; the file
	// stores the same bytes either way, and a server loading it makes embstr.
	if e.Type == "string" && e.Encoding == "raw" && ours == "embstr" && strings.Contains(string(e.KeyB64), "append") {
		return true
	}
	return false
}

func compareRecord(t *testing.T, f corpustest.File, e corpustest.Record, o *ourRecord) {
	t.Helper()
	key := fmt.Sprintf("%q (db %d)", e.KeyB64, e.DB)
	if o.Type != e.Type {
		t.Errorf("%s: type %q, want %q", key, o.Type, e.Type)
		return
	}
	if e.Encoding != "" && o.Encoding != e.Encoding && !encodingException(f, e, o.Encoding) {
		t.Errorf("%s: encoding %q, want %q", key, o.Encoding, e.Encoding)
	}
	if !reflect.DeepEqual(o.ExpireAtMs, e.ExpireAtMs) {
		t.Errorf("%s: expire_at_ms %v, want %v", key, deref(o.ExpireAtMs), deref(e.ExpireAtMs))
	}
	// RDB 8 (Redis 4.0) has no IDLE/FREQ opcodes, and DUMP payloads carry
	// neither.
	fileHasLRU := f.Server() != "redis-4.0.14" && !o.fromDump
	if fileHasLRU && e.LFUFreq != nil && (o.LFUFreq == nil || *o.LFUFreq != *e.LFUFreq) {
		t.Errorf("%s: lfu_freq %v, want %d", key, deref(o.LFUFreq), *e.LFUFreq)
	}
	if fileHasLRU && e.IdleSeconds != nil {
		// OBJECT IDLETIME was read right after SAVE: within a second or two.
		if o.IdleSeconds == nil || *o.IdleSeconds < *e.IdleSeconds-2 || *o.IdleSeconds > *e.IdleSeconds+2 {
			t.Errorf("%s: idle_seconds %v, want %d±2", key, deref(o.IdleSeconds), *e.IdleSeconds)
		}
	}
	for class := range e.KeyMeta {
		found := false
		for _, m := range o.KeyMeta {
			found = found || m.Class == class
		}
		if !found {
			t.Errorf("%s: key metadata class %q missing", key, class)
		}
	}
	if len(o.KeyMeta) != len(e.KeyMeta) {
		t.Errorf("%s: %d key metadata classes, want %d", key, len(o.KeyMeta), len(e.KeyMeta))
	}
	switch e.Type {
	case "string":
		compareString(t, key, e, o)
	case "list":
		var want, got []string
		mustJSON(t, e.Value, &want)
		mustJSON(t, o.Value, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: list differs:\n got %s\nwant %s", key, short(got), short(want))
		}
	case "set":
		var want, got []string
		mustJSON(t, e.Value, &want)
		mustJSON(t, o.Value, &got)
		sortB64(got)
		sortB64(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: set differs:\n got %s\nwant %s", key, short(got), short(want))
		}
	case "zset":
		compareZSet(t, key, e, o)
	case "hash":
		var want, got map[string]string
		mustJSON(t, e.Value, &want)
		mustJSON(t, o.Value, &got)
		for k, v := range e.ExpiredFields {
			want[k] = v
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: hash differs: got %d fields, want %d", key, len(got), len(want))
		}
		if len(e.FieldExpireAtMs) > 0 || len(o.FieldExpireAtMs) > 0 {
			if !reflect.DeepEqual(o.FieldExpireAtMs, e.FieldExpireAtMs) {
				t.Errorf("%s: field TTLs differ:\n got %v\nwant %v", key, o.FieldExpireAtMs, e.FieldExpireAtMs)
			}
		}
	case "stream":
		compareStream(t, f, key, e, o)
	}
}

func compareString(t *testing.T, key string, e corpustest.Record, o *ourRecord) {
	if o.ValueB64 == nil {
		t.Errorf("%s: no value_b64", key)
		return
	}
	got := *o.ValueB64
	switch {
	case e.ValueB64 != nil:
		if !bytes.Equal(got, *e.ValueB64) {
			t.Errorf("%s: value %q, want %q", key, short(got), short(*e.ValueB64))
		}
	case e.ValueLen != nil:
		sum := sha256.Sum256(got)
		if len(got) != *e.ValueLen || hex.EncodeToString(sum[:]) != e.ValueSHA256 {
			t.Errorf("%s: value of %d bytes (sha256 %x), want %d bytes (%s)", key, len(got), sum, *e.ValueLen, e.ValueSHA256)
		}
	default:
		t.Errorf("%s: expectation has no value", key)
	}
}

func compareZSet(t *testing.T, key string, e corpustest.Record, o *ourRecord) {
	var want [][2]string
	var got [][2]any
	mustJSON(t, e.Value, &want)
	mustJSON(t, o.Value, &got)
	if len(got) != len(want) {
		t.Errorf("%s: zset has %d members, want %d", key, len(got), len(want))
		return
	}
	// Files store skiplists from the highest rank down; compare in rank
	// order (score, then member bytes), as the server reported them.
	score := func(v any) float64 {
		switch s := v.(type) {
		case float64:
			return s
		case string:
			f, _ := strconv.ParseFloat(s, 64)
			return f
		}
		return math.NaN()
	}
	sort.SliceStable(got, func(i, j int) bool {
		a, b := score(got[i][1]), score(got[j][1])
		if a != b {
			return a < b
		}
		x, _ := base64.StdEncoding.DecodeString(got[i][0].(string))
		y, _ := base64.StdEncoding.DecodeString(got[j][0].(string))
		return bytes.Compare(x, y) < 0
	})
	for i := range want {
		m, _ := got[i][0].(string)
		ws, err := strconv.ParseFloat(want[i][1], 64)
		if err != nil {
			t.Fatalf("%s: expected score %q: %v", key, want[i][1], err)
		}
		var gs float64
		switch s := got[i][1].(type) {
		case float64:
			gs = s
		case string:
			gs, _ = strconv.ParseFloat(s, 64)
		}
		if m != want[i][0] || (gs != ws && !(math.IsNaN(gs) && math.IsNaN(ws))) {
			t.Errorf("%s: zset member %d is (%s, %v), want (%s, %s)", key, i, m, got[i][1], want[i][0], want[i][1])
			return
		}
	}
}

func compareStream(t *testing.T, f corpustest.File, key string, e corpustest.Record, o *ourRecord) {
	if !jsonEqual(t, o.Stream["entries"], e.Stream["entries"]) {
		t.Errorf("%s: stream entries differ:\n got %s\nwant %s", key, shortRaw(o.Stream["entries"]), shortRaw(e.Stream["entries"]))
	}
	full := e.Stream["xinfo_full"]
	if full == nil && e.Stream["xinfo"] == nil {
		return // mixed files record entries only
	}
	if full == nil {
		compareStream50(t, key, e, o)
		return
	}
	var x map[string]json.RawMessage
	mustJSON(t, full, &x)
	pairs := [][2]string{{"length", "length"}, {"last-generated-id", "last-generated-id"}}
	if _, ok := x["entries-added"]; ok {
		pairs = append(pairs, [2]string{"entries-added", "entries-added"}, [2]string{"max-deleted-entry-id", "max-deleted-entry-id"}, [2]string{"recorded-first-entry-id", "recorded-first-entry-id"})
	}
	for _, p := range pairs {
		if !jsonEqual(t, o.Stream[p[0]], x[p[1]]) {
			t.Errorf("%s: stream %s = %s, want %s", key, p[0], o.Stream[p[0]], x[p[1]])
		}
	}
	type consumer struct {
		Name       any               `json:"name"`
		SeenTime   int64             `json:"seen-time"`
		ActiveTime *int64            `json:"active-time"`
		PELCount   int               `json:"pel-count"`
		Pending    []json.RawMessage `json:"pending"`
	}
	type group struct {
		Name            any               `json:"name"`
		LastDeliveredID string            `json:"last-delivered-id"`
		EntriesRead     *int64            `json:"entries-read"`
		PELCount        int               `json:"pel-count"`
		Pending         []json.RawMessage `json:"pending"`
		Consumers       []consumer        `json:"consumers"`
	}
	var wg, gg []group
	mustJSON(t, x["groups"], &wg)
	mustJSON(t, o.Stream["groups"], &gg)
	if len(wg) != len(gg) {
		t.Errorf("%s: %d groups, want %d", key, len(gg), len(wg))
		return
	}
	for i := range wg {
		w, g := wg[i], gg[i]
		if _, hasActive := firstConsumerHasActive(x["groups"]); !hasActive {
			for j := range g.Consumers {
				g.Consumers[j].ActiveTime = nil
			}
		}
		if !reflect.DeepEqual(asJSON(t, g), asJSON(t, w)) {
			t.Errorf("%s: group %d differs:\n got %s\nwant %s", key, i, asJSON(t, g), asJSON(t, w))
		}
	}
}

// firstConsumerHasActive tells whether the server reported active-time
// (7.2+), so that older files' absent field compares equal.
func firstConsumerHasActive(groups json.RawMessage) (string, bool) {
	return "", bytes.Contains(groups, []byte(`"active-time"`))
}

// compareStream50 checks a Redis 5.0 stream, whose server had no XINFO FULL.
func compareStream50(t *testing.T, key string, e corpustest.Record, o *ourRecord) {
	var xinfo map[string]json.RawMessage
	mustJSON(t, e.Stream["xinfo"], &xinfo)
	if !jsonEqual(t, o.Stream["length"], xinfo["length"]) || !jsonEqual(t, o.Stream["last-generated-id"], xinfo["last-generated-id"]) {
		t.Errorf("%s: length/last id %s/%s, want %s/%s", key, o.Stream["length"], o.Stream["last-generated-id"], xinfo["length"], xinfo["last-generated-id"])
	}
	var groups []struct {
		Name    string `json:"name"`
		LastID  string `json:"last-delivered-id"`
		Pending [][4]any
	}
	mustJSON(t, o.Stream["groups"], &groups)
	var wantGroups []struct {
		Name      string `json:"name"`
		LastID    string `json:"last-delivered-id"`
		Pending   int    `json:"pending"`
		Consumers int    `json:"consumers"`
	}
	mustJSON(t, e.Stream["xinfo_groups"], &wantGroups)
	var xpending map[string][][4]any
	mustJSON(t, e.Stream["xpending"], &xpending)
	if len(groups) != len(wantGroups) {
		t.Errorf("%s: %d groups, want %d", key, len(groups), len(wantGroups))
		return
	}
	for i, w := range wantGroups {
		g := groups[i]
		if g.Name != w.Name || g.LastID != w.LastID || len(g.Pending) != w.Pending {
			t.Errorf("%s: group %s/%s/%d, want %s/%s/%d", key, g.Name, g.LastID, len(g.Pending), w.Name, w.LastID, w.Pending)
			continue
		}
		for j, p := range xpending[w.Name] {
			// id, consumer and delivery count; the third field is idle time.
			if fmt.Sprint(g.Pending[j][0], g.Pending[j][1], g.Pending[j][3]) != fmt.Sprint(p[0], p[1], p[3]) {
				t.Errorf("%s: group %s pending %d is %v, want %v", key, w.Name, j, g.Pending[j], p)
			}
		}
	}
}

// checkDumps decodes every DUMP payload and compares it with the key's
// value as read from the file.
func checkDumps(t *testing.T, f corpustest.File, expected []corpustest.Record) {
	for _, e := range expected {
		if e.DumpHex == nil {
			continue
		}
		payload, err := hex.DecodeString(*e.DumpHex)
		if err != nil {
			t.Fatal(err)
		}
		r, err := rdb.NewDumpReader(payload)
		if err != nil {
			t.Errorf("%q: DUMP payload: %v", e.KeyB64, err)
			continue
		}
		rec, err := r.Next()
		if err != nil {
			t.Errorf("%q: DUMP payload: %v", e.KeyB64, err)
			continue
		}
		var buf bytes.Buffer
		jw := export.NewJSONWriter(&buf)
		rec.DB = e.DB
		rec.Key = e.KeyB64
		rec.ExpireAt = 0
		if e.ExpireAtMs != nil {
			rec.ExpireAt = *e.ExpireAtMs
		}
		if err := jw.WriteKey(r, rec); err != nil {
			t.Errorf("%q: DUMP payload: %v", e.KeyB64, err)
			continue
		}
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("%q: DUMP payload: after the value: %v", e.KeyB64, err)
		}
		jw.Flush()
		o := ourRecord{fromDump: true}
		mustJSON(t, buf.Bytes(), &o)
		compareRecord(t, f, e, &o)
	}
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if len(b) == 0 {
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("JSON %s: %v", shortRaw(b), err)
	}
}

func asJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var g any
	json.Unmarshal(b, &g)
	b, _ = json.Marshal(g)
	return string(b)
}

func jsonEqual(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	mustJSON(t, a, &x)
	mustJSON(t, b, &y)
	return reflect.DeepEqual(x, y)
}

func sortB64(s []string) {
	sort.Slice(s, func(i, j int) bool {
		a, _ := base64.StdEncoding.DecodeString(s[i])
		b, _ := base64.StdEncoding.DecodeString(s[j])
		return bytes.Compare(a, b) < 0
	})
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
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
