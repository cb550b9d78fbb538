package compact

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// The fixtures are verbatim copies of the read-only ground-truth corpus
// (shared/corpus/<server>/main.expected.jsonl): every record's dump_hex is a
// DUMP payload produced by a real server.
var corpusFiles = []string{
	"redis-6.2.16-main.expected.jsonl",
	"redis-7.0.15-main.expected.jsonl",
}

type corpusRecord struct {
	KeyB64      string          `json:"key_b64"`
	Type        string          `json:"type"`
	Encoding    string          `json:"encoding"`
	DumpHex     *string         `json:"dump_hex"`
	ValueB64    *string         `json:"value_b64"`
	ValueSHA256 *string         `json:"value_sha256"`
	Value       json.RawMessage `json:"value"`
}

func loadCorpus(t testing.TB, name string) []corpusRecord {
	t.Helper()
	path := filepath.Join("testdata", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("fixture missing (copy it from shared/corpus): %v", err)
	}
	defer f.Close()
	var recs []corpusRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var r corpusRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no records", path)
	}
	return recs
}

// rdbReader is a tiny reader for the parts of the RDB object format the tests
// need (lengths and strings).
type rdbReader struct {
	b   []byte
	pos int
}

func (r *rdbReader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, fmt.Errorf("truncated at %d", r.pos)
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *rdbReader) take(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.pos) {
		return nil, fmt.Errorf("need %d bytes at %d, have %d", n, r.pos, len(r.b)-r.pos)
	}
	s := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return s, nil
}

// length returns a length, or (special encoding, true) for 11xxxxxx.
func (r *rdbReader) length() (uint64, bool, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case 0:
		return uint64(c & 0x3F), false, nil
	case 1:
		d, err := r.byte1()
		return uint64(c&0x3F)<<8 | uint64(d), false, err
	case 2:
		switch c {
		case 0x80:
			s, err := r.take(4)
			if err != nil {
				return 0, false, err
			}
			return uint64(binary.BigEndian.Uint32(s)), false, nil
		case 0x81:
			s, err := r.take(8)
			if err != nil {
				return 0, false, err
			}
			return binary.BigEndian.Uint64(s), false, nil
		}
		return 0, false, fmt.Errorf("bad length byte %#x", c)
	}
	return uint64(c & 0x3F), true, nil
}

// rdbString is one string read from a dump.
type rdbString struct {
	val        []byte // decoded value
	lzf        []byte // compressed bytes when LZF-encoded
	intEncoded bool
}

func (r *rdbReader) str() (rdbString, error) {
	n, special, err := r.length()
	if err != nil {
		return rdbString{}, err
	}
	if !special {
		s, err := r.take(n)
		return rdbString{val: s}, err
	}
	switch n {
	case 0, 1, 2:
		s, err := r.take(1 << n)
		if err != nil {
			return rdbString{}, err
		}
		var v int64
		switch n {
		case 0:
			v = int64(int8(s[0]))
		case 1:
			v = int64(int16(binary.LittleEndian.Uint16(s)))
		default:
			v = int64(int32(binary.LittleEndian.Uint32(s)))
		}
		return rdbString{val: []byte(fmt.Sprint(v)), intEncoded: true}, nil
	case 3:
		clen, _, err := r.length()
		if err != nil {
			return rdbString{}, err
		}
		ulen, _, err := r.length()
		if err != nil {
			return rdbString{}, err
		}
		c, err := r.take(clen)
		if err != nil {
			return rdbString{}, err
		}
		out, err := LZFDecompress(c, int(ulen), nil)
		if err != nil {
			return rdbString{}, err
		}
		return rdbString{val: out, lzf: c}, nil
	}
	return rdbString{}, fmt.Errorf("bad string encoding %d", n)
}

