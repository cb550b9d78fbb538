package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

// --jobs changes how many goroutines work, never what is printed or the
// exit status: analyze, memory, dump, check and diff at 1, 2 and 8 jobs,
// on a clean file and on a damaged copy.
func TestJobsSameOutput(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	damaged := filepath.Join(t.TempDir(), "damaged.rdb")
	d := append([]byte(nil), data...)
	d[len(d)/2] ^= 0x41
	if err := os.WriteFile(damaged, d, 0o644); err != nil {
		t.Fatal(err)
	}
	other := "../../testdata/corpus/redis-7.2.6/main.rdb"
	for _, file := range []string{sample, damaged} {
		for _, args := range [][]string{
			{"analyze", "--format", "json", "--now", "1700000000", file},
			{"memory", "--format", "csv", file},
			{"dump", file},
			{"check", file},
			{"diff", "--format", "json", "--as-of", "1700000000", other, file},
		} {
			want, wantCode := run(t, append(args, "--jobs", "1")...)
			for _, jobs := range []string{"2", "8"} {
				got, code := run(t, append(args, "--jobs", jobs)...)
				if got != want || code != wantCode {
					t.Fatalf("%v --jobs %s: exit %d, %d bytes of output; --jobs 1: exit %d, %d bytes\n%.400s\n---\n%.400s", args, jobs, code, len(got), wantCode, len(want), got, want)
				}
			}
		}
	}
}

// recordsOf describes every record of an RDB file but the ctime aux
// field's value (convert writes the time of the run there): offsets,
// sizes, names and decoded values.
func recordsOf(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rdb.NewReader(f)
	var out []string
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		s := fmt.Sprintf("%v %d db%d %q %q", rec.Kind, rec.Offset, rec.DB, rec.Key, rec.AuxKey)
		switch {
		case rec.Kind == rdb.KindKey:
			v, err := r.ReadValue()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			s += fmt.Sprintf(" %d %s exp%d %+v %+v", r.Offset(), rec.Encoding, rec.ExpireAt, v.String, len(v.Items)+len(v.Hash)+len(v.ZSet))
		case string(rec.AuxKey) != "ctime":
			s += fmt.Sprintf(" %q %d", rec.AuxValue, rec.Size)
		}
		out = append(out, s)
	}
	return out
}

// convert writes the same file at any --jobs (but for the ctime it
// stamps): corpus files, filtered and renumbered, to older targets.
func TestJobsSameConvert(t *testing.T) {
	dir := t.TempDir()
	for _, in := range []string{sample, "../../testdata/corpus/redis-7.0.15/main.rdb", "../../testdata/corpus/valkey-8.0.1/main.rdb", "../../testdata/corpus/redis-8.6.3/main.rdb"} {
		for _, extra := range [][]string{
			{"--target-version", "9", "--drop-field-ttls", "--downgrade-streams", "--drop-key-meta", "--drop-functions"},
			{"--target-version", "11", "--drop-field-ttls", "--drop-key-meta", "--downgrade-streams", "--match", "*s*", "--map-db", "15:3"},
		} {
			var want []string
			for _, jobs := range []string{"1", "2", "8"} {
				out := filepath.Join(dir, "out-"+jobs+".rdb")
				args := append([]string{"convert", "-q", "--jobs", jobs, in, out}, extra...)
				got, code := run(t, args...)
				if code != 0 {
					t.Fatalf("%v: exit %d: %s", args, code, got)
				}
				recs := recordsOf(t, out)
				if jobs == "1" {
					want = recs
					continue
				}
				if !slices.Equal(recs, want) {
					t.Fatalf("%v: records differ from --jobs 1:\n%v\n%v", args, recs, want)
				}
			}
		}
	}
}

// convert refuses a repeated key with the same message at any --jobs: the
// parallel sink looks keys up in batches, and the repeat here comes
// thousands of keys (several batches) after its first occurrence.
func TestJobsSameRepeatedKeyError(t *testing.T) {
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}, AllowDuplicateKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30000 {
		k := fmt.Appendf(nil, "key:%05d", i)
		if i == 25000 {
			k = []byte("key:00123")
		}
		if err := w.WriteString(rdb.KeyHeader{Key: k}, []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.rdb")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var want string
	for _, jobs := range []string{"1", "2", "8"} {
		msg, code := runMsg(t, "convert", "--jobs", jobs, in, filepath.Join(dir, "out.rdb"))
		if code != 1 || !strings.Contains(msg, `key "key:00123"`) || !strings.Contains(msg, "--on-duplicate") {
			t.Fatalf("--jobs %s: exit %d: %s", jobs, code, msg)
		}
		if jobs == "1" {
			want = msg
		} else if msg != want {
			t.Fatalf("--jobs %s: %s\n--jobs 1: %s", jobs, msg, want)
		}
	}
}
