//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rdbtool/rdbtool/source"
)

// openPTY opens a pseudo-terminal: what is written to tty is read from
// the returned channel's buffer once tty is closed.
func openPTY(t *testing.T) (tty *os.File, output func() string) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Wide enough that no line is cut; no "\n" → "\r\n" translation.
	unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 400})
	if tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err == nil {
		tio.Oflag &^= unix.OPOST
		unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, tio)
	}
	var buf bytes.Buffer
	done := make(chan struct{})
	go func() {
		io.Copy(&buf, ptmx) // ends with EIO once every copy of tty is closed
		close(done)
	}()
	t.Cleanup(func() { ptmx.Close() })
	return tty, func() string {
		tty.Close()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("the terminal's output did not end")
		}
		return buf.String()
	}
}

// buildRdbtool builds the command.
func buildRdbtool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rdbtool")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// slowStdin feeds data to the command's standard input in two halves a
// second and a half apart: the progress line is drawn in between.
func slowStdin(t *testing.T, cmd *exec.Cmd, data []byte) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = r
	go func() {
		w.Write(data[:len(data)/2])
		time.Sleep(1500 * time.Millisecond)
		w.Write(data[len(data)/2:])
		w.Close()
	}()
	t.Cleanup(func() { r.Close() })
}

var progressDraw = regexp.MustCompile(`\r\x1b\[K-: [0-9.]+ (B|KiB|MiB) read, [0-9.]+ (B|KiB|MiB)/s`)

// TestProgressOnTerminal runs the real binary on a pseudo-terminal.
//
// ErasedBeforeTable runs the real binary with standard error
// and standard output on one pseudo-terminal, as an operator would, and an
// input that arrives slowly: the progress line is drawn, then erased
// ("\r" + erase-line) before the first byte of the table, and never drawn
// again.
func TestProgressOnTerminal(t *testing.T) {
	bin := buildRdbtool(t)
	t.Run("ErasedBeforeTable", func(t *testing.T) { progressErasedBeforeTable(t, bin) })
	t.Run("OnStderrOnly", func(t *testing.T) { progressOnStderrOnly(t, bin) })
	t.Run("Quiet", func(t *testing.T) { progressQuiet(t, bin) })
}

func progressErasedBeforeTable(t *testing.T, bin string) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	tty, output := openPTY(t)
	cmd := exec.Command(bin, "analyze", "-")
	cmd.Stdout, cmd.Stderr = tty, tty
	slowStdin(t, cmd, data)
	if err := cmd.Run(); err != nil {
		t.Fatalf("analyze: %v", err)
	}
	got := output()
	draws := progressDraw.FindAllStringIndex(got, -1)
	if len(draws) == 0 {
		t.Fatalf("no progress line drawn on the terminal:\n%q", got[:min(len(got), 300)])
	}
	// The table's first bytes: analyze's first table starts so.
	tableAt := strings.Index(got, "\nFiles (allocator")
	if tableAt < 0 {
		t.Fatalf("the table is not on the terminal:\n%q", got)
	}
	lastDraw := draws[len(draws)-1][1]
	if lastDraw > tableAt {
		t.Fatalf("a progress line was drawn inside the table:\n%q", got)
	}
	between := got[lastDraw:tableAt]
	if !strings.Contains(between, progressClear) {
		t.Errorf("the progress line was not erased before the table: %q follows it", between)
	}
	if rest := got[tableAt:]; strings.Contains(rest, "\x1b[K") || strings.Contains(rest, "\r") {
		t.Errorf("progress bytes inside the table:\n%q", rest)
	}
}

// progressOnStderrOnly: with standard output a pipe and standard
// error the terminal, the result holds no progress byte and the terminal
// is left clean.
func progressOnStderrOnly(t *testing.T, bin string) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := runCLI(t, "analyze", "-f", "json", sample)
	tty, output := openPTY(t)
	var stdout bytes.Buffer
	cmd := exec.Command(bin, "analyze", "-f", "json", "-")
	cmd.Stdout, cmd.Stderr = &stdout, tty
	slowStdin(t, cmd, data)
	if err := cmd.Run(); err != nil {
		t.Fatalf("analyze: %v", err)
	}
	term := output()
	if !progressDraw.MatchString(term) {
		t.Fatalf("no progress line on the terminal: %q", term)
	}
	if !strings.HasSuffix(term, progressClear) {
		t.Errorf("the terminal is left with a progress line: %q", term[max(0, len(term)-120):])
	}
	// The file's name differs ("-"); the rest is the same report.
	got := strings.ReplaceAll(stdout.String(), `"-"`, `"`+sample+`"`)
	if got != want || strings.ContainsAny(stdout.String(), "\r\x1b") {
		t.Errorf("standard output is not the report alone (%d bytes, want %d): %q", len(got), len(want), stdout.String()[:min(stdout.Len(), 200)])
	}
}