// checkLZF verifies Redis's compress-or-not decision and byte identity for
// one RDB string. quicklist marks strings that may be in-memory compressed
// quicklist nodes (written as they are, whatever the RDB rule says).
func checkLZF(t *testing.T, where string, s rdbString, quicklist bool) (lzfSeen int) {
	t.Helper()
	if s.intEncoded {
		return 0
	}
	got, ok := LZFCompress(s.val, nil)
	if s.lzf != nil {
		if !ok || !bytes.Equal(got, s.lzf) {
			alt, ok2 := LZFCompressLimit(s.val, len(s.val), nil)
			if !(quicklist && ok2 && bytes.Equal(alt, s.lzf)) {
				t.Errorf("%s: LZF of %d bytes: got ok=%v %d bytes, server wrote %d bytes\n got  %x\n want %x", where, len(s.val), ok, len(got), len(s.lzf), head(got), head(s.lzf))
			}
		}
		return 1
	}
	if ok {
		t.Errorf("%s: server stored %d bytes verbatim but LZFCompress compressed them to %d", where, len(s.val), len(got))
	}
	return 0
}

func head(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

func collectListpack(t *testing.T, where string, blob []byte) []Entry {
	t.Helper()
	it, err := NewListpackIter(blob)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var es []Entry
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		es = append(es, e)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if n, err := ListpackLen(blob); err != nil || n != len(es) {
		t.Errorf("%s: ListpackLen = %d, %v; iterated %d", where, n, err, len(es))
	}
	var b ListpackBuilder
	for _, e := range es {
		b.AppendEntry(e)
	}
	if got := b.Bytes(); !bytes.Equal(got, blob) {
		t.Errorf("%s: rebuilt listpack differs\n got  %x\n want %x", where, head(got), head(blob))
	}
	return es
}

func collectZiplist(t *testing.T, where string, blob []byte) []Entry {
	t.Helper()
	it, err := NewZiplistIter(blob)
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	var es []Entry
	for {
		e, ok := it.Next()
		if !ok {
			break
		}
		es = append(es, e)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	if n, err := ZiplistLen(blob); err != nil || n != len(es) {
		t.Errorf("%s: ZiplistLen = %d, %v; iterated %d", where, n, err, len(es))
	}
	var b ZiplistBuilder
	for _, e := range es {
		b.AppendEntry(e)
	}
	if got := b.Bytes(); !bytes.Equal(got, blob) {
		t.Errorf("%s: rebuilt ziplist differs\n got  %x\n want %x", where, head(got), head(blob))
	}
	return es
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func entryStrings(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.String()
	}
	return out
}

// checkValue compares decoded entries with the server's own view of the key
// for the simple cases (lists and hashes; sets of integers).
func checkValue(t *testing.T, where string, r corpusRecord, elems []string) {
	t.Helper()
	switch r.Type {
	case "list":
		var want []string
		if err := json.Unmarshal(r.Value, &want); err != nil {
			t.Fatal(err)
		}
		if len(want) != len(elems) {
			t.Errorf("%s: %d elements, want %d", where, len(elems), len(want))
			return
		}
		for i := range want {
			if string(b64(t, want[i])) != elems[i] {
				t.Errorf("%s: element %d = %q", where, i, elems[i])
			}
		}
	case "hash":
		var want map[string]string
		if err := json.Unmarshal(r.Value, &want); err != nil {
			t.Fatal(err)
		}
		if len(elems)%2 != 0 || len(elems)/2 != len(want) {
			t.Errorf("%s: %d entries for %d fields", where, len(elems), len(want))
			return
		}
		for i := 0; i < len(elems); i += 2 {
			v, ok := want[base64.StdEncoding.EncodeToString([]byte(elems[i]))]
			if !ok || string(b64(t, v)) != elems[i+1] {
				t.Errorf("%s: field %q = %q", where, elems[i], elems[i+1])
			}
		}
	case "set":
		var want []string
		if err := json.Unmarshal(r.Value, &want); err != nil {
			t.Fatal(err)
		}
		var ws []string
		for _, w := range want {
			ws = append(ws, string(b64(t, w)))
		}
		got := append([]string(nil), elems...)
		sort.Strings(ws)
		sort.Strings(got)
		if fmt.Sprint(ws) != fmt.Sprint(got) {
			t.Errorf("%s: members differ: got %d want %d", where, len(got), len(ws))
		}
	}
}

func TestCorpusDumps(t *testing.T) {
	for _, name := range corpusFiles {
		t.Run(name, func(t *testing.T) {
			stats := map[string]int{}
			for i, rec := range loadCorpus(t, name) {
				if rec.DumpHex == nil {
					continue
				}
				dump, err := hex.DecodeString(*rec.DumpHex)
				if err != nil || len(dump) < 11 {
					t.Fatalf("record %d: bad dump_hex", i)
				}
				where := fmt.Sprintf("%s record %d (%s/%s key %s)", name, i, rec.Type, rec.Encoding, rec.KeyB64)
				r := &rdbReader{b: dump[:len(dump)-10], pos: 1}
				must := func(s rdbString, err error) rdbString {
					t.Helper()
					if err != nil {
						t.Fatalf("%s: reading dump: %v", where, err)
					}
					return s
				}
				switch typ := dump[0]; typ {
				case 0:
					s := must(r.str())
					stats["lzf"] += checkLZF(t, where, s, false)
					switch {
					case rec.ValueB64 != nil:
						if !bytes.Equal(s.val, b64(t, *rec.ValueB64)) {
							t.Errorf("%s: value differs", where)
						}
					case rec.ValueSHA256 != nil:
						sum := sha256.Sum256(s.val)
						if hex.EncodeToString(sum[:]) != *rec.ValueSHA256 {
							t.Errorf("%s: value sha256 differs", where)
						}
					}
					stats["string"]++
				case 10, 12, 13:
					s := must(r.str())
					stats["lzf"] += checkLZF(t, where, s, false)
					es := collectZiplist(t, where, s.val)
					checkValue(t, where, rec, entryStrings(es))
					stats["ziplist"]++
				case 16, 17, 20:
					s := must(r.str())
					stats["lzf"] += checkLZF(t, where, s, false)
					es := collectListpack(t, where, s.val)
					checkValue(t, where, rec, entryStrings(es))
					stats["listpack"]++
				case 11:
					s := must(r.str())
					stats["lzf"] += checkLZF(t, where, s, false)
					it, err := NewIntsetIter(s.val)
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					var members []int64
					var strs []string
					for {
						v, ok := it.Next()
						if !ok {
							break
						}
						members = append(members, v)
						strs = append(strs, fmt.Sprint(v))
					}
					if it.Err() != nil {
						t.Fatalf("%s: %v", where, it.Err())
					}
					if got := BuildIntset(members); !bytes.Equal(got, s.val) {
						t.Errorf("%s: rebuilt intset differs\n got  %x\n want %x", where, head(got), head(s.val))
					}
					checkValue(t, where, rec, strs)
					stats[fmt.Sprintf("intset%d", it.Encoding()*8)]++
				case 14, 18:
					n, _, err := r.length()
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					var all []string
					for j := uint64(0); j < n; j++ {
						container := uint64(2)
						if typ == 18 {
							if container, _, err = r.length(); err != nil {
								t.Fatalf("%s: %v", where, err)
							}
						}
						s := must(r.str())
						stats["lzf"] += checkLZF(t, where, s, true)
						nw := fmt.Sprintf("%s node %d", where, j)
						switch {
						case container == 1:
							all = append(all, string(s.val))
							stats["plain-node"]++
						case typ == 14:
							all = append(all, entryStrings(collectZiplist(t, nw, s.val))...)
							stats["ziplist"]++
						default:
							all = append(all, entryStrings(collectListpack(t, nw, s.val))...)
							stats["listpack"]++
						}
					}
					checkValue(t, where, rec, all)
				case 15, 19, 21:
					n, _, err := r.length()
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					for j := uint64(0); j < n; j++ {
						if k := must(r.str()); len(k.val) != 16 {
							t.Fatalf("%s: stream node key of %d bytes", where, len(k.val))
						}
						s := must(r.str())
						stats["lzf"] += checkLZF(t, where, s, false)
						collectListpack(t, fmt.Sprintf("%s stream node %d", where, j), s.val)
						stats["stream-listpack"]++
					}
				}
			}
			t.Logf("checked: %v", stats)
			for _, k := range []string{"lzf", "string"} {
				if stats[k] == 0 {
					t.Errorf("no %s cases found", k)
				}
			}
			if stats["listpack"]+stats["ziplist"] == 0 {
				t.Error("no listpack/ziplist cases found")
			}
		})
	}
}
