package analyze

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestLoadPredictorFromDumps feeds the DUMP payloads the live server
// returned for every key of a corpus file to a LoadPredictor, as a
// restore from a live source would, and compares with PredictLoad over
// the file itself: the same keys and the same dataset.
func TestLoadPredictorFromDumps(t *testing.T) {
	dir := filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.0.15")
	f := corpustest.File{Name: "redis-7.0.15/main", RDB: filepath.Join(dir, "main.rdb"),
		Expected: filepath.Join(dir, "main.expected.jsonl.gz"), Meta: filepath.Join(dir, "main.meta.json")}
	v := ServerVersion{Major: 7, Minor: 0, Patch: 15}
	// Every key with a TTL has expired by then: the expired keys of the
	// file, which have no DUMP, are dropped on both sides.
	opts := Options{ServerVersion: &v, Allocator: JemallocSystem, Now: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}

	fh, err := os.Open(f.RDB)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	want, err := PredictLoad(context.Background(), rdb.NewReader(bufio.NewReader(fh)), opts)
	if err != nil {
		t.Fatal(err)
	}

	p := NewLoadPredictor(opts)
	n := 0
	for _, e := range corpustest.Expected(t, f) {
		if e.DumpHex == nil {
			continue
		}
		payload, err := hex.DecodeString(*e.DumpHex)
		if err != nil {
			t.Fatal(err)
		}
		r, err := rdb.NewDumpReader(payload)
		if err != nil {
			t.Fatalf("%q: %v", e.KeyB64, err)
		}
		rec, err := r.Next()
		if err != nil {
			t.Fatalf("%q: %v", e.KeyB64, err)
		}
		rec.DB, rec.Key = e.DB, e.KeyB64
		if e.ExpireAtMs != nil {
			rec.ExpireAt = *e.ExpireAtMs
		}
		if err := p.Add(r, rec); err != nil {
			t.Fatalf("%q: %v", e.KeyB64, err)
		}
		n++
	}
	got := p.Prediction()
	if n < 50 || got.Keys != want.Keys || got.Keys == 0 || got.Dataset != want.Dataset || got.Server != want.Server {
		t.Errorf("from %d DUMP payloads: %d keys, dataset %d, server %s; from the file: %d keys, dataset %d, server %s",
			n, got.Keys, got.Dataset, got.Server, want.Keys, want.Dataset, want.Server)
	}
	// Without the file's RESIZEDB hints the tables are sized by the keys
	// alone; with them, as a load sizes them.
	if got.KeyspaceTables > want.KeyspaceTables {
		t.Errorf("keyspace tables %d from DUMPs, %d from the file", got.KeyspaceTables, want.KeyspaceTables)
	}
}