// progressQuiet: -q shows no progress line.
func progressQuiet(t *testing.T, bin string) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	tty, output := openPTY(t)
	cmd := exec.Command(bin, "info", "-q", "-")
	cmd.Stdout, cmd.Stderr = io.Discard, tty
	slowStdin(t, cmd, data)
	if err := cmd.Run(); err != nil {
		t.Fatalf("info: %v", err)
	}
	if term := output(); term != "" {
		t.Errorf("-q: the terminal got %q", term)
	}
}

// slowReader hands out its data a chunk per call, pausing before each.
type slowReader struct {
	data  []byte
	chunk int
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p[:min(len(p), s.chunk)], s.data)
	s.data = s.data[n:]
	return n, nil
}

// TestProgressPercentETAAndOneLine: inputs of known size show the
// percentage and the time left; two read at once share one line
// ("2 files"); the line is erased when the last one ends.
func TestProgressPercentETAAndOneLine(t *testing.T) {
	tty, output := openPTY(t)
	l := &progressLine{out: tty, fd: int(tty.Fd())}
	const size = 4 << 20
	srcs := make([]*source.Source, 2)
	for i := range srcs {
		srcs[i] = &source.Source{Name: fmt.Sprint("in", i), Size: size,
			Reader: &slowReader{data: make([]byte, size), chunk: 256 << 10, pause: 100 * time.Millisecond}}
		l.track(srcs[i], srcs[i].Name)
	}
	done := make(chan error, 2)
	for _, src := range srcs {
		go func() {
			buf := make([]byte, 256<<10)
			for {
				if _, err := src.Read(buf); err != nil {
					done <- nil
					return
				}
			}
		}()
	}
	for range srcs {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got := output()
	line := regexp.MustCompile(`\r\x1b\[K2 files: [0-9.]+% of 8\.00 MiB, [0-9.]+ (KiB|MiB)/s, ETA [0-9ms.]+`)
	if !line.MatchString(got) {
		t.Errorf("no combined line with percentage and time left: %q", got)
	}
	if strings.Contains(got, "in0:") || strings.Contains(got, "in1:") {
		t.Errorf("a line per file, overwriting each other: %q", got)
	}
	if !strings.HasSuffix(got, progressClear) {
		t.Errorf("not erased when the inputs ended: %q", got[max(0, len(got)-100):])
	}
	if strings.Contains(got, " MB") {
		t.Errorf("decimal unit names: %q", got)
	}
}

// TestProgressText: the line for one input of known size, with a
// command's own status after it (restore's keys written), and a name with
// control bytes shown quoted.
func TestProgressText(t *testing.T) {
	now := time.Now()
	l := &progressLine{}
	p := &progressInput{name: "dump.rdb", size: 100 << 20, start: now.Add(-10 * time.Second), line: l}
	p.n.Store(50 << 20)
	l.inputs = []*progressInput{p}
	l.status = "restore: 5 keys written"
	want := "dump.rdb: 50.0% of 100 MiB, 5.00 MiB/s, ETA 10s | restore: 5 keys written"
	if got := l.text(now); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	p.name, p.size = "a\x1b[2Jb", -1
	want = `"a\x1b[2Jb": 50.0 MiB read, 5.00 MiB/s | restore: 5 keys written`
	if got := l.text(now); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestBinarySize(t *testing.T) {
	for n, want := range map[float64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.00 KiB", 1536: "1.50 KiB", 5 << 20: "5.00 MiB",
		2.13 * (1 << 30): "2.13 GiB", 3 << 40: "3.00 TiB", -1: "0 B",
	} {
		if got := binarySize(n); got != want {
			t.Errorf("binarySize(%v) = %q, want %q", n, got, want)
		}
	}
}
