package diff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"

	"github.com/rdbtool/rdbtool/rdb"
)

// Stream details: entries added and removed, consumer groups and their
// pending entries and consumers.

func idLess(a, b rdb.StreamID) bool { return a.Compare(b) < 0 }

func (c *comparer) streamDetails(d *Details, a, b *rdb.StreamValue) {
	max := c.opts.MaxDetails
	d.OldLen, d.NewLen = int64(len(a.Entries)), int64(len(b.Entries))
	ea, eb := a.Entries, b.Entries
	sort.SliceStable(ea, func(i, j int) bool { return idLess(ea[i].ID, ea[j].ID) })
	sort.SliceStable(eb, func(i, j int) bool { return idLess(eb[i].ID, eb[j].ID) })
	var added, removed, changed []Item
	var nAdd, nRem, nChg int64
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		switch {
		case j >= len(eb) || (i < len(ea) && idLess(ea[i].ID, eb[j].ID)):
			nRem++
			if len(removed) < max {
				removed = append(removed, Item{ID: ea[i].ID.String(), Value: joinFields(ea[i].Fields)})
			}
			i++
		case i >= len(ea) || idLess(eb[j].ID, ea[i].ID):
			nAdd++
			if len(added) < max {
				added = append(added, Item{ID: eb[j].ID.String(), Value: joinFields(eb[j].Fields)})
			}
			j++
		default:
			fa, fb := joinFields(ea[i].Fields), joinFields(eb[j].Fields)
			if len(ea[i].Fields) != len(eb[j].Fields) || !bytes.Equal(fa, fb) {
				nChg++
				if len(changed) < max {
					changed = append(changed, Item{ID: ea[i].ID.String(), Old: fa, New: fb})
				}
			}
			i++
			j++
		}
	}
	d.Added = c.items(nAdd, added)
	d.Removed = c.items(nRem, removed)
	d.Changed = c.items(nChg, changed)
	meta := func(name string, old, new any) {
		if fmt.Sprint(old) != fmt.Sprint(new) {
			d.Meta = append(d.Meta, MetaChange{Name: name, Old: old, New: new})
		}
	}
	meta("length", a.Length, b.Length)
	meta("last-generated-id", a.LastID.String(), b.LastID.String())
	both2 := a.Version >= 2 && b.Version >= 2
	if both2 {
		meta("recorded-first-entry-id", a.FirstID.String(), b.FirstID.String())
		meta("max-deleted-entry-id", a.MaxDeletedID.String(), b.MaxDeletedID.String())
		meta("entries-added", a.EntriesAdded, b.EntriesAdded)
	}
	ga := map[string]*rdb.StreamGroup{}
	for k := range a.Groups {
		ga[string(a.Groups[k].Name)] = &a.Groups[k]
	}
	gd := &GroupDiff{}
	for k := range b.Groups {
		g := &b.Groups[k]
		old := ga[string(g.Name)]
		if old == nil {
			gd.Added = append(gd.Added, string(g.Name))
			continue
		}
		delete(ga, string(g.Name))
		name := "group " + string(g.Name) + " "
		ch := func(what string, o, n any) {
			if fmt.Sprint(o) != fmt.Sprint(n) {
				gd.Changed = append(gd.Changed, MetaChange{Name: name + what, Old: o, New: n})
			}
		}
		ch("last-delivered-id", old.LastID.String(), g.LastID.String())
		if both2 {
			ch("entries-read", old.EntriesRead, g.EntriesRead)
		}
		ch("pel-count", len(old.Pending), len(g.Pending))
		ch("consumers", consumerNames(old), consumerNames(g))
		ch("pending", pendingSig(old), pendingSig(g))
		ch("consumer-state", consumerSig(old), consumerSig(g))
	}
	for name := range ga {
		gd.Removed = append(gd.Removed, name)
	}
	sort.Strings(gd.Added)
	sort.Strings(gd.Removed)
	if len(gd.Added)+len(gd.Removed)+len(gd.Changed) > 0 {
		d.Groups = gd
	}
}

func consumerNames(g *rdb.StreamGroup) []string {
	var out []string
	for _, c := range g.Consumers {
		out = append(out, string(c.Name))
	}
	sort.Strings(out)
	return out
}

func pendingSig(g *rdb.StreamGroup) string {
	h := sha256.New()
	for _, p := range g.Pending {
		fmt.Fprintf(h, "%s %q %d %d\n", p.ID, p.Consumer, p.DeliveryTime, p.DeliveryCount)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func consumerSig(g *rdb.StreamGroup) string {
	h := sha256.New()
	for _, c := range g.Consumers {
		fmt.Fprintf(h, "%q %d %v\n", c.Name, c.SeenTime, c.Pending)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
