package rdb_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// Robustness of the reader against damaged and hostile input.

// robFiles are small real files with a CRC (plus one without) covering
// LFU/LRU opcodes, module values and aux data, slot info, Valkey hashes
// with field TTLs, and streams.
var robFiles = []string{
	"corpus/redis-4.0.14/lfu.rdb",
	"corpus/redis-5.0.14/module.rdb",
	"corpus/redis-7.0.15/lfu.rdb",
	"corpus/redis-7.4.1/lru.rdb",
	"corpus/redis-7.4.1/cluster.rdb",
	"corpus/redis-8.6.3/module.rdb",
	"corpus/valkey-8.0.1/module.rdb",
	"corpus-thirdparty/rdb/valkey_hash2_with_hfe.rdb",
	"corpus-thirdparty/rdb/hash_with_hfe.rdb",
	"corpus-thirdparty/librdb/stream_v11.rdb",
	"corpus-thirdparty/rdb/stream_listoacks_3.rdb",
}

func robLoad(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpustest.Root(), "testdata", rel))
	if err != nil {
		t.Fatalf("fixtures missing: %v", err)
	}
	return b
}

// noLen hides Len (and any other method) of a reader, so the Reader cannot
// learn the input size.
type noLen struct{ r io.Reader }

func (n noLen) Read(p []byte) (int, error) { return n.r.Read(p) }

// robContent decodes everything and returns a textual fingerprint of all
// records and values, and the error that ended the read (nil at io.EOF).
// A panic is returned as an error that says so.
func robContent(src io.Reader, opts ...rdb.Option) (content string, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("PANIC: %v", p)
		}
	}()
	var buf bytes.Buffer
	r := rdb.NewReader(src, opts...)
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return buf.String(), nil
		}
		if err != nil {
			return buf.String(), err
		}
		fmt.Fprintf(&buf, "%v db=%d aux=%q=%q fn=%q slot=%d/%d/%d size=%d/%d|", rec.Kind, rec.DB, rec.AuxKey, rec.AuxValue, rec.Function, rec.Slot, rec.SlotKeys, rec.SlotExpires, rec.DBSize, rec.ExpiresSize)
		if rec.Kind == rdb.KindModuleAux {
			fmt.Fprintf(&buf, "modaux=%s/%d/%x|", rec.Module.Name, rec.When, rec.ModuleAux)
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		fmt.Fprintf(&buf, "key=%q type=%v exp=%d idle=%d freq=%d meta=%d|", rec.Key, rec.Type, rec.ExpireAt, rec.Idle, rec.Freq, len(rec.KeyMeta))
		v, err := r.ReadValue()
		if err != nil {
			return buf.String(), err
		}
		if v.Module != nil {
			fmt.Fprintf(&buf, "module=%s/%x|", v.Module.Name, v.Module.Raw)
		} else {
			c := tpCanonOf(v, false)
			st := c.Stream
			c.Stream = nil
			fmt.Fprintf(&buf, "%+v|", c)
			if st != nil {
				fmt.Fprintf(&buf, "stream=%+v|", *st)
			}
		}
	}
}

// robTypedErr checks that err is an *rdb.Error wrapping one of sentinels.
func robTypedErr(err error, sentinels ...error) bool {
	var re *rdb.Error
	if !errors.As(err, &re) {
		return false
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// TestTruncationEveryOffset cuts each file at every byte offset: the read
// must fail with a typed ErrTruncated or ErrCorrupt, never succeed or panic,
// whether or not the reader knows the input size.
func TestTruncationEveryOffset(t *testing.T) {
	t.Parallel()
	files := append([]string{"corpus/redis-2.8.24/nochecksum.rdb"}, robFiles...)
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			data := robLoad(t, rel)
			want, err := robContent(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("whole file: %v", err)
			}
			if got, err := robContent(noLen{bytes.NewReader(data)}); err != nil || got != want {
				t.Fatalf("whole file without a known size: %v (content equal: %v)", err, got == want)
			}
			bad := 0
			for n := 0; n < len(data); n++ {
				if testing.Short() && n > 512 && n < len(data)-512 && n%61 != 0 {
					continue // -short: the ends and a sample of the middle
				}
				srcs := []io.Reader{bytes.NewReader(data[:n])}
				if len(data) <= 12<<10 || n%7 == 0 { // keep the big file's run short
					srcs = append(srcs, noLen{bytes.NewReader(data[:n])})
				}
				for _, src := range srcs {
					_, err := robContent(src)
					if err == nil || !robTypedErr(err, rdb.ErrTruncated, rdb.ErrCorrupt) {
						if bad++; bad <= 10 {
							t.Errorf("cut at %d of %d (%T): got %v", n, len(data), src, err)
						}
					}
				}
			}
			if bad > 10 {
				t.Errorf("%d more bad cuts", bad-10)
			}
		})
	}
}

