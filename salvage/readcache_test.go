package salvage

import (
	"bytes"
	"io"
	"math/rand"
	"testing"
)

// TestCachedReaderAtMatchesInput: reads of every size at every kind of
// offset (inside a page, across pages, past the end) return what the input
// holds, with io.EOF exactly where the input ends.
func TestCachedReaderAtMatchesInput(t *testing.T) {
	data := make([]byte, 3*cachePageSize+12345)
	rng := rand.New(rand.NewSource(1))
	rng.Read(data)
	c := newCachedReaderAt(bytes.NewReader(data), int64(len(data)))
	for i := 0; i < 20000; i++ {
		n := rng.Intn(5000)
		if i%100 == 0 {
			n = rng.Intn(cachePageSize) // also reads that bypass the cache
		}
		off := rng.Int63n(int64(len(data)) + 100)
		got := make([]byte, n)
		gn, gerr := c.ReadAt(got, off)
		want := make([]byte, n)
		wn, werr := bytes.NewReader(data).ReadAt(want, off)
		if gn != wn || !bytes.Equal(got[:gn], want[:wn]) || (gerr == io.EOF) != (werr == io.EOF) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want %d, %v", n, off, gn, gerr, wn, werr)
		}
	}
}
