package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// verifyCopy reads the whole file (its key count and checksum status are
// the full decode's) and leaves an exact copy of it.
func TestVerifyCopy(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "corpus", "redis-7.0.15", "main.rdb")
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	wantKeys, wantNote, err := walkOurs(file, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(t.TempDir(), "copy-*.rdb")
	if err != nil {
		t.Fatal(err)
	}
	keys, note, err := verifyCopy(file, out)
	if err != nil {
		t.Fatal(err)
	}
	if keys != wantKeys || note != wantNote || note != "checksum verified" {
		t.Errorf("verifyCopy: %d keys, %q; the full decode: %d keys, %q", keys, note, wantKeys, wantNote)
	}
	got, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the copy is %d bytes and differs from the %d of the file", len(got), len(want))
	}

}

// Damage that only decoding the values finds (the file has no checksum)
// fails verifyCopy as it fails the full decode.
func TestVerifyCopyDamagedValue(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "corpus", "redis-7.0.15", "nochecksum.rdb")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	damaged := filepath.Join(dir, "damaged.rdb")
	valueOnly := 0 // damage the headers pass reads past
	for off := 100; off < len(orig)-9; off += 37 {
		b := bytes.Clone(orig)
		b[off] ^= 0x5a
		if err := os.WriteFile(damaged, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, headersErr := walkOurs(damaged, false)
		_, _, fullErr := walkOurs(damaged, true)
		out, err := os.CreateTemp(dir, "copy-*.rdb")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = verifyCopy(damaged, out)
		os.Remove(out.Name())
		if (err == nil) != (fullErr == nil) {
			t.Errorf("byte %d damaged: verifyCopy: %v; the full decode: %v", off, err, fullErr)
		}
		if headersErr == nil && fullErr != nil {
			valueOnly++
		}
	}
	if valueOnly < 10 {
		t.Errorf("only %d damaged bytes were found by decoding values alone", valueOnly)
	}
	t.Logf("%d of the damaged files fail only when values are decoded", valueOnly)
}
