package analyze

import (
	"bytes"
	"sort"
)

// PrefixReport aggregates keys by prefix. A key's prefixes are its first
// 1..Depth segments (each ending at a separator); a key without a
// separator counts under "" at level 1. The table is bounded: when it
// holds 2×Limit prefixes the smallest (by memory) are folded into
// Collapsed until Limit remain, so a prefix that reappears later is
// undercounted by what was folded. A prefix whose children keep being
// folded (an ID segment such as "sess:<id>:", one child per key) stops
// taking new children smaller than the table's cut: they are folded at
// once; its children already in the table go on counting.
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

	// cut is the memory of the smallest prefix the last prune kept;
	// prunes counts prunes (a row index taken before a lookup is stale
	// once it changes).
	cut    uint64
	prunes int
	// held has a bit set for the hash of every row, so that find, called
	// for each key below a churning prefix, can answer "not held" from
	// 32 KiB instead of probing the slot table.
	held [heldWords]uint64

	scratch []uint64
}

// prefixSlot is one hash-table slot: the top half of the prefix's hash,
// so that probing seldom touches a row, and the row's index+1 (0: empty).
// Eight bytes, so that the table stays in cache.
type prefixSlot struct {
	tag uint32
	row int32
}

type prefixEntry struct {
	hash   uint64
	off, n uint32
	level  int32
	// births counts children inserted since the last prune; tail is set
	// for good once they made up half of what forced a prune.
	births  uint32
	tail    bool
	keys    uint64
	mem     uint64
	withTTL uint64
	ttl     TTLHist
}

func newPrefixAgg(seps string, depth, limit int) *prefixAgg {
	if limit <= 0 {
		limit = 10000
	}
	p := &prefixAgg{depth: depth, limit: limit, sep: separatorSet(seps)}
	n := 16
	for n < 2*pruneAt*limit {
		n <<= 1
	}
	p.slots = make([]prefixSlot, n)
	p.rows = make([]prefixEntry, 0, pruneAt*limit)
	p.mask = uint64(n - 1)
	return p
}

// separatorSet marks the bytes of seps.
func separatorSet(seps string) (set [256]bool) {
	for i := 0; i < len(seps); i++ {
		set[seps[i]] = true
	}
	return set
}

// Prefixer cuts keys at their prefix as the report's prefix table
// counts them, for callers that record one prefix per key.
type Prefixer struct {
	sep   [256]bool
	depth int
}

// NewPrefixer returns a Prefixer for the prefix table of a report made
// with o: Separators, Depth and NoPrefixes, with their defaults.
func NewPrefixer(o Options) *Prefixer {
	o = o.withDefaults()
	return &Prefixer{sep: separatorSet(o.Separators), depth: o.Depth}
}

// Prefix returns the deepest prefix the prefix table counts key under:
// key up to and including its depth-th separator (or its last one, when
// it has fewer), or an empty, non-nil slice for a key without a
// separator (the table's level-1 ""). Every level's prefix of the key is
// a prefix of it. It returns nil when prefixes are disabled. The result
// shares key's bytes.
func (p *Prefixer) Prefix(key []byte) []byte {
	if p.depth <= 0 {
		return nil
	}
	level, end := 0, 0
	for i, c := range key {
		if !p.sep[c] {
			continue
		}
		level++
		end = i + 1
		if level >= p.depth {
			break
		}
	}
	return key[:end:end]
}

const heldWords = 1 << 12

func heldBit(h uint64) (int, uint64) { return int(h>>52) & (heldWords - 1), 1 << (h >> 46 & 63) }

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
	parent := -1
	folding := false
	h := uint64(fnvOffset)
	for i, c := range key {
		h = (h ^ uint64(c)) * fnvPrime
		if !p.sep[c] {
			continue
		}
		level++
		if folding {
			// The levels below a folded prefix are folded with it.
			p.fold(mem)
		} else {
			prefix, hm := key[:i+1], mix(h)
			row := -1
			if parent >= 0 && p.rows[parent].tail && mem <= p.cut {
				row = p.find(prefix, hm)
				if row < 0 {
					p.fold(mem)
					folding = true
				}
			} else {
				gen := p.prunes
				var born bool
				row, born = p.lookup(prefix, hm, level)
				if born && parent >= 0 && gen == p.prunes {
					p.rows[parent].births++
				}
			}
			if row >= 0 {
				p.rows[row].count(mem, bucket)
			}
			parent = row
		}
		if level >= p.depth {
			return
		}
	}
	if level == 0 {
		row, _ := p.lookup(nil, mix(fnvOffset), 1)
		p.rows[row].count(mem, bucket)
	}
}

// fold counts one key's prefix as collapsed without a row.
func (p *prefixAgg) fold(mem uint64) {
	p.col.Prefixes++
	p.col.Keys++
	p.col.Memory += mem
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

// lookup finds or inserts prefix (whose hash is h) and returns its row
// index and whether it was inserted. Inserting may prune the table.
func (p *prefixAgg) lookup(prefix []byte, h uint64, level int) (int, bool) {
	tag := uint32(h >> 32)
	for i := h & p.mask; ; i = (i + 1) & p.mask {
		sl := &p.slots[i]
		if sl.row == 0 {
			if len(p.rows) >= pruneAt*p.limit {
				p.prune()
				return p.lookup(prefix, h, level)
			}
			p.rows = append(p.rows, prefixEntry{hash: h, off: uint32(len(p.arena)), n: uint32(len(prefix)), level: int32(level)})
			p.arena = append(p.arena, prefix...)
			sl.tag, sl.row = tag, int32(len(p.rows))
			w, bit := heldBit(h)
			p.held[w] |= bit
			return len(p.rows) - 1, true
		}
		if sl.tag == tag {
			e := &p.rows[sl.row-1]
			if e.hash == h && int(e.n) == len(prefix) && bytes.Equal(p.arena[e.off:e.off+e.n], prefix) {
				return int(sl.row - 1), false
			}
		}
	}
}

// find returns prefix's row index, or -1 when it is not in the table.
func (p *prefixAgg) find(prefix []byte, h uint64) int {
	if w, bit := heldBit(h); p.held[w]&bit == 0 {
		return -1
	}
	tag := uint32(h >> 32)
	for i := h & p.mask; ; i = (i + 1) & p.mask {
		sl := &p.slots[i]
		if sl.row == 0 {
			return -1
		}
		if sl.tag == tag {
			e := &p.rows[sl.row-1]
			if e.hash == h && int(e.n) == len(prefix) && bytes.Equal(p.arena[e.off:e.off+e.n], prefix) {
				return int(sl.row - 1)
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
		if int(e.births) > (pruneAt-1)*p.limit/2 {
			e.tail = true
		}
		e.births = 0
		kept = append(kept, e)
	}
	p.rows, p.arena = kept, arena
	p.cut = cut
	p.prunes++
	clear(p.slots)
	clear(p.held[:])
	for j := range p.rows {
		h := p.rows[j].hash
		w, bit := heldBit(h)
		p.held[w] |= bit
		for i := h & p.mask; ; i = (i + 1) & p.mask {
			if p.slots[i].row == 0 {
				p.slots[i] = prefixSlot{tag: uint32(h >> 32), row: int32(j + 1)}
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
		row, _ := p.lookup(o.bytesOf(r), r.hash, int(r.level))
		e := &p.rows[row]
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
