package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/source"
)

// progressReader counts bytes for the progress line.
type progressReader struct {
	r    io.Reader
	n    atomic.Int64
	done atomic.Bool
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n.Add(int64(n))
	if err != nil {
		p.done.Store(true)
	}
	return n, err
}

// withProgress shows a progress line on stderr while src is read, when
// stderr is a terminal and the input is large enough to be worth it.
func withProgress(src *source.Source, name string) io.Reader {
	if !term.IsTerminal(int(os.Stderr.Fd())) || (src.Size >= 0 && src.Size < 64<<20) {
		return src
	}
	p := &progressReader{r: src}
	go func() {
		start := time.Now()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for range t.C {
			n := p.n.Load()
			if p.done.Load() {
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			}
			rate := float64(n) / time.Since(start).Seconds() / 1e6
			if src.Size > 0 {
				fmt.Fprintf(os.Stderr, "\r%s: %5.1f%% (%d MB, %.0f MB/s) ", name, 100*float64(n)/float64(src.Size), n>>20, rate)
			} else {
				fmt.Fprintf(os.Stderr, "\r%s: %d MB (%.0f MB/s) ", name, n>>20, rate)
			}
		}
	}()
	return p
}
