package rdb

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

type hfield struct {
	f, v []byte
	at   int64
}

func (c *CollectionWriter) closeHash() error {
	w := c.w
	lim := &w.lim
	compactOK := c.n <= int64(lim.HashMaxEntries) && c.maxLen <= lim.HashMaxValue
	o := &w.o
	if c.anyTTL {
		return c.closeHashTTLs(compactOK)
	}
	if compactOK {
		seen := w.seenMap()
		lb, zb := &w.lb, &w.zb
		lb.Reset()
		zb.Reset()
		lp := w.t.at(10)
		if err := c.elements(func(e Element) error {
			if seen[string(e.Member)] {
				return fmt.Errorf("rdb: key %q: duplicate hash field %q", c.h.Key, e.Member)
			}
			seen[string(e.Member)] = true
			if lp {
				lb.Append(e.Member)
				lb.Append(e.Value)
			} else {
				zb.Append(e.Member)
				zb.Append(e.Value)
			}
			return nil
		}); err != nil {
			return err
		}
		if lp {
			return c.blob(typeHashListpack, lb.Bytes())
		}
		return c.blob(typeHashZiplist, zb.Bytes())
	}
	if err := w.keyHeader(&c.h, typeHash); err != nil {
		return err
	}
	o.len(uint64(c.n))
	return c.plainElements(func(e Element) error {
		o.str(e.Member)
		o.str(e.Value)
		return o.err
	})
}

// closeHashTTLs is closeHash for a hash with field TTLs: Valkey 9's hash
// type, or Redis 7.4's listpackex or hash-metadata type.
func (c *CollectionWriter) closeHashTTLs(compactOK bool) error {
	w := c.w
	o := &w.o
	if w.t.valkey() {
		// Valkey 9: field, value, absolute expiry (-1 for none).
		if err := w.keyHeader(&c.h, valkeyTypeHash2); err != nil {
			return err
		}
		o.len(uint64(c.n))
		return c.plainElements(func(e Element) error {
			o.str(e.Member)
			o.str(e.Value)
			at := e.ExpireAt
			if at == 0 {
				at = -1
			}
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], uint64(at))
			o.small(b[:])
			return o.err
		})
	}
	var minb [8]byte
	binary.LittleEndian.PutUint64(minb[:], uint64(c.minTTL))
	if compactOK {
		// listpackex: fields with a TTL ordered by it (each inserted
		// before the first field whose TTL is not smaller), then the
		// fields without one.
		var withTTL, without []hfield
		if err := c.elements(func(e Element) error {
			f := hfield{slices.Clone(e.Member), slices.Clone(e.Value), e.ExpireAt}
			if f.at == 0 {
				without = append(without, f)
			} else {
				withTTL = append(withTTL, f)
			}
			return nil
		}); err != nil {
			return err
		}
		// A stable sort keeps a listpackex read from a file (already in
		// the server's order, ties included) unchanged.
		sorted := withTTL
		slices.SortStableFunc(sorted, func(a, b hfield) int {
			switch {
			case a.at < b.at:
				return -1
			case a.at > b.at:
				return 1
			}
			return 0
		})
		sorted = append(sorted, without...)
		var lb compact.ListpackBuilder
		seen := map[string]bool{}
		for _, f := range sorted {
			if seen[string(f.f)] {
				return fmt.Errorf("rdb: key %q: duplicate hash field %q", c.h.Key, f.f)
			}
			seen[string(f.f)] = true
			lb.Append(f.f)
			lb.Append(f.v)
			lb.AppendInt(f.at)
		}
		if err := w.keyHeader(&c.h, typeHashListpackEx); err != nil {
			return err
		}
		o.small(minb[:])
		w.strFrom(lb.Bytes(), &w.src.blob)
		return o.err
	}
	if err := w.keyHeader(&c.h, typeHashMetadata); err != nil {
		return err
	}
	o.small(minb[:])
	o.len(uint64(c.n))
	return c.plainElements(func(e Element) error {
		if e.ExpireAt == 0 {
			o.len(0)
		} else {
			o.len(uint64(e.ExpireAt-c.minTTL) + 1)
		}
		o.str(e.Member)
		o.str(e.Value)
		return o.err
	})
}
