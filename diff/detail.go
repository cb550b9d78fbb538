package diff

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/rdbtool/rdbtool/rdb"
)

type candidate struct {
	idx        int64
	confirm    bool // drop unless the details show a difference
	ttl        bool // the key's TTL differs
	haveA      bool
	aOff, aLen int64
}

type detailResult struct {
	off  int64 // offset+1 in the details file, 0 none
	drop bool
	kind Kind // replacement kind, "" to keep
}

// details is the second pass: it re-reads the keys whose values differ and
// describes the differences element by element.
func (c *comparer) details(ctx context.Context, res *Result) error {
	need := func(r *diffRec) bool {
		return r.kind == ValueChanged && (!c.opts.SummaryOnly || r.confirm)
	}
	results := map[int64]detailResult{}
	chunk := map[string]*candidate{}
	var chunkMem int64
	var idx int64 = -1
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := c.detailChunk(ctx, res, chunk, results)
		chunk, chunkMem = map[string]*candidate{}, 0
		return err
	}
	err := readDiffs(res.diffs, func(r *diffRec) error {
		idx++
		if !need(r) {
			return nil
		}
		k := mapKey(r.db, r.key)
		chunk[k] = &candidate{idx: idx, confirm: r.confirm, ttl: r.ttl}
		chunkMem += int64(len(k)) + 120
		if chunkMem > c.opts.MemLimit/4 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if len(results) == 0 {
		return nil
	}
	// Rewrite the differences with the details' offsets.
	w, err := newDiffWriter(res.dir)
	if err != nil {
		return err
	}
	idx = -1
	err = readDiffs(res.diffs, func(r *diffRec) error {
		idx++
		if dr, ok := results[idx]; ok {
			if dr.drop {
				return nil
			}
			if dr.kind != "" {
				r.kind = dr.kind
			}
			r.detail = dr.off
		}
		return w.write(r)
	})
	if err != nil {
		return err
	}
	f, err := w.done()
	if err != nil {
		return err
	}
	removeFile(res.diffs)
	res.diffs = f
	return nil
}

// eachCandidate calls fn for every candidate key present in the input.
func (c *comparer) eachCandidate(ctx context.Context, in Input, chunk map[string]*candidate, fn func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error) error {
	if in.live != nil {
		for k, cd := range chunk {
			db, key := splitKey([]byte(k))
			rec, r, err := in.live.Get(ctx, db, key)
			if err != nil {
				return err
			}
			if rec == nil {
				continue
			}
			if err := fn(cd, rec, r); err != nil {
				return err
			}
		}
		return nil
	}
	db := -1
	if c.opts.FilterDB {
		db = c.opts.DB
	}
	st, err := in.stream(ctx, db, c.opts.Match)
	if err != nil {
		return err
	}
	defer st.close()
	var kb []byte
	for {
		rec, r, err := st.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", in.Name, err)
		}
		kb = binary.AppendUvarint(kb[:0], uint64(rec.DB))
		kb = append(kb, rec.Key...)
		cd := chunk[string(kb)]
		if cd == nil {
			continue
		}
		if err := fn(cd, rec, r); err != nil {
			return err
		}
	}
}

func (c *comparer) readValue(rec *rdb.Record, r *rdb.Reader) (*rdb.Value, error) {
	v, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	if v.Type == rdb.TypeHash && c.cutoff != 0 {
		kept := v.Hash[:0]
		for _, f := range v.Hash {
			if f.ExpireAt != 0 && f.ExpireAt <= c.cutoff {
				continue
			}
			kept = append(kept, f)
		}
		v.Hash = kept
	}
	return v, nil
}

