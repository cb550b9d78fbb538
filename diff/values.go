package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/rdbtool/rdbtool/rdb"
)

// The element-level details of two values compared in memory.

func (c *comparer) items(count int64, list []Item) *Items {
	if count == 0 {
		return nil
	}
	if list == nil {
		list = []Item{}
	}
	return &Items{Count: count, Items: list}
}

func (c *comparer) fieldTTLDiffers(a, b int64) bool {
	if c.opts.IgnoreTTL {
		return false
	}
	return c.ttlDiffers(a, b)
}

func i64(v int64) *int64 { return &v }
func expPtr(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func preview(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// compareValues describes how b differs from a (same type).
func (c *comparer) compareValues(a, b *rdb.Value) (*Details, error) {
	max := c.opts.MaxDetails
	d := &Details{}
	switch a.Type {
	case rdb.TypeString:
		d.OldLen, d.NewLen = int64(len(a.String)), int64(len(b.String))
		ha, hb := sha256.Sum256(a.String), sha256.Sum256(b.String)
		d.OldSHA256, d.NewSHA256 = hex.EncodeToString(ha[:]), hex.EncodeToString(hb[:])
		if d.OldSHA256 != d.NewSHA256 {
			d.OldPreview, d.NewPreview = preview(a.String), preview(b.String)
		}
	case rdb.TypeList:
		if err := c.listDetails(d, memList(a.Items), memList(b.Items)); err != nil {
			return nil, err
		}
	case rdb.TypeSet:
		d.OldLen, d.NewLen = int64(len(a.Items)), int64(len(b.Items))
		inA := make(map[string]bool, len(a.Items))
		for _, m := range a.Items {
			inA[string(m)] = true
		}
		var added, removed [][]byte
		for _, m := range b.Items {
			if !inA[string(m)] {
				added = append(added, m)
			} else {
				delete(inA, string(m))
			}
		}
		for m := range inA {
			removed = append(removed, []byte(m))
		}
		d.Added = c.memberItems(added)
		d.Removed = c.memberItems(removed)
	case rdb.TypeZSet:
		d.OldLen, d.NewLen = int64(len(a.ZSet)), int64(len(b.ZSet))
		inA := make(map[string]float64, len(a.ZSet))
		for _, m := range a.ZSet {
			inA[string(m.Member)] = m.Score
		}
		var added, removed, changed []Item
		var nAdd, nRem, nChg int64
		for _, m := range b.ZSet {
			old, ok := inA[string(m.Member)]
			if !ok {
				nAdd++
				s := Score(m.Score)
				added = append(added, Item{Member: m.Member, NewScore: &s})
				continue
			}
			delete(inA, string(m.Member))
			if scoreBits(old) != scoreBits(m.Score) {
				nChg++
				so, sn := Score(old), Score(m.Score)
				changed = append(changed, Item{Member: m.Member, OldScore: &so, NewScore: &sn})
			}
		}
		for m, sc := range inA {
			nRem++
			s := Score(sc)
			removed = append(removed, Item{Member: []byte(m), OldScore: &s})
		}
		d.Added = c.items(nAdd, firstByMember(added, max))
		d.Removed = c.items(nRem, firstByMember(removed, max))
		d.Changed = c.items(nChg, firstByMember(changed, max))
	case rdb.TypeHash:
		d.OldLen, d.NewLen = int64(len(a.Hash)), int64(len(b.Hash))
		inA := make(map[string]rdb.HashField, len(a.Hash))
		for _, f := range a.Hash {
			inA[string(f.Field)] = f
		}
		var added, removed, changed, ttl []Item
		var nAdd, nRem, nChg, nTTL int64
		for _, f := range b.Hash {
			old, ok := inA[string(f.Field)]
			if !ok {
				nAdd++
				added = append(added, Item{Member: f.Field, Value: f.Value, NewExpireAt: expPtr(f.ExpireAt)})
				continue
			}
			delete(inA, string(f.Field))
			if !bytes.Equal(old.Value, f.Value) {
				nChg++
				changed = append(changed, Item{Member: f.Field, Old: old.Value, New: f.Value})
			}
			if c.fieldTTLDiffers(old.ExpireAt, f.ExpireAt) {
				nTTL++
				ttl = append(ttl, Item{Member: f.Field, OldExpireAt: expPtr(old.ExpireAt), NewExpireAt: expPtr(f.ExpireAt)})
			}
		}
		for _, f := range inA {
			nRem++
			removed = append(removed, Item{Member: f.Field, Value: f.Value, OldExpireAt: expPtr(f.ExpireAt)})
		}
		d.Added = c.items(nAdd, firstByMember(added, max))
		d.Removed = c.items(nRem, firstByMember(removed, max))
		d.Changed = c.items(nChg, firstByMember(changed, max))
		d.FieldTTL = c.items(nTTL, firstByMember(ttl, max))
	case rdb.TypeStream:
		c.streamDetails(d, a.Stream, b.Stream)
	case rdb.TypeModule:
		if a.Module.Name != b.Module.Name || !bytes.Equal(a.Module.Raw, b.Module.Raw) {
			d.Module = &MetaChange{Name: "module", Old: fmt.Sprintf("%s, %d bytes", a.Module.Name, len(a.Module.Raw)), New: fmt.Sprintf("%s, %d bytes", b.Module.Name, len(b.Module.Raw))}
		}
	}
	return d, nil
}

func (c *comparer) memberItems(ms [][]byte) *Items {
	if len(ms) == 0 {
		return nil
	}
	sort.Slice(ms, func(i, j int) bool { return bytes.Compare(ms[i], ms[j]) < 0 })
	n := min(len(ms), c.opts.MaxDetails)
	out := make([]Item, n)
	for i := range out {
		out[i] = Item{Member: ms[i]}
	}
	return &Items{Count: int64(len(ms)), Items: out}
}

func firstByMember(it []Item, n int) []Item {
	sort.Slice(it, func(i, j int) bool { return bytes.Compare(it[i].Member, it[j].Member) < 0 })
	if len(it) > n {
		it = it[:n]
	}
	return it
}
