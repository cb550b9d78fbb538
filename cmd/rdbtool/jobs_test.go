package main

import (
	"os"
	"path/filepath"
	"testing"
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