// TestFlips mutates single bytes and bits. With the CRC checked, a read
// that succeeds must give exactly the original content. Without it, the
// reader must still never panic and must finish.
func TestFlips(t *testing.T) {
	t.Parallel()
	perFile := 1000 // 2000 mutations per file: half bit flips, half byte replacements
	if testing.Short() {
		perFile = 100
	}
	for _, rel := range robFiles {
		t.Run(rel, func(t *testing.T) {
			data := robLoad(t, rel)
			want, err := robContent(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("whole file: %v", err)
			}
			rng := rand.New(rand.NewSource(int64(len(data))))
			buf := make([]byte, len(data))
			errs, same := 0, 0
			bad := 0
			for i := 0; i < 2*perFile; i++ {
				copy(buf, data)
				off := rng.Intn(len(data))
				var desc string
				if i%2 == 0 {
					buf[off] ^= 1 << uint(rng.Intn(8))
					desc = fmt.Sprintf("bit flip at %d: %02x -> %02x", off, data[off], buf[off])
				} else {
					v := byte(rng.Intn(256))
					if v == data[off] {
						v++
					}
					buf[off] = v
					desc = fmt.Sprintf("byte at %d: %02x -> %02x", off, data[off], v)
				}
				got, err := robContent(bytes.NewReader(buf))
				switch {
				case err != nil && !robTypedErr(err, rdb.ErrTruncated, rdb.ErrCorrupt, rdb.ErrChecksum, rdb.ErrUnsupportedVersion):
					bad++
					t.Errorf("%s: untyped error or panic: %v", desc, err)
				case err != nil:
					errs++
				case got != want:
					bad++
					t.Errorf("%s: read succeeds with the CRC on, but the content differs", desc)
				default:
					same++
				}
				// Without the CRC: no panic, and it must end.
				done := make(chan error, 1)
				go func() {
					_, err := robContent(bytes.NewReader(buf), rdb.WithoutChecksum())
					done <- err
				}()
				select {
				case err := <-done:
					if err != nil && !robTypedErr(err, rdb.ErrTruncated, rdb.ErrCorrupt, rdb.ErrUnsupportedVersion) {
						bad++
						t.Errorf("%s: without CRC: untyped error or panic: %v", desc, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("%s: without CRC the read does not finish", desc)
				}
				if bad > 10 {
					t.Fatalf("too many failures")
				}
			}
			t.Logf("%d mutations: %d rejected, %d read the same content", 2*perFile, errs, same)
		})
	}
}

// robHeader is an RDB 11 header.
const robHeader = "REDIS0011"

func robLen64(n uint64) []byte {
	b := []byte{0x81, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint64(b[1:], n)
	return b
}

func robCat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		case byte:
			b = append(b, v)
		case int:
			b = append(b, byte(v))
		}
	}
	return append(b, bytes.Repeat([]byte("x"), 64)...) // some data after the lie
}

// TestHugeLengths feeds lengths that claim terabytes or 2^60 elements in
// tiny inputs: the read must fail with a typed error without allocating
// more than a few MiB, whether or not the input size is known.
func TestHugeLengths(t *testing.T) {
	const tb = 1 << 40
	const huge = 1 << 60
	cases := map[string][]byte{
		"string value 2^40":       robCat(robHeader, 0, 1, "k", robLen64(tb)),
		"key name 2^40":           robCat(robHeader, 0, robLen64(tb)),
		"aux value 2^40":          robCat(robHeader, 0xfa, 1, "a", robLen64(tb)),
		"list count 2^60":         robCat(robHeader, 1, 1, "k", robLen64(huge), 1, "a"),
		"set count 2^60":          robCat(robHeader, 2, 1, "k", robLen64(huge), 1, "a"),
		"zset count 2^60":         robCat(robHeader, 3, 1, "k", robLen64(huge), 1, "a", 1, "1"),
		"zset2 count 2^60":        robCat(robHeader, 5, 1, "k", robLen64(huge)),
		"hash count 2^60":         robCat(robHeader, 4, 1, "k", robLen64(huge), 1, "a", 1, "b"),
		"quicklist2 nodes 2^60":   robCat(robHeader, 18, 1, "k", robLen64(huge), 2),
		"quicklist node 2^40":     robCat(robHeader, 18, 1, "k", 1, 2, robLen64(tb)),
		"listpack blob 2^40":      robCat(robHeader, 16, 1, "k", robLen64(tb)),
		"intset blob 2^40":        robCat(robHeader, 11, 1, "k", robLen64(tb)),
		"LZF compressed 2^40":     robCat(robHeader, 0, 1, "k", 0xc3, robLen64(tb), robLen64(tb)),
		"LZF expands to 2^60":     robCat(robHeader, 0, 1, "k", 0xc3, 10, robLen64(huge)),
		"stream nodes 2^60":       robCat(robHeader, 21, 1, "k", robLen64(huge)),
		"stream groups 2^60":      robCat(robHeader, 15, 1, "k", 0, 0, 0, 0, robLen64(huge)),
		"stream PEL 2^60":         robCat(robHeader, 15, 1, "k", 0, 0, 0, 0, 1, 1, "g", 0, 0, robLen64(huge)),
		"stream consumers 2^60":   robCat(robHeader, 15, 1, "k", 0, 0, 0, 0, 1, 1, "g", 0, 0, 0, robLen64(huge)),
		"hash metadata 2^60":      robCat(robHeader[:5]+"0012", 24, 1, "k", make([]byte, 8), robLen64(huge)),
		"module string 2^40":      robCat(robHeader, 7, 1, "k", 1, 5, robLen64(tb)),
		"function 2^40":           robCat(robHeader, 0xf5, robLen64(tb)),
		"module aux string 2^40":  robCat(robHeader, 0xf7, 1, 2, 1, 5, robLen64(tb)),
		"valkey hash2 count 2^60": robCat("VALKEY080", 22, 1, "k", robLen64(huge)),
	}
	for name, data := range cases {
		for _, sized := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/sized=%v", name, sized), func(t *testing.T) {
				var err error
				var ms0, ms1 runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms0)
				var src io.Reader = bytes.NewReader(data)
				if !sized {
					src = noLen{src}
				}
				_, err = robContent(src)
				runtime.ReadMemStats(&ms1)
				if err == nil || !robTypedErr(err, rdb.ErrTruncated, rdb.ErrCorrupt) {
					t.Errorf("got %v, want a typed ErrTruncated or ErrCorrupt", err)
				}
				if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 16<<20 {
					t.Errorf("allocated %d MiB", alloc>>20)
				}
			})
		}
	}
}

