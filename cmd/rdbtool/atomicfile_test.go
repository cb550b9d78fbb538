package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/rdbtool/rdbtool/internal/writeback"
)

// A large output is handed to the kernel's writeback as it is written
// (every writeback.Every bytes), and arrives whole under its name.
func TestAtomicFileLargeOutput(t *testing.T) {
	name := filepath.Join(t.TempDir(), "out.rdb")
	a, err := createAtomic(name, false)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	var want bytes.Buffer
	for i := range 2*writeback.Every/len(chunk) + 3 {
		chunk[0] = byte(i)
		if _, err := a.Write(chunk); err != nil {
			t.Fatal(err)
		}
		want.Write(chunk)
	}
	if a.flushed != 2*writeback.Every {
		t.Fatalf("writeback started for %d bytes of %d, want %d", a.flushed, a.written, 2*writeback.Every)
	}
	if _, err := os.Stat(name); !os.IsNotExist(err) {
		t.Fatalf("%s exists before commit: %v", name, err)
	}
	if err := a.commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("%d bytes in %s, want the %d written", len(got), name, want.Len())
	}
	ents, _ := os.ReadDir(filepath.Dir(name))
	if len(ents) != 1 {
		t.Fatalf("left beside the output: %v", ents)
	}
}
