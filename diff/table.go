package diff

import (
	"bytes"
	"errors"
	"hash/maphash"
	"math/bits"
	"slices"
	"unsafe"
)

// The first pass keeps, per key, a kv (kvSize bytes) and the key bytes in
// an arena; tables grow by fixed-size chunks, so growing copies nothing
// and leaves no garbage, and mem is exactly what the table holds.

var tableSeed = maphash.MakeSeed()

const (
	kvChunkBits    = 12
	kvChunk        = 1 << kvChunkBits
	arenaChunkBits = 20
	arenaChunk     = 1 << arenaChunkBits
	maxArenaChunks = 1 << (32 - arenaChunkBits)
	// bigKeyLen: keys at least this long get an allocation of their own.
	bigKeyLen = 64 << 10
	bigKey    = 1 << 31 // flag in kv.klen
	// indexCost bounds the bytes per key of the index built on a table
	// to compare it (4-byte slots, load factor at least 0.4).
	indexCost = 10
)

var errTableFull = errors.New("diff: key table is full")

type table struct {
	kvs   [][]kv
	n     int
	arena [][]byte
	na    int // arena chunks in use
	big   [][]byte
	aux   [][]sum128
	naux  int
	mem   int64
}

// reset empties the table but keeps its chunks for reuse, so that
// comparing partition after partition makes no garbage.
func (t *table) reset() {
	for _, b := range t.big {
		t.mem -= int64(len(b)) + 24
	}
	t.n, t.na, t.naux, t.big = 0, 0, 0, nil
}

// add appends a key and its entry; errTableFull when the arena cannot
// address more.
func (t *table) add(k []byte, e *entry) error {
	x := kv{h: maphash.Bytes(tableSeed, k), klen: uint32(len(k)), exp: e.exp, roff: e.off, sum: e.dg.sum, typ: e.dg.typ}
	if len(k) >= bigKeyLen {
		x.off = uint32(len(t.big))
		x.klen |= bigKey
		t.big = append(t.big, bytes.Clone(k))
		t.mem += int64(len(k)) + 24
	} else {
		na := t.na
		if na == 0 || len(t.arena[na-1])+len(k) > cap(t.arena[na-1]) {
			if na == maxArenaChunks {
				return errTableFull
			}
			// Chunks double from 4 KiB, so that small tables stay small.
			size := 4 << 10
			if na > 0 {
				size = min(2*cap(t.arena[na-1]), arenaChunk)
			}
			size = max(size, len(k))
			if na < len(t.arena) && cap(t.arena[na]) >= size {
				t.arena[na] = t.arena[na][:0] // reused
			} else if na < len(t.arena) {
				t.mem += int64(size - cap(t.arena[na]))
				t.arena[na] = make([]byte, 0, size)
			} else {
				t.arena = append(t.arena, make([]byte, 0, size))
				t.mem += int64(size) + 24
			}
			na++
			t.na = na
		}
		c := t.arena[na-1]
		x.off = uint32(na-1)<<arenaChunkBits | uint32(len(c))
		t.arena[na-1] = append(c, k...)
	}
	if e.dg.hasAux {
		push(&t.aux, t.naux, e.dg.aux, &t.mem)
		x.aux = uint32(t.naux + 1)
		t.naux++
	}
	push(&t.kvs, t.n, x, &t.mem)
	t.n++
	return nil
}

// push sets element n (the count so far) of chunks of kvChunk elements to
// x; the first chunk grows by doubling from 64 elements, so that small
// tables stay small. Chunks left by reset are reused.
func push[T any](chunks *[][]T, n int, x T, mem *int64) {
	ci := n >> kvChunkBits
	size := int64(unsafe.Sizeof(x))
	if ci == len(*chunks) {
		c := kvChunk
		if ci == 0 {
			c = 64
		}
		*chunks = append(*chunks, make([]T, 0, c))
		*mem += int64(c)*size + 24
	}
	last := &(*chunks)[ci]
	if n&(kvChunk-1) == 0 {
		*last = (*last)[:0]
	}
	if len(*last) == cap(*last) {
		old := cap(*last)
		*last = slices.Grow(*last, min(old, kvChunk-old))
		*mem += int64(cap(*last)-old) * size
	}
	*last = append(*last, x)
}

func (t *table) at(i int) *kv { return &t.kvs[i>>kvChunkBits][i&(kvChunk-1)] }

func (t *table) entry(i int) entry {
	x := t.at(i)
	e := entry{dg: digest{typ: x.typ, sum: x.sum}, exp: x.exp, off: x.roff}
	if x.aux > 0 {
		a := int(x.aux - 1)
		e.dg.hasAux, e.dg.aux = true, t.aux[a>>kvChunkBits][a&(kvChunk-1)]
	}
	return e
}

func (t *table) key(i int) []byte {
	x := t.at(i)
	if x.klen&bigKey != 0 {
		return t.big[x.off]
	}
	c := t.arena[x.off>>arenaChunkBits]
	o := x.off & (arenaChunk - 1)
	return c[o : o+x.klen : o+x.klen]
}

// cost is the memory the table holds with its index.
func (t *table) cost() int64 { return t.mem + int64(t.n)*indexCost }

// index is an open-addressing hash index over some rows of a table:
// slots hold row+1, 0 for empty.
type index struct {
	slots []uint32
	mask  uint64
}

func newIndex(n int) index { return reuseIndex(nil, n) }

// reuseIndex makes an index for n rows in buf's memory when it is large
// enough.
func reuseIndex(buf []uint32, n int) index {
	size := 1 << bits.Len(uint(n+n/4+1))
	if cap(buf) >= size {
		buf = buf[:size]
		clear(buf)
	} else {
		buf = make([]uint32, size)
	}
	return index{slots: buf, mask: uint64(size - 1)}
}

// insert adds row i of t, unless an equal key is there already: then it
// returns that row and false.
func (x *index) insert(t *table, i int) (int, bool) {
	h := t.at(i).h
	k := t.key(i)
	for p := h & x.mask; ; p = (p + 1) & x.mask {
		s := x.slots[p]
		if s == 0 {
			x.slots[p] = uint32(i + 1)
			return i, true
		}
		j := int(s - 1)
		if t.at(j).h == h && bytes.Equal(t.key(j), k) {
			return j, false
		}
	}
}

// find returns the row of t holding key k (hash h), or -1.
func (x *index) find(t *table, h uint64, k []byte) int {
	for p := h & x.mask; ; p = (p + 1) & x.mask {
		s := x.slots[p]
		if s == 0 {
			return -1
		}
		j := int(s - 1)
		if t.at(j).h == h && bytes.Equal(t.key(j), k) {
			return j
		}
	}
}

type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) get(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b bitset) set(i int)      { b[i>>6] |= 1 << (i & 63) }