func (c *comparer) detailChunk(ctx context.Context, res *Result, chunk map[string]*candidate, results map[int64]detailResult) error {
	vals, err := os.CreateTemp(res.dir, "rdbdiff-values-*")
	if err != nil {
		return err
	}
	defer removeFile(vals)
	vw := bufio.NewWriterSize(vals, 64<<10)
	var off int64
	err = c.eachCandidate(ctx, c.a.in, chunk, func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error {
		v, err := c.readValue(rec, r)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := gob.NewEncoder(&buf).Encode(v); err != nil {
			return err
		}
		cd.haveA, cd.aOff, cd.aLen = true, off, int64(buf.Len())
		off += int64(buf.Len())
		_, err = vw.Write(buf.Bytes())
		return err
	})
	if err != nil {
		return err
	}
	if err := vw.Flush(); err != nil {
		return err
	}
	if res.details == nil {
		if res.details, err = os.CreateTemp(res.dir, "rdbdiff-details-*"); err != nil {
			return err
		}
	}
	return c.eachCandidate(ctx, c.b.in, chunk, func(cd *candidate, rec *rdb.Record, r *rdb.Reader) error {
		if !cd.haveA {
			return nil
		}
		vb, err := c.readValue(rec, r)
		if err != nil {
			return err
		}
		var va rdb.Value
		if err := gob.NewDecoder(io.NewSectionReader(vals, cd.aOff, cd.aLen)).Decode(&va); err != nil {
			return fmt.Errorf("reading back a spilled value: %w", err)
		}
		d := c.compareValues(&va, vb)
		if d == nil {
			return nil
		}
		// A key flagged for confirmation differs only if a field TTL
		// differs beyond the tolerance.
		var dr detailResult
		if cd.confirm && d.Added == nil && d.Removed == nil && d.Changed == nil && d.FieldTTL == nil && d.List == nil && len(d.Meta) == 0 && d.Groups == nil && d.Module == nil && d.OldSHA256 == d.NewSHA256 {
			if cd.ttl {
				dr.kind = TTLChanged // the key's own TTL still differs
			} else {
				dr.drop = true
			}
			results[cd.idx] = dr
			return nil
		}
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		end, err := res.details.Seek(0, io.SeekEnd)
		if err != nil {
			return err
		}
		var lb [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(lb[:], uint64(len(b)))
		if _, err := res.details.Write(append(lb[:n:n], b...)); err != nil {
			return err
		}
		dr.off = end + 1
		results[cd.idx] = dr
		return nil
	})
}

// readDetails reads details stored at off (offset+1).
func (res *Result) readDetails(off int64) (*Details, error) {
	br := bufio.NewReader(io.NewSectionReader(res.details, off-1, 1<<62))
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, err
	}
	d := &Details{}
	return d, json.Unmarshal(b, d)
}

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
func (c *comparer) compareValues(a, b *rdb.Value) *Details {
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
		c.listDetails(d, a.Items, b.Items)
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
	return d
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

// overlap returns the smallest shift h for which x[h:] and y start alike
// over m = min(len(x)-h, len(y)) > 0 elements, or -1.
func overlap(x, y [][]byte, budget *int) (h, m int) {
	if len(y) == 0 {
		return -1, 0
	}
	for h = 0; h < len(x); h++ {
		if !bytes.Equal(x[h], y[0]) {
			continue
		}
		m = min(len(x)-h, len(y))
		ok := true
		for i := 1; i < m; i++ {
			*budget--
			if !bytes.Equal(x[h+i], y[i]) {
				ok = false
				break
			}
		}
		if *budget < 0 {
			return -1, 0
		}
		if ok {
			return h, m
		}
	}
	return -1, 0
}

func (c *comparer) listDetails(d *Details, a, b [][]byte) {
	max := c.opts.MaxDetails
	d.OldLen, d.NewLen = int64(len(a)), int64(len(b))
	budget := 20_000_000
	var ends *ListEnds
	h, m := overlap(a, b, &budget)
	// Require the kept part to be a real share of the list, so that two
	// unrelated lists that happen to share one element are not "moved".
	if h >= 0 && 2*m >= min(len(a), len(b)) {
		ends = &ListEnds{HeadRemoved: int64(h)}
		if m == len(b) {
			ends.TailRemoved = int64(len(a) - h - len(b))
		} else {
			ends.TailAdded = int64(len(b) - m)
		}
	} else if g, m := overlap(b, a, &budget); g >= 0 && 2*m >= min(len(a), len(b)) {
		ends = &ListEnds{HeadAdded: int64(g)}
		if m == len(a) {
			ends.TailAdded = int64(len(b) - g - len(a))
		} else {
			ends.TailRemoved = int64(len(a) - m)
		}
	}
	if ends != nil && *ends != (ListEnds{}) {
		d.List = ends
		var removed, added []Item
		for i := int64(0); i < ends.HeadRemoved && len(removed) < max; i++ {
			removed = append(removed, Item{Index: i64(i), Value: a[i]})
		}
		for i := int64(len(a)) - ends.TailRemoved; i < int64(len(a)) && len(removed) < max; i++ {
			removed = append(removed, Item{Index: i64(i), Value: a[i]})
		}
		for i := int64(0); i < ends.HeadAdded && len(added) < max; i++ {
			added = append(added, Item{Index: i64(i), Value: b[i]})
		}
		for i := int64(len(b)) - ends.TailAdded; i < int64(len(b)) && len(added) < max; i++ {
			added = append(added, Item{Index: i64(i), Value: b[i]})
		}
		d.Removed = c.items(ends.HeadRemoved+ends.TailRemoved, removed)
		d.Added = c.items(ends.HeadAdded+ends.TailAdded, added)
		return
	}
	// Position by position.
	var changed, removed, added []Item
	var nChg int64
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if !bytes.Equal(a[i], b[i]) {
			nChg++
			if len(changed) < max {
				changed = append(changed, Item{Index: i64(int64(i)), Old: a[i], New: b[i]})
			}
		}
	}
	for i := n; i < len(a) && len(removed) < max; i++ {
		removed = append(removed, Item{Index: i64(int64(i)), Value: a[i]})
	}
	for i := n; i < len(b) && len(added) < max; i++ {
		added = append(added, Item{Index: i64(int64(i)), Value: b[i]})
	}
	d.Changed = c.items(nChg, changed)
	d.Removed = c.items(int64(len(a)-n), removed)
	d.Added = c.items(int64(len(b)-n), added)
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

func idLess(a, b rdb.StreamID) bool { return a.Ms < b.Ms || (a.Ms == b.Ms && a.Seq < b.Seq) }

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
