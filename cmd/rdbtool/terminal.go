package main

import (
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/internal/display"
)

// printable is display.Quote: a key or aux value from a file quoted when
// it could drive a terminal (escape sequences, invalid UTF-8).
func printable(s string) string { return display.Quote(s) }

// terminalSafe returns w, or when w is standard output and that is a
// terminal, a writer that shows every control byte but newline and tab as
// \xNN (and bytes that are not UTF-8 as well): output meant for files and
// pipes (CSV) keeps its exact bytes there, and cannot drive the terminal.
func terminalSafe(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); !ok || f != os.Stdout || !term.IsTerminal(int(f.Fd())) {
		return w
	}
	return &controlEscaper{w: w}
}

// controlEscaper writes its input with control bytes escaped.
type controlEscaper struct {
	w     io.Writer
	carry []byte // an incomplete UTF-8 sequence from the last Write
	buf   []byte
}

func (e *controlEscaper) Write(p []byte) (int, error) {
	in := p
	if len(e.carry) > 0 {
		in = append(e.carry, p...)
		e.carry = nil
	}
	out := e.buf[:0]
	const hex = "0123456789abcdef"
	for i := 0; i < len(in); {
		c := in[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
				out = append(out, '\\', 'x', hex[c>>4], hex[c&15])
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		if r == utf8.RuneError && n <= 1 {
			if !utf8.FullRune(in[i:]) && len(in)-i < utf8.UTFMax {
				e.carry = append([]byte(nil), in[i:]...)
				break
			}
			out = append(out, '\\', 'x', hex[c>>4], hex[c&15])
			i++
			continue
		}
		if r >= 0x80 && r < 0xa0 {
			// C1 controls (CSI is U+009B).
			for _, b := range in[i : i+n] {
				out = append(out, '\\', 'x', hex[b>>4], hex[b&15])
			}
		} else {
			out = append(out, in[i:i+n]...)
		}
		i += n
	}
	e.buf = out
	if _, err := e.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// flush writes out an incomplete sequence left at the end, escaped.
func (e *controlEscaper) flush() error {
	if len(e.carry) == 0 {
		return nil
	}
	var out []byte
	const hex = "0123456789abcdef"
	for _, b := range e.carry {
		out = append(out, '\\', 'x', hex[b>>4], hex[b&15])
	}
	e.carry = nil
	_, err := e.w.Write(out)
	return err
}
