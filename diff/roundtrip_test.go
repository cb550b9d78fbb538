package diff_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/internal/redistest"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/restore"
)

// convertFile writes src again at target version to a temporary file,
// record by record with CopyKey, as `rdbtool convert` does.
func convertFile(t *testing.T, src string, version int) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	target, err := rdb.TargetVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	r := rdb.NewReader(bytes.NewReader(data), rdb.WithName(src))
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: target})
	if err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch rec.Kind {
		case rdb.KindKey:
			err = w.CopyKey(r, rec)
		case rdb.KindAux:
			err = w.WriteAux(rec.AuxKey, rec.AuxValue)
		case rdb.KindSelectDB:
			err = w.SelectDB(rec.DB)
		case rdb.KindFunction:
			err = w.WriteFunction(rec.Function)
		}
		if err != nil {
			t.Fatalf("write %v record %q: %v", rec.Kind, rec.Key, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "converted.rdb")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConvertedCopyIsSame: a file and its copy written at another RDB
// version (older and newer, Redis and Valkey) hold the same logical
// content, though the encodings differ (ziplist against listpack, intset
// against hashtable, stream layouts).
func TestConvertedCopyIsSame(t *testing.T) {
	cases := []struct {
		file    string
		version int
	}{
		{"redis-2.8.24/main", 11},
		{"redis-6.2.16/main", 12},
		{"redis-7.0.15/main", 10},
		{"redis-2.8.24/main", 7},
		{"redis-7.4.1/main", 80},
		{"valkey-8.0.1/main", 11},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f := corpustest.Find(t, c.file)
			conv := convertFile(t, f.RDB, c.version)
			res, keys := run(t, diff.FileInput(f.RDB), diff.FileInput(conv), diff.Options{})
			for k, g := range keys {
				t.Errorf("%s: %s %+v", k, g.kind, g.kd.Details)
			}
			if res.Summary.A.Keys == 0 || res.Summary.A.Keys != res.Summary.B.Keys {
				t.Errorf("keys compared: %d vs %d", res.Summary.A.Keys, res.Summary.B.Keys)
			}
		})
	}
}

// TestRestoredServerIsSame restores a corpus file into an empty server with
// the restore package, then compares the file with the server.
func TestRestoredServerIsSame(t *testing.T) {
	f := corpustest.Find(t, "redis-7.0.15/main") // everything in it fits the 7.0 server
	s := redistest.Start(t, "")
	for _, method := range []restore.Method{restore.MethodKeys, restore.MethodSync} {
		if _, err := s.Do("FLUSHALL"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Do("FUNCTION", "FLUSH"); err != nil {
			t.Fatal(err)
		}
		rep, err := restore.Restore(context.Background(), restore.FileInputs(nil, f.RDB), restore.Options{
			Target: "redis://" + s.Addr, Method: method,
		})
		if err != nil {
			t.Fatalf("method %v: restore: %v", method, err)
		}
		if rep.Written == 0 {
			t.Fatalf("method %v: nothing restored", method)
		}
		live, err := diff.LiveInput(context.Background(), "redis://"+s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		res, keys := run(t, diff.FileInput(f.RDB), live, diff.Options{})
		live.Close()
		for k, g := range keys {
			t.Errorf("method %v: %s: %s %+v", method, k, g.kind, g.kd.Details)
		}
		if res.Summary.B.Keys != int64(rep.Written) {
			t.Errorf("method %v: %d keys on the server, %d restored", method, res.Summary.B.Keys, rep.Written)
		}
	}
}
