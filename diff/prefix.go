package diff

import (
	"github.com/rdbtool/rdbtool/analyze"
)

// prefixCounter counts keys per prefix, up to a limit. While counting,
// prefixes map to indexes into counts (one map lookup per key); finish
// fills m.
type prefixCounter struct {
	pf     *analyze.Prefixer
	limit  int
	idx    map[string]int32
	counts []int64
	m      map[string]int64
	other  int64
	trunc  bool
}

const otherPrefix = "(other)"

func newPrefixCounter(o *Options) *prefixCounter {
	return &prefixCounter{pf: newPrefixer(o), limit: o.PrefixLimit, idx: map[string]int32{}, m: map[string]int64{}}
}

// newPrefixer cuts keys as analyze's prefix table does (and the prefix
// column of a diff's Parquet file): up to the PrefixDepth-th separator, or
// the last one when a key has fewer.
func newPrefixer(o *Options) *analyze.Prefixer {
	return analyze.NewPrefixer(analyze.Options{Separators: o.Separators, Depth: o.PrefixDepth})
}

// prefixOf returns the key's prefix, or nil for a key without a separator
// (such keys are grouped under "(no prefix)" so that unique keys do not
// each make a group).
func prefixOf(pf *analyze.Prefixer, key []byte) []byte {
	if pre := pf.Prefix(key); len(pre) > 0 {
		return pre
	}
	return nil
}

const noPrefix = "(no prefix)"

func (p *prefixCounter) count(key []byte, n int64) {
	pre := prefixOf(p.pf, key)
	if pre == nil {
		pre = []byte(noPrefix)
	}
	if i, ok := p.idx[string(pre)]; ok {
		p.counts[i] += n
		return
	}
	if len(p.idx) >= p.limit && string(pre) != noPrefix {
		p.trunc = true
		p.other += n
		return
	}
	p.idx[string(pre)] = int32(len(p.counts))
	p.counts = append(p.counts, n)
}

// finish moves the counts into m.
func (p *prefixCounter) finish() {
	for k, i := range p.idx {
		p.m[k] += p.counts[i]
	}
	p.idx, p.counts = map[string]int32{}, nil
}

// groupName returns the prefix group a key belongs to, given the prefixes
// tracked by both sides.
func groupName(pf *analyze.Prefixer, key []byte, known func(string) bool) string {
	pre := prefixOf(pf, key)
	if pre == nil {
		return noPrefix
	}
	if known(string(pre)) {
		return string(pre)
	}
	return otherPrefix
}
