package fuzz

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// readerSeeds returns every corpus and third-party .rdb under 64 KiB.
func readerSeeds(t testing.TB) [][]byte {
	var out [][]byte
	for _, pat := range []string{
		"../testdata/corpus/*/*.rdb",
		"../testdata/corpus-thirdparty/*/*.rdb",
	} {
		m, _ := filepath.Glob(pat)
		for _, p := range m {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) < 64<<10 {
				out = append(out, b)
			}
		}
	}
	if len(out) < 100 {
		t.Fatalf("fixtures missing: only %d seed files", len(out))
	}
	return out
}

// dumpSeeds returns DUMP payloads from the corpus expectations.
func dumpSeeds(t testing.TB) [][]byte {
	m, _ := filepath.Glob("../testdata/corpus/*/*.expected.jsonl.gz")
	var out [][]byte
	for _, p := range m {
		fh, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		gz, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(gz)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var rec struct {
				DumpHex *string `json:"dump_hex"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) != nil || rec.DumpHex == nil || len(*rec.DumpHex) > 16<<10 {
				continue
			}
			if b, err := hex.DecodeString(*rec.DumpHex); err == nil {
				out = append(out, b)
			}
		}
		fh.Close()
	}
	if len(out) < 100 {
		t.Fatalf("fixtures missing: only %d DUMP payloads", len(out))
	}
	return out
}

// decodeAll reads every record and fully decodes every value; it returns
// the error that ended the read (io.EOF on success).
func decodeAll(r *rdb.Reader) error {
	for {
		rec, err := r.Next()
		if err != nil {
			return err
		}
		if rec.Kind == rdb.KindKey {
			if err := r.VerifyValue(); err != nil {
				return err
			}
		}
	}
}

// checkErr: the read must end in io.EOF or a typed *rdb.Error.
func checkErr(t *testing.T, what string, err error) {
	if err == io.EOF {
		return
	}
	var re *rdb.Error
	if !errors.As(err, &re) {
		t.Fatalf("%s: error %v (%T) is not an *rdb.Error", what, err, err)
	}
	if !errors.Is(err, rdb.ErrTruncated) && !errors.Is(err, rdb.ErrCorrupt) && !errors.Is(err, rdb.ErrChecksum) && !errors.Is(err, rdb.ErrUnsupportedVersion) {
		t.Fatalf("%s: error %v wraps no sentinel", what, err)
	}
}

func FuzzReader(f *testing.F) {
	for _, b := range readerSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkErr(t, "with CRC", decodeAll(rdb.NewReader(bytes.NewReader(data))))
		checkErr(t, "without CRC", decodeAll(rdb.NewReader(bytes.NewReader(data), rdb.WithoutChecksum(), rdb.AllowNewerVersions())))
		// ReadValue keeps what it reads: it must work the same way.
		r := rdb.NewReader(bytes.NewReader(data), rdb.WithoutChecksum())
		for {
			rec, err := r.Next()
			if err != nil {
				checkErr(t, "ReadValue", err)
				break
			}
			if rec.Kind == rdb.KindKey {
				if _, err := r.ReadValue(); err != nil {
					checkErr(t, "ReadValue", err)
					break
				}
			}
		}
	})
}

func FuzzDumpPayload(f *testing.F) {
	for _, b := range dumpSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, opts := range [][]rdb.Option{nil, {rdb.WithoutChecksum()}} {
			r, err := rdb.NewDumpReader(payload, opts...)
			if err != nil {
				checkErr(t, "NewDumpReader", err)
				continue
			}
			err = decodeAll(r)
			if err != nil && strings.Contains(err.Error(), "PANIC") {
				t.Fatal(err)
			}
			checkErr(t, "DUMP payload", err)
		}
	})
}
