package diff

import (
	"bytes"
	"errors"
)

// List details: the common head and tail of two lists, and what lies
// between them.

// overlap returns the smallest shift h for which x[h:] and y start alike
// over m = min(len(x)-h, len(y)) > 0 elements, or -1. It reads both in
// order (x once, and from each candidate h on), so lists in files need
// no memory.
func overlap(x, y *listSeq, budget *int) (h, m int, err error) {
	if y.len() == 0 {
		return -1, 0, nil
	}
	var xc, yc, x2, y2 listCur
	y.at(&yc, 0)
	y0 := bytes.Clone(yc.next())
	x.at(&xc, 0)
	for h = 0; h < x.len(); h++ {
		if !bytes.Equal(xc.next(), y0) {
			continue
		}
		m = min(x.len()-h, y.len())
		ok := true
		if m > 1 {
			x2.copyFrom(&xc)
			y2.copyFrom(&yc)
			for i := 1; i < m; i++ {
				*budget--
				if !bytes.Equal(x2.next(), y2.next()) {
					ok = false
					break
				}
			}
			if err := errors.Join(x2.err, y2.err); err != nil {
				return -1, 0, err
			}
		}
		if *budget < 0 {
			return -1, 0, nil
		}
		if ok {
			return h, m, nil
		}
	}
	return -1, 0, errors.Join(xc.err, yc.err)
}

// listItems appends to items, up to max of them, the elements of s from
// index from to index to, as added or removed items.
func listItems(items []Item, s *listSeq, from, to int64, max int) ([]Item, error) {
	if from >= to || len(items) >= max {
		return items, nil
	}
	var c listCur
	s.at(&c, int(from))
	for i := from; i < to && len(items) < max; i++ {
		v := c.next()
		if c.err != nil {
			return nil, c.err
		}
		items = append(items, Item{Index: i64(i), Value: bytes.Clone(v)})
	}
	return items, c.err
}

func (c *comparer) listDetails(d *Details, a, b *listSeq) error {
	max := c.opts.MaxDetails
	la, lb := a.len(), b.len()
	d.OldLen, d.NewLen = int64(la), int64(lb)
	budget := 20_000_000
	var ends *ListEnds
	h, m, err := overlap(a, b, &budget)
	if err != nil {
		return err
	}
	// Require the kept part to be a real share of the list, so that two
	// unrelated lists that happen to share one element are not "moved".
	if h >= 0 && 2*m >= min(la, lb) {
		ends = &ListEnds{HeadRemoved: int64(h)}
		if m == lb {
			ends.TailRemoved = int64(la - h - lb)
		} else {
			ends.TailAdded = int64(lb - m)
		}
	} else {
		g, m, err := overlap(b, a, &budget)
		if err != nil {
			return err
		}
		if g >= 0 && 2*m >= min(la, lb) {
			ends = &ListEnds{HeadAdded: int64(g)}
			if m == la {
				ends.TailAdded = int64(lb - g - la)
			} else {
				ends.TailRemoved = int64(la - m)
			}
		}
	}
	if ends != nil && *ends != (ListEnds{}) {
		d.List = ends
		var removed, added []Item
		var err error
		if removed, err = listItems(removed, a, 0, ends.HeadRemoved, max); err != nil {
			return err
		}
		if removed, err = listItems(removed, a, int64(la)-ends.TailRemoved, int64(la), max); err != nil {
			return err
		}
		if added, err = listItems(added, b, 0, ends.HeadAdded, max); err != nil {
			return err
		}
		if added, err = listItems(added, b, int64(lb)-ends.TailAdded, int64(lb), max); err != nil {
			return err
		}
		d.Removed = c.items(ends.HeadRemoved+ends.TailRemoved, removed)
		d.Added = c.items(ends.HeadAdded+ends.TailAdded, added)
		return nil
	}
	// Position by position.
	var changed []Item
	var nChg int64
	n := min(la, lb)
	var ca, cb listCur
	a.at(&ca, 0)
	b.at(&cb, 0)
	for i := 0; i < n; i++ {
		x, y := ca.next(), cb.next()
		if !bytes.Equal(x, y) {
			nChg++
			if len(changed) < max {
				changed = append(changed, Item{Index: i64(int64(i)), Old: bytes.Clone(x), New: bytes.Clone(y)})
			}
		}
	}
	if err := errors.Join(ca.err, cb.err); err != nil {
		return err
	}
	removed, err := listItems(nil, a, int64(n), int64(la), max)
	if err != nil {
		return err
	}
	added, err := listItems(nil, b, int64(n), int64(lb), max)
	if err != nil {
		return err
	}
	d.Changed = c.items(nChg, changed)
	d.Removed = c.items(int64(la-n), removed)
	d.Added = c.items(int64(lb-n), added)
	return nil
}

func joinFields(f [][]byte) []byte {
	var b []byte
	for i, x := range f {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, x...)
	}
	return b
}
