package salvage

import "io"

// cachedReaderAt serves small reads from a few cached pages of the input.
// A resync tries a record start at nearly every offset of a damaged range,
// each trial reading a few hundred bytes from where it starts: without the
// cache each of those is a system call. Reads of a quarter page or more go
// straight to the input (the sequential read of intact records).
type cachedReaderAt struct {
	ra    io.ReaderAt
	size  int64
	pages [cachePages]cachePage
	clock int
}

const (
	cachePageBits = 18 // 256 KiB pages
	cachePageSize = 1 << cachePageBits
	cachePages    = 16
)

type cachePage struct {
	off  int64 // -1: empty
	n    int
	used bool
	buf  []byte
}

func newCachedReaderAt(ra io.ReaderAt, size int64) *cachedReaderAt {
	c := &cachedReaderAt{ra: ra, size: size}
	for i := range c.pages {
		c.pages[i].off = -1
	}
	return c
}

func (c *cachedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) >= cachePageSize/4 || off < 0 {
		return c.ra.ReadAt(p, off)
	}
	n := 0
	for n < len(p) {
		if off >= c.size {
			return n, io.EOF
		}
		pg, err := c.page(off &^ (cachePageSize - 1))
		if err != nil {
			return n, err
		}
		in := int(off - pg.off)
		if in >= pg.n {
			return n, io.EOF
		}
		k := copy(p[n:], pg.buf[in:pg.n])
		n += k
		off += int64(k)
	}
	return n, nil
}

// page returns the cached page at off (page-aligned), reading it if needed.
func (c *cachedReaderAt) page(off int64) (*cachePage, error) {
	for i := range c.pages {
		if c.pages[i].off == off {
			c.pages[i].used = true
			return &c.pages[i], nil
		}
	}
	// Second-chance eviction.
	for {
		pg := &c.pages[c.clock]
		c.clock = (c.clock + 1) % cachePages
		if pg.used {
			pg.used = false
			continue
		}
		if pg.buf == nil {
			pg.buf = make([]byte, cachePageSize)
		}
		n, err := c.ra.ReadAt(pg.buf[:min(cachePageSize, c.size-off)], off)
		if n == 0 && err != nil {
			pg.off = -1
			return nil, err
		}
		pg.off, pg.n, pg.used = off, n, true
		return pg, nil
	}
}
