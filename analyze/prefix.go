package analyze

import (
	"bytes"
	"sort"
)

// PrefixReport aggregates keys by prefix. A key's prefixes are its first
// 1..Depth segments (each ending at a separator); a key without a
// separator counts under "" at level 1. The table is bounded: when it
// holds 2×Limit prefixes the smallest (by memory) are folded into
// Collapsed until Limit remain, so a prefix that reappears later is undercounted by what was
// folded.
type PrefixReport struct {
	Separators string      `json:"separators"`
	Depth      int         `json:"depth"`
	Limit      int         `json:"limit"`
	Rows       []PrefixRow `json:"rows"`
	Collapsed  Collapsed   `json:"collapsed"`
}

// PrefixRow is one prefix's aggregate.
type PrefixRow struct {
	Prefix  string  `json:"prefix"`
	Level   int     `json:"level"`
	Keys    uint64  `json:"keys"`
	Memory  uint64  `json:"memory"`
	WithTTL uint64  `json:"keys_with_ttl"`
	TTL     TTLHist `json:"ttl"`
}

// Collapsed says how much of the long tail was folded away.
type Collapsed struct {
	Prefixes uint64 `json:"prefixes"` // prefix entries dropped (a prefix may be counted more than once)
	Keys     uint64 `json:"keys"`     // key-level counts dropped (summed over levels)
	Memory   uint64 `json:"memory"`
}

// prefixAgg is the bounded prefix table: an open-addressing hash table
// keyed by a 64-bit hash of the prefix bytes, which are stored once in an
// arena. Adding a key allocates nothing; every Limit new prefixes the
// table is pruned back to the Limit largest (a linear pass).
type prefixAgg struct {
	sep   [256]bool
	depth int
	limit int

	rows  []prefixEntry
	arena []byte
	slots []prefixSlot
	mask  uint64
	col   Collapsed

	scratch []uint64
}

// prefixSlot is one hash-table slot: the prefix's hash, so that probing
// touches no row, and the row's index+1 (0: empty).
type prefixSlot struct {
	hash uint64
	row  int32
}

type prefixEntry struct {
	hash    uint64
	off, n  uint32
	level   int32
	keys    uint64
	mem     uint64
	withTTL uint64
	ttl     TTLHist
}

func newPrefixAgg(seps string, depth, limit int) *prefixAgg {
	if limit <= 0 {
		limit = 10000
	}
	p := &prefixAgg{depth: depth, limit: limit}
	for i := 0; i < len(seps); i++ {
		p.sep[seps[i]] = true
	}
	n := 16
	for n < 2*pruneAt*limit {
		n <<= 1
	}
	p.slots = make([]prefixSlot, n)
	p.rows = make([]prefixEntry, 0, pruneAt*limit)
	p.mask = uint64(n - 1)
	return p
}

// pruneAt is how many times Limit rows the table holds before pruning.
const pruneAt = 2

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix finalises an FNV-1a state into a well-spread 64-bit hash.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return mix(h)
}

// add counts a key under each of its prefixes. The key is scanned once:
// the hash of every prefix is carried along the scan.
func (p *prefixAgg) add(key []byte, mem uint64, bucket int) {
	if p.depth <= 0 {
		return
	}
	level := 0
	h := uint64(fnvOffset)
	for i, c := range key {
		h = (h ^ uint64(c)) * fnvPrime
		if !p.sep[c] {
			continue
		}
		level++
		e := p.lookup(key[:i+1], mix(h), level)
		e.count(mem, bucket)
		if level >= p.depth {
			return
		}
	}
	if level == 0 {
		p.lookup(nil, mix(fnvOffset), 1).count(mem, bucket)
	}
}

func (e *prefixEntry) count(mem uint64, bucket int) {
	e.keys++
	e.mem += mem
	if bucket != ttlNever {
		e.withTTL++
	}
	e.ttl.Keys[bucket]++
	e.ttl.Memory[bucket] += mem
}