// TestHugeLengthsInDump does the same for DUMP payloads.
func TestHugeLengthsInDump(t *testing.T) {
	body := robCat(1, robLen64(1<<60), 1, "a")
	payload := append(body, 11, 0)
	var crc [8]byte
	binary.LittleEndian.PutUint64(crc[:], rdb.CRC64(0, payload))
	payload = append(payload, crc[:]...)
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	r, err := rdb.NewDumpReader(payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err = r.ReadValue()
	runtime.ReadMemStats(&ms1)
	if !robTypedErr(err, rdb.ErrCorrupt, rdb.ErrTruncated) {
		t.Errorf("got %v", err)
	}
	if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}

// TestOneByteReader: a source that returns one byte per Read gives the
// same content.
func TestOneByteReader(t *testing.T) {
	for _, rel := range append(robFiles, "corpus/redis-2.8.24/nochecksum.rdb") {
		data := robLoad(t, rel)
		want, err := robContent(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		got, err := robContent(iotest.OneByteReader(bytes.NewReader(data)))
		if err != nil || got != want {
			t.Errorf("%s: one byte at a time: %v (content equal: %v)", rel, err, got == want)
		}
		got, err = robContent(iotest.HalfReader(bytes.NewReader(data)), rdb.WithBufferSize(4096))
		if err != nil || got != want {
			t.Errorf("%s: half reads, small buffer: %v (content equal: %v)", rel, err, got == want)
		}
	}
}

var errRobIO = errors.New("rob: disk on fire")

// failAfter returns data[:n], then errRobIO.
type failAfter struct {
	data []byte
	n    int
}

func (f *failAfter) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, errRobIO
	}
	k := copy(p, f.data[:f.n])
	f.data, f.n = f.data[k:], f.n-k
	return k, nil
}

// TestReadErrorsPropagate: an I/O error from the source reaches the
// caller as an *rdb.Error that wraps it, wherever it happens.
func TestReadErrorsPropagate(t *testing.T) {
	data := robLoad(t, "corpus/redis-7.0.15/lfu.rdb")
	bad := 0
	for n := 0; n < len(data); n++ {
		_, err := robContent(iotest.OneByteReader(&failAfter{data: data, n: n}))
		var re *rdb.Error
		if !errors.Is(err, errRobIO) || !errors.As(err, &re) {
			if bad++; bad <= 5 {
				t.Errorf("error after %d bytes: got %v, want an *rdb.Error wrapping %v", n, err, errRobIO)
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d more offsets lose the I/O error", bad-5)
	}
	// iotest.TimeoutReader: the second Read fails with ErrTimeout.
	_, err := robContent(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader(data))))
	if !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("TimeoutReader: got %v, want ErrTimeout", err)
	}
	// iotest.ErrReader: the very first Read fails.
	_, err = robContent(iotest.ErrReader(errRobIO))
	if !errors.Is(err, errRobIO) {
		t.Errorf("ErrReader: got %v, want %v", err, errRobIO)
	}
}
