package analyze

import (
	"bytes"
	"slices"
	"sort"
)

// PrefixReport aggregates keys by prefix. A key's prefixes are its first
// 1..Depth segments (each ending at a separator); a key without a
// separator counts under "" at level 1. The table is bounded: when it
// holds more than 2×Limit prefixes the smallest (by memory) are folded
// into Collapsed, so a prefix that reappears later is undercounted by what
// was folded.
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

type prefixAgg struct {
	seps  []byte
	depth int
	limit int
	m     map[string]*PrefixRow
	col   Collapsed

	scratch []uint64
}

func newPrefixAgg(seps string, depth, limit int) *prefixAgg {
	if limit <= 0 {
		limit = 10000
	}
	return &prefixAgg{seps: []byte(seps), depth: depth, limit: limit, m: map[string]*PrefixRow{}}
}

func (p *prefixAgg) add(key []byte, mem uint64, bucket int) {
	if p.depth <= 0 {
		return
	}
	level := 0
	for i := 0; i < len(key) && level < p.depth; i++ {
		if bytes.IndexByte(p.seps, key[i]) < 0 {
			continue
		}
		level++
		p.addOne(key[:i+1], level, mem, bucket)
	}
	if level == 0 {
		p.addOne(nil, 1, mem, bucket)
	}
}

func (p *prefixAgg) addOne(prefix []byte, level int, mem uint64, bucket int) {
	r := p.m[string(prefix)] // no allocation for the lookup
	if r == nil {
		if len(p.m) >= 2*p.limit {
			p.prune()
		}
		r = &PrefixRow{Prefix: string(prefix), Level: level}
		p.m[r.Prefix] = r
	}
	r.Keys++
	r.Memory += mem
	if bucket != 6 {
		r.WithTTL++
	}
	r.TTL.Keys[bucket]++
	r.TTL.Memory[bucket] += mem
}

// prune keeps the limit largest prefixes by memory (ties at the cut are
// broken by map order).
func (p *prefixAgg) prune() {
	if len(p.m) <= p.limit {
		return
	}
	mems := p.scratch[:0]
	for _, r := range p.m {
		mems = append(mems, r.Memory)
	}
	slices.Sort(mems)
	cut := mems[len(mems)-p.limit] // keep rows above cut, and enough at cut
	above := len(mems) - sort.Search(len(mems), func(i int) bool { return mems[i] > cut })
	atCut := p.limit - above
	p.scratch = mems
	for k, r := range p.m {
		if r.Memory > cut {
			continue
		}
		if r.Memory == cut && atCut > 0 {
			atCut--
			continue
		}
		p.col.Prefixes++
		p.col.Keys += r.Keys
		p.col.Memory += r.Memory
		delete(p.m, k)
	}
}

func (p *prefixAgg) merge(o *prefixAgg) {
	p.col.Prefixes += o.col.Prefixes
	p.col.Keys += o.col.Keys
	p.col.Memory += o.col.Memory
	for k, r := range o.m {
		q := p.m[k]
		if q == nil {
			c := *r
			p.m[k] = &c
			continue
		}
		q.Keys += r.Keys
		q.Memory += r.Memory
		q.WithTTL += r.WithTTL
		q.TTL.add(&r.TTL)
	}
	if len(p.m) > 2*p.limit {
		p.prune()
	}
}

func (p *prefixAgg) report(seps string) PrefixReport {
	if len(p.m) > p.limit {
		p.prune()
	}
	rows := make([]PrefixRow, 0, len(p.m))
	for _, r := range p.m {
		rows = append(rows, *r)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Memory != rows[j].Memory {
			return rows[i].Memory > rows[j].Memory
		}
		return rows[i].Prefix < rows[j].Prefix
	})
	return PrefixReport{Separators: seps, Depth: p.depth, Limit: p.limit, Rows: rows, Collapsed: p.col}
}
