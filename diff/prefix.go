package diff

import (
	"bytes"
)

// prefixCounter counts keys per prefix, up to a limit. While counting,
// prefixes map to indexes into counts (one map lookup per key); finish
// fills m.
type prefixCounter struct {
	seps   []byte
	depth  int
	limit  int
	idx    map[string]int32
	counts []int64
	m      map[string]int64
	other  int64
	trunc  bool
}

const otherPrefix = "(other)"

func newPrefixCounter(o *Options) *prefixCounter {
	return &prefixCounter{seps: []byte(o.Separators), depth: o.PrefixDepth, limit: o.PrefixLimit, idx: map[string]int32{}, m: map[string]int64{}}
}

// prefixOf returns the key's first depth segments, separator included,
// or nil when the key has fewer separators (such keys are grouped under
// "(no prefix)" so that unique keys do not each make a group).
func prefixOf(key, seps []byte, depth int) []byte {
	if len(seps) == 1 {
		end := 0
		for n := 0; n < depth; n++ {
			i := bytes.IndexByte(key[end:], seps[0])
			if i < 0 {
				return nil
			}
			end += i + 1
		}
		return key[:end]
	}
	n := 0
	for i, c := range key {
		if bytes.IndexByte(seps, c) >= 0 {
			n++
			if n == depth {
				return key[:i+1]
			}
		}
	}
	return nil
}

const noPrefix = "(no prefix)"

func (p *prefixCounter) count(key []byte, n int64) {
	pre := prefixOf(key, p.seps, p.depth)
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
func groupName(key []byte, seps []byte, depth int, known func(string) bool) string {
	pre := prefixOf(key, seps, depth)
	if pre == nil {
		return noPrefix
	}
	if known(string(pre)) {
		return string(pre)
	}
	return otherPrefix
}
