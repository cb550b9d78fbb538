package salvage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rdbtool/rdbtool/internal/corpustest"
)

// summary is what "rdbtool check" prints of a clean Result.
func summary(r *Result) string {
	return fmt.Sprintf("%s %d %s %v keys=%d bytes=%d dbs=%+v problems=%d", r.DialectName(), r.Version, r.Checksum, r.HeaderOK && r.EOF, r.Keys, r.KeyBytes, r.DBs, r.ProblemCount)
}

func compareScans(t *testing.T, name string, data []byte, opts Options) {
	t.Helper()
	want, err := Scan(bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		want = nil
	}
	for _, w := range []int{1, 2, 8} {
		got, clean, err := ScanParallel(context.Background(), bytes.NewReader(data), int64(len(data)), opts, w)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		switch {
		case clean && (want == nil || !want.Clean()):
			t.Fatalf("%s, %d workers: parallel scan says clean, Scan found %d problems: %+v", name, w, want.ProblemCount, want.Problems)
		case !clean && want != nil && want.Clean() && want.NoteCount == 0:
			// Notes (bytes after the trailer, empty collections...) are
			// Scan's to give: the parallel scan leaves such a file to it.
			t.Fatalf("%s, %d workers: parallel scan says not clean, Scan found nothing", name, w)
		case clean && summary(got) != summary(want):
			t.Fatalf("%s, %d workers:\n parallel %s\n Scan     %s", name, w, summary(got), summary(want))
		case clean && !reflect.DeepEqual(got.DBs, want.DBs):
			t.Fatalf("%s, %d workers: DBs %+v, Scan %+v", name, w, got.DBs, want.DBs)
		}
	}
}

// Clean corpus files give Scan's summary; damage is never called clean.
func TestScanParallelMatchesScan(t *testing.T) {
	for _, f := range corpustest.Files(t) {
		data, err := os.ReadFile(f.RDB)
		if err != nil {
			t.Fatal(err)
		}
		compareScans(t, f.Name, data, Options{Name: f.Name})
		compareScans(t, f.Name+" quick, no checksum", data, Options{Name: f.Name, Quick: true, SkipChecksum: true})
	}
	p := filepath.Join(corpustest.Root(), "testdata", "corpus", "redis-7.4.1", "main.rdb")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	step := len(data) / 30
	for i := 9; i < len(data); i += step {
		d := bytes.Clone(data)
		d[i] ^= 0x20
		compareScans(t, fmt.Sprintf("byte %d flipped", i), d, Options{})
		compareScans(t, fmt.Sprintf("byte %d flipped, no checksum", i), d, Options{SkipChecksum: true})
		compareScans(t, fmt.Sprintf("truncated at %d", i), data[:i], Options{})
	}
	compareScans(t, "trailing bytes", append(bytes.Clone(data), 0, 0, 0), Options{})
}
