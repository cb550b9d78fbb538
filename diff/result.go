package diff

import (
	"os"
	"sort"
	"strconv"

	"github.com/rdbtool/rdbtool/rdb"
)

// Result is a finished comparison: the Summary, and the differing keys
// kept in a temporary file (see Each). Close removes the file.
type Result struct {
	Summary  Summary
	dir      string
	diffs    *os.File
	details  *os.File
	unsorted bool
}

// Sorted tells whether Each returns keys ordered by db and key bytes;
// when there are too many differences to sort within the memory budget
// they come in an unspecified order.
func (res *Result) Sorted() bool { return !res.unsorted }

// Close removes the temporary files.
func (res *Result) Close() error {
	removeFile(res.diffs)
	removeFile(res.details)
	res.diffs, res.details = nil, nil
	if res.dir != "" {
		os.RemoveAll(res.dir)
	}
	return nil
}

// Each calls fn for every differing key. The KeyDiff is fn's to keep.
func (res *Result) Each(fn func(*KeyDiff) error) error {
	if res.diffs == nil {
		return nil
	}
	return readDiffs(res.diffs, func(r *diffRec) error {
		kd := &KeyDiff{DB: r.db, Key: r.key, Kind: r.kind, OldExpireAt: r.expA, NewExpireAt: r.expB}
		if r.typA != 0 {
			kd.OldType = r.typA.String()
		}
		if r.typB != 0 {
			kd.NewType = r.typB.String()
		}
		if r.kind == TTLChanged || r.ttl {
			kd.TTL = &TTLChange{OldExpireAt: expPtr(r.expA), NewExpireAt: expPtr(r.expB)}
		}
		if r.detail > 0 && res.details != nil {
			d, err := res.readDetails(r.detail)
			if err != nil {
				return err
			}
			kd.Details = d
		}
		return fn(kd)
	})
}

func (c *comparer) summarize(res *Result, spilled bool) error {
	s := &res.Summary
	s.A = Side{Name: c.a.name, Time: c.a.time, Keys: c.a.keys, Expired: c.a.expired}
	s.B = Side{Name: c.b.name, Time: c.b.time, Keys: c.b.keys, Expired: c.b.expired}
	s.Sides = []Side{s.A, s.B}
	s.AsOf = c.cutoff
	s.Spilled = spilled
	s.PrefixesTruncated = c.a.prefix.trunc || c.b.prefix.trunc

	dbs := map[int]*Group{}
	types := map[rdb.Type]*Group{}
	prefixes := map[string]*Group{}
	dbGroup := func(db int) *Group {
		g := dbs[db]
		if g == nil {
			g = &Group{Name: strconv.Itoa(db)}
			dbs[db] = g
		}
		return g
	}
	typeGroup := func(t rdb.Type) *Group {
		g := types[t]
		if g == nil {
			g = &Group{Name: t.String()}
			types[t] = g
		}
		return g
	}
	prefixGroup := func(p string) *Group {
		g := prefixes[p]
		if g == nil {
			g = &Group{Name: p}
			prefixes[p] = g
		}
		return g
	}
	for db, n := range c.a.byDB {
		dbGroup(db).KeysA = n
	}
	for db, n := range c.b.byDB {
		dbGroup(db).KeysB = n
	}
	for t, n := range c.a.byType {
		typeGroup(t).KeysA = n
	}
	for t, n := range c.b.byType {
		typeGroup(t).KeysB = n
	}
	for p, n := range c.a.prefix.m {
		prefixGroup(p).KeysA = n
	}
	for p, n := range c.b.prefix.m {
		prefixGroup(p).KeysB = n
	}
	if c.a.prefix.other > 0 || c.b.prefix.other > 0 {
		g := prefixGroup(otherPrefix)
		g.KeysA += c.a.prefix.other
		g.KeysB += c.b.prefix.other
	}
	known := func(p string) bool {
		_, ok := c.a.prefix.m[p]
		if !ok {
			_, ok = c.b.prefix.m[p]
		}
		return ok
	}
	pf := newPrefixer(&c.opts)
	err := readDiffs(res.diffs, func(r *diffRec) error {
		s.Counts.add(r.kind)
		dbGroup(r.db).add(r.kind)
		t := r.typA
		if t == 0 {
			t = r.typB
		}
		typeGroup(t).add(r.kind)
		prefixGroup(groupName(pf, r.key, known)).add(r.kind)
		return nil
	})
	if err != nil {
		return err
	}
	s.Same = s.Counts.Total() == 0
	for _, g := range dbs {
		s.ByDB = append(s.ByDB, *g)
	}
	sort.Slice(s.ByDB, func(i, j int) bool {
		a, _ := strconv.Atoi(s.ByDB[i].Name)
		b, _ := strconv.Atoi(s.ByDB[j].Name)
		return a < b
	})
	for _, g := range types {
		s.ByType = append(s.ByType, *g)
	}
	sort.Slice(s.ByType, func(i, j int) bool { return s.ByType[i].Name < s.ByType[j].Name })
	for _, g := range prefixes {
		if g.Total() > 0 {
			s.ByPrefix = append(s.ByPrefix, *g)
		}
	}
	sort.Slice(s.ByPrefix, func(i, j int) bool {
		a, b := s.ByPrefix[i], s.ByPrefix[j]
		if a.Total() != b.Total() {
			return a.Total() > b.Total()
		}
		return a.Name < b.Name
	})
	return nil
}

// LostFraction is the share of A's keys that B no longer has.
func (g Group) LostFraction() float64 {
	if g.KeysA == 0 {
		return 0
	}
	return float64(g.Removed) / float64(g.KeysA)
}