// lookup finds or inserts prefix (whose hash is h).
func (p *prefixAgg) lookup(prefix []byte, h uint64, level int) *prefixEntry {
	for i := h & p.mask; ; i = (i + 1) & p.mask {
		sl := &p.slots[i]
		if sl.row == 0 {
			if len(p.rows) >= pruneAt*p.limit {
				p.prune()
				return p.lookup(prefix, h, level)
			}
			p.rows = append(p.rows, prefixEntry{hash: h, off: uint32(len(p.arena)), n: uint32(len(prefix)), level: int32(level)})
			p.arena = append(p.arena, prefix...)
			sl.hash, sl.row = h, int32(len(p.rows))
			return &p.rows[len(p.rows)-1]
		}
		if sl.hash == h {
			e := &p.rows[sl.row-1]
			if int(e.n) == len(prefix) && bytes.Equal(p.arena[e.off:e.off+e.n], prefix) {
				return e
			}
		}
	}
}

func (p *prefixAgg) bytesOf(e *prefixEntry) []byte { return p.arena[e.off : e.off+e.n] }

// prune keeps the limit largest prefixes by memory; at the cut, the
// earliest seen are kept. The rest are folded into Collapsed.
func (p *prefixAgg) prune() {
	if len(p.rows) <= p.limit {
		return
	}
	mems := p.scratch[:0]
	for i := range p.rows {
		mems = append(mems, p.rows[i].mem)
	}
	p.scratch = mems
	cut := nthLargest(mems, p.limit)
	above := 0
	for i := range p.rows {
		if p.rows[i].mem > cut {
			above++
		}
	}
	atCut := p.limit - above
	kept := p.rows[:0]
	arena := p.arena[:0]
	for i := range p.rows {
		e := p.rows[i]
		keep := e.mem > cut
		if !keep && e.mem == cut && atCut > 0 {
			atCut--
			keep = true
		}
		if !keep {
			p.col.Prefixes++
			p.col.Keys += e.keys
			p.col.Memory += e.mem
			continue
		}
		// Survivors move down in order, so their bytes only move left.
		off := len(arena)
		arena = append(arena, p.arena[e.off:e.off+e.n]...)
		e.off = uint32(off)
		kept = append(kept, e)
	}
	p.rows, p.arena = kept, arena
	clear(p.slots)
	for j := range p.rows {
		h := p.rows[j].hash
		for i := h & p.mask; ; i = (i + 1) & p.mask {
			if p.slots[i].row == 0 {
				p.slots[i] = prefixSlot{hash: h, row: int32(j + 1)}
				break
			}
		}
	}
}

// nthLargest returns the k-th largest value of a (1-based), reordering a
// (quickselect: linear time on average).
func nthLargest(a []uint64, k int) uint64 {
	want := len(a) - k // index in ascending order
	lo, hi := 0, len(a)-1
	seed := uint64(len(a))
	for lo < hi {
		seed = seed*6364136223846793005 + 1442695040888963407
		piv := a[lo+int((seed>>33)%uint64(hi-lo+1))]
		// three-way partition: [lo,lt) < piv, [lt,gt] == piv, (gt,hi] > piv
		lt, i, gt := lo, lo, hi
		for i <= gt {
			switch {
			case a[i] < piv:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case a[i] > piv:
				a[i], a[gt] = a[gt], a[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case want < lt:
			hi = lt - 1
		case want > gt:
			lo = gt + 1
		default:
			return piv
		}
	}
	return a[want]
}

func (p *prefixAgg) merge(o *prefixAgg) {
	p.col.Prefixes += o.col.Prefixes
	p.col.Keys += o.col.Keys
	p.col.Memory += o.col.Memory
	for i := range o.rows {
		r := &o.rows[i]
		e := p.lookup(o.bytesOf(r), r.hash, int(r.level))
		e.keys += r.keys
		e.mem += r.mem
		e.withTTL += r.withTTL
		e.ttl.add(&r.ttl)
	}
}

// len is the number of prefixes held.
func (p *prefixAgg) len() int { return len(p.rows) }

func (p *prefixAgg) report(seps string) PrefixReport {
	if len(p.rows) > p.limit {
		p.prune()
	}
	rows := make([]PrefixRow, 0, len(p.rows))
	for i := range p.rows {
		e := &p.rows[i]
		rows = append(rows, PrefixRow{Prefix: string(p.bytesOf(e)), Level: int(e.level), Keys: e.keys, Memory: e.mem, WithTTL: e.withTTL, TTL: e.ttl})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Memory != rows[j].Memory {
			return rows[i].Memory > rows[j].Memory
		}
		return rows[i].Prefix < rows[j].Prefix
	})
	return PrefixReport{Separators: seps, Depth: p.depth, Limit: p.limit, Rows: rows, Collapsed: p.col}
}

// ttlNever is the TTL bucket of keys without an expiry.
const ttlNever = 6
