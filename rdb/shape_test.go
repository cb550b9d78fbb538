package rdb_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestShapeMatchesDecode checks ReadShape's counts and sizes against a full
// decode of the same value, for every key of every corpus file.
func TestShapeMatchesDecode(t *testing.T) {
	for _, f := range corpustest.Files(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		shapes := rdb.NewReader(bytes.NewReader(data))
		values := rdb.NewReader(bytes.NewReader(data))
		deep := rdb.NewReader(bytes.NewReader(data))
		keys := 0
		for {
			rec, err := shapes.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			vrec, err := values.Next()
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			drec, err := deep.Next()
			if err != nil {
				t.Fatalf("%s: %v", f.Name, err)
			}
			if rec.Kind != rdb.KindKey {
				continue
			}
			keys++
			var elemBytes, nodeBytes, nodes uint64
			sh, err := shapes.ReadShape(rdb.ShapeOptions{
				Element: func(a, b uint64) { elemBytes += a + b },
				Node:    func(size, count, stored uint64, compressed bool) { nodeBytes += size; nodes++ },
			})
			if err != nil {
				t.Fatalf("%s %q: shape: %v", f.Name, rec.Key, err)
			}
			dsh, err := deep.ReadShape(rdb.ShapeOptions{Deep: true})
			if err != nil {
				t.Fatalf("%s %q: deep shape: %v", f.Name, drec.Key, err)
			}
			v, err := values.ReadValue()
			if err != nil {
				t.Fatalf("%s %q: value: %v", f.Name, vrec.Key, err)
			}
			var n, largest uint64
			switch v.Type {
			case rdb.TypeString:
				n, largest = 1, uint64(len(v.String))
				if sh.StringLen != uint64(len(v.String)) {
					t.Errorf("%s %q: StringLen %d, value has %d bytes", f.Name, rec.Key, sh.StringLen, len(v.String))
				}
			case rdb.TypeList, rdb.TypeSet:
				n = uint64(len(v.Items))
				for _, it := range v.Items {
					largest = max(largest, uint64(len(it)))
				}
			case rdb.TypeZSet:
				n = uint64(len(v.ZSet))
				for _, m := range v.ZSet {
					largest = max(largest, uint64(len(m.Member)))
				}
			case rdb.TypeHash:
				n = uint64(len(v.Hash))
				for _, h := range v.Hash {
					largest = max(largest, uint64(len(h.Field)), uint64(len(h.Value)))
				}
			case rdb.TypeStream:
				n = v.Stream.Length
			case rdb.TypeModule:
				n = 0
			}
			if sh.Elements != n || dsh.Elements != n {
				t.Errorf("%s %q (%s/%s): shape says %d elements (deep %d), value has %d", f.Name, rec.Key, rec.Type, rec.Encoding, sh.Elements, dsh.Elements, n)
			}
			if sh.LargestKnown && sh.Largest != largest {
				t.Errorf("%s %q: largest %d, value's largest %d", f.Name, rec.Key, sh.Largest, largest)
			}
			if dsh.LargestKnown && v.Type != rdb.TypeStream && dsh.Largest != largest {
				t.Errorf("%s %q (%s): deep largest %d, value's largest %d", f.Name, rec.Key, rec.Encoding, dsh.Largest, largest)
			}
			if (sh.Nodes > 0 || nodes > 0) && (nodes != sh.Nodes || nodeBytes != sh.BlobBytes) {
				t.Errorf("%s %q: Node callback saw %d nodes of %d bytes, shape says %d of %d", f.Name, rec.Key, nodes, nodeBytes, sh.Nodes, sh.BlobBytes)
			}
			if sh.ElementBytes != elemBytes {
				t.Errorf("%s %q: ElementBytes %d, callback saw %d", f.Name, rec.Key, sh.ElementBytes, elemBytes)
			}
			if sh.StoredBytes <= 0 || sh.StoredBytes != dsh.StoredBytes {
				t.Errorf("%s %q: stored bytes %d / deep %d", f.Name, rec.Key, sh.StoredBytes, dsh.StoredBytes)
			}
			if v.Type == rdb.TypeModule && sh.Module.Name != v.Module.Name {
				t.Errorf("%s %q: module %q, value says %q", f.Name, rec.Key, sh.Module.Name, v.Module.Name)
			}
		}
		if keys == 0 && f.Scenario() != "aof-preamble" {
			t.Errorf("%s: no keys", f.Name)
		}
	}
}
