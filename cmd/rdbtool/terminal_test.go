package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/rdb"
)

const hostile = "k\x1b[31mred\x07\r\x9b2J"

// hostileFile writes an RDB file with an aux field and a key holding
// terminal control sequences.
func hostileFile(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAux([]byte("note\x1b]0;title\x07"), []byte("v\x1b[2J")); err != nil {
		t.Fatal(err)
	}
	if err := w.SelectDB(0); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteString(rdb.KeyHeader{Key: []byte(hostile)}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hostile.rdb")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInfoTableEscapesControlBytes(t *testing.T) {
	out, code := run(t, "info", hostileFile(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("control bytes reach the table:\n%q", out)
	}
	if !strings.Contains(out, `"note\x1b]0;title\a"`) || !strings.Contains(out, `"v\x1b[2J"`) {
		t.Errorf("the aux field is not shown quoted:\n%s", out)
	}
}

// TestMemoryCSVKeepsExactBytesOffTerminal: written to a file or pipe the
// CSV holds the key's exact bytes, quoted as CSV quotes them.
func TestMemoryCSVKeepsExactBytesOffTerminal(t *testing.T) {
	out, code := run(t, "memory", hostileFile(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not valid CSV: %v\n%q", err, out)
	}
	if len(rows) != 2 || rows[1][2] != hostile {
		t.Fatalf("rows %q, want the key %q exactly", rows, hostile)
	}
}

func TestControlEscaper(t *testing.T) {
	in := "a\x1bb\x07c\td\ne\x7f é \u009b \xff end é"
	var out bytes.Buffer
	e := &controlEscaper{w: &out}
	// Byte by byte: sequences split across writes are kept together.
	for i := 0; i < len(in); i++ {
		if _, err := e.Write([]byte{in[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.flush(); err != nil {
		t.Fatal(err)
	}
	want := `a\x1bb\x07c` + "\td\ne" + `\x7f é \xc2\x9b \xff end é`
	if out.String() != want {
		t.Errorf("got  %q\nwant %q", out.String(), want)
	}
	if terminalSafe(&out) != &out {
		t.Error("a buffer is not a terminal: terminalSafe must return it as it is")
	}
	if printable("plain é") != "plain é" || printable("a\x1b") != `"a\x1b"` || printable("\xff") != `"\xff"` {
		t.Error("printable")
	}
}
