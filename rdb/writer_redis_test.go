package rdb_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// convertForServer writes data as an RDB 10 file with rdb.Copy, without
// the module keys and module aux data the test server has no module for.
func convertForServer(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	r := rdb.NewReader(bytes.NewReader(data), rdb.WithName(name))
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: serverTarget, Policy: serverPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.Copy(w, r, rdb.CopyOptions{SkipModules: true}); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return buf.Bytes()
}

// TestWriterRedisServer: every corpus file converted to RDB 10 passes
// redis-check-rdb, loads into redis-server 7.0.15, and the server then
// holds what the corpus says the original server held, in the encoding
// our reader reports for the written file.
func TestWriterRedisServer(t *testing.T) {
	t.Parallel()
	t.Logf("server: %s", redistest.Version(t))
	files := corpustest.Files(t)
	for _, f := range files {
		if f.Scenario() == "aof-preamble" {
			continue // its records are the state after the AOF tail
		}
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel() // most of the time is the server's start and load
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
			redistest.CompareServer(t, s, corpustest.Expected(t, f), redistest.CompareOptions{Encodings: encodings, CheckTTL: true})
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
			m[redistest.EncodingKey(rec.DB, rec.Key)] = rec.Encoding
		}
	}
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
			redistest.MustDo(t, s, "FLUSHALL")
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
				payload, err := rdb.EncodeDumpFrom(r, rec, rdb.WriterOptions{Target: serverTarget, Policy: serverPolicy})
				if err != nil {
					t.Fatalf("%q: %v", key, err)
				}
				if !dbs[db] {
					dbs[db] = true
				}
				redistest.MustDo(t, s, "SELECT", db)
				if _, err := s.Do("RESTORE", key, 0, payload, "REPLACE"); err != nil {
					t.Errorf("%q: RESTORE: %v", key, err)
					continue
				}
				back := redistest.AsBytes(redistest.MustDo(t, s, "DUMP", key))
				if err := sameDumpValue(payload, back); err != nil {
					t.Errorf("%q: DUMP after RESTORE: %v", key, err)
				}
			}
			redistest.CompareServer(t, s, corpustest.Expected(t, f), redistest.CompareOptions{})
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
