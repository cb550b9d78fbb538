package rdb

import (
	"fmt"
	"slices"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

func (c *CollectionWriter) closeSet() error {
	w := c.w
	lim := &w.lim
	if c.allInts && c.n <= int64(lim.SetMaxIntsetEntries) {
		s := slices.Clone(c.ints)
		slices.Sort(s)
		for i := 1; i < len(s); i++ {
			if s[i] == s[i-1] {
				return fmt.Errorf("rdb: key %q: duplicate set member %d", c.h.Key, s[i])
			}
		}
		return c.blob(typeSetIntset, compact.BuildIntset(s))
	}
	if w.t.at(11) && c.n <= int64(lim.SetMaxListpackEntries) && c.maxLen <= lim.SetMaxListpackValue {
		// A server adding members one by one keeps an intset while they
		// are integers, then converts it (sorted) to a listpack.
		var ints []int64
		var rest [][]byte
		seen := w.seenMap()
		i := 0
		err := c.elements(func(e Element) error {
			if seen[string(e.Member)] {
				return fmt.Errorf("rdb: key %q: duplicate set member %q", c.h.Key, e.Member)
			}
			seen[string(e.Member)] = true
			if i < c.nInts && c.nInts <= lim.SetMaxIntsetEntries {
				v, _ := compact.ParseRedisInt(e.Member)
				ints = append(ints, v)
			} else {
				rest = append(rest, slices.Clone(e.Member))
			}
			i++
			return nil
		})
		if err != nil {
			return err
		}
		slices.Sort(ints)
		var lb compact.ListpackBuilder
		for _, v := range ints {
			lb.AppendInt(v)
		}
		for _, m := range rest {
			lb.Append(m)
		}
		return c.blob(typeSetListpack, lb.Bytes())
	}
	return c.plainBody(typeSet)
}
