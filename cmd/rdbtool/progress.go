package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/internal/display"
	"github.com/rdbtool/rdbtool/internal/periodic"
	"github.com/rdbtool/rdbtool/source"
)

// The progress line: one line on stderr, only when stderr is a terminal,
// redrawn every progressInterval with every input being read (files read
// in parallel share it), and erased before anything else is printed:
//   - when the last input is read to its end;
//   - by endProgress, which every command calls before printing its result
//     (reportTo does) and main before printing an error;
//   - for a moment by anything written to stderr through progressStderr.
// When the result goes to standard output on the same terminal while
// inputs are still read (dump, memory), the line is not shown at all.

const progressInterval = 500 * time.Millisecond

// progressClear returns the cursor to the start of the line and erases it.
const progressClear = "\r\033[K"

// progress is the process's progress line.
var progress = &progressLine{out: os.Stderr, fd: int(os.Stderr.Fd())}

type progressLine struct {
	mu       sync.Mutex
	out      io.Writer
	fd       int
	inputs   []*progressInput
	status   string // the last line a command reported of its own (restore)
	shown    bool   // a line is on the terminal now
	ended    bool   // endProgress was called: nothing more is shown
	stopTick func()
}

// progressInput counts the bytes read from one input.
type progressInput struct {
	r     io.Reader
	name  string
	size  int64 // -1: unknown
	start time.Time
	n     atomic.Int64
	done  atomic.Bool
	line  *progressLine
}

func (p *progressInput) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	total := p.n.Add(int64(n))
	if err != nil || (p.size > 0 && total >= p.size) {
		p.finish()
	}
	return n, err
}

func (p *progressInput) finish() {
	if p.done.CompareAndSwap(false, true) {
		p.line.remove(p)
	}
}

// openTracked opens name as source.Open does, counting its bytes for the
// progress line.
func openTracked(ctx context.Context, name string) (*source.Source, error) {
	src, err := openSource(ctx, name)
	if err == nil {
		trackProgress(src, name)
	}
	return src, err
}

// trackProgress makes src count its bytes for the progress line, when
// stderr is a terminal. The percentage and the time left are shown when
// the input's size is known (an uncompressed file or object).
func trackProgress(src *source.Source, name string) {
	progress.track(src, name)
}

func (l *progressLine) track(src *source.Source, name string) {
	if !term.IsTerminal(l.fd) {
		return
	}
	size := src.Size
	if src.Compression != "" {
		size = -1 // src.Size counts compressed bytes, the reader decompressed ones
	}
	p := &progressInput{r: src.Reader, name: name, size: size, start: time.Now(), line: l}
	src.Reader = p
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.inputs = append(l.inputs, p)
	if l.stopTick == nil {
		l.stopTick = periodic.Every(progressInterval, l.draw)
	}
}

// setStatus shows s (one line a command reports of its own progress, like
// restore's keys written) after the inputs' progress.
func (l *progressLine) setStatus(s string) {
	if !term.IsTerminal(l.fd) {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.status = s
	if l.stopTick == nil {
		l.stopTick = periodic.Every(progressInterval, l.draw)
	}
}

// statusWriter returns a writer whose last line becomes the status.
func (l *progressLine) statusWriter() io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		lines := strings.Split(strings.TrimRight(string(p), "\n"), "\n")
		l.setStatus(strings.TrimSpace(lines[len(lines)-1]))
		return len(p), nil
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// remove drops a finished input; the last one takes the line away.
func (l *progressLine) remove(p *progressInput) {
	l.mu.Lock()
	for i, q := range l.inputs {
		if q == p {
			l.inputs = append(l.inputs[:i], l.inputs[i+1:]...)
			break
		}
	}
	idle := len(l.inputs) == 0 && l.status == ""
	l.mu.Unlock()
	if idle {
		l.stop(false)
	}
}

// stop ends the ticker and erases the line; with forGood nothing is shown
// afterwards.
func (l *progressLine) stop(forGood bool) {
	l.mu.Lock()
	stopTick := l.stopTick
	l.stopTick = nil
	if forGood {
		l.ended = true
	}
	l.mu.Unlock()
	if stopTick != nil {
		stopTick() // outside the lock: a tick in progress takes it
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopTick != nil {
		return // an input started meanwhile
	}
	l.eraseLocked()
}

func (l *progressLine) eraseLocked() {
	if l.shown {
		io.WriteString(l.out, progressClear)
		l.shown = false
	}
}

// endProgress erases the progress line for good: called before a
// command's result is printed.
func endProgress() { progress.stop(true) }

// hideProgressForStdout is endProgress when the result goes to standard
// output and that is a terminal: the two would share its lines.
func hideProgressForStdout() {
	if term.IsTerminal(int(os.Stdout.Fd())) {
		endProgress()
	}
}

func (l *progressLine) draw() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	text := l.text(time.Now())
	if text == "" {
		l.eraseLocked()
		return
	}
	// A line longer than the terminal wraps, and \r then erases only its
	// last part.
	if w, _, err := term.GetSize(l.fd); err == nil && w > 1 {
		text = truncateRunes(text, w-1)
	}
	io.WriteString(l.out, progressClear+text)
	l.shown = true
}

// text renders the line at now.
func (l *progressLine) text(now time.Time) string {
	var parts []string
	if len(l.inputs) > 0 {
		var read, size, rate float64
		known := true
		for _, p := range l.inputs {
			n := float64(p.n.Load())
			read += n
			if p.size <= 0 {
				known = false
			} else {
				size += float64(p.size)
			}
			if el := now.Sub(p.start).Seconds(); el > 0 {
				rate += n / el
			}
		}
		who := printable(l.inputs[0].name)
		if len(l.inputs) > 1 {
			who = fmt.Sprintf("%d files", len(l.inputs))
		}
		if known && size > 0 {
			s := fmt.Sprintf("%s: %.1f%% of %s, %s/s", who, 100*min(read/size, 1), binarySize(size), binarySize(rate))
			if rate > 0 {
				eta := time.Duration((size - read) / rate * float64(time.Second))
				s += ", ETA " + eta.Round(time.Second).String()
			}
			parts = append(parts, s)
		} else {
			parts = append(parts, fmt.Sprintf("%s: %s read, %s/s", who, binarySize(read), binarySize(rate)))
		}
	}
	if l.status != "" {
		parts = append(parts, printable(l.status))
	}
	return strings.Join(parts, " | ")
}

// binarySize is display.Bytes for the progress line's float rates.
func binarySize(n float64) string { return display.Bytes(uint64(max(n, 0))) }

func truncateRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// progressStderr is standard error for commands' messages: a message
// takes the progress line's place, which is drawn again below it at the
// next tick.
type progressStderr struct{ l *progressLine }

func (w progressStderr) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	w.l.eraseLocked()
	return w.l.out.Write(p)
}
