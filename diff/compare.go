package diff

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
	"sort"
	"sync"

	"github.com/rdbtool/rdbtool/rdb"
)

// side is the first pass's state for one input.
type side struct {
	in      Input
	name    string
	budget  int64
	tab     table
	parts   *partSet
	dir     string
	keys    int64
	expired int64
	time    int64
	byDB    map[int]int64
	byType  map[rdb.Type]int64
	prefix  *prefixCounter
}

var tableSeed = maphash.MakeSeed()

// table holds entries without pointers: keys in one arena.
type table struct {
	arena []byte
	kvs   []kv
	aux   [][32]byte
}

func (t *table) add(k []byte, e *entry) {
	x := kv{h: maphash.Bytes(tableSeed, k), off: int64(len(t.arena)), klen: int32(len(k)), exp: e.exp, sum: e.dg.sum, typ: e.dg.typ}
	if e.dg.hasAux {
		t.aux = append(t.aux, e.dg.aux)
		x.aux = int32(len(t.aux))
	}
	t.kvs = append(t.kvs, x)
	t.arena = append(t.arena, k...)
}

func (t *table) entry(i int) entry {
	x := &t.kvs[i]
	e := entry{dg: digest{typ: x.typ, sum: x.sum}, exp: x.exp}
	if x.aux > 0 {
		e.dg.hasAux, e.dg.aux = true, t.aux[x.aux-1]
	}
	return e
}

func (t *table) key(i int) []byte {
	x := &t.kvs[i]
	return t.arena[x.off : x.off+int64(x.klen)]
}

// mem is the memory the table holds (capacities: append doubles them).
func (t *table) mem() int64 {
	return int64(cap(t.arena)) + int64(cap(t.kvs))*kvSize + int64(cap(t.aux))*32
}

func (t *table) sort() {
	slices.SortFunc(t.kvs, func(a, b kv) int {
		if a.h != b.h {
			return cmp.Compare(a.h, b.h)
		}
		return bytes.Compare(t.arena[a.off:a.off+int64(a.klen)], t.arena[b.off:b.off+int64(b.klen)])
	})
}

// merge walks two sorted tables together, calling fn once per distinct key
// with its entry on each side (nil where absent). Duplicates (a server's
// SCAN may return a key twice) are passed over.
func merge(ta, tb *table, fn func(k []byte, a, b *entry) error) error {
	i, j := 0, 0
	var last []byte
	lastSet := false
	for i < len(ta.kvs) || j < len(tb.kvs) {
		var c int
		switch {
		case i >= len(ta.kvs):
			c = 1
		case j >= len(tb.kvs):
			c = -1
		default:
			x, y := &ta.kvs[i], &tb.kvs[j]
			c = cmp.Compare(x.h, y.h)
			if c == 0 {
				c = bytes.Compare(ta.key(i), tb.key(j))
			}
		}
		var k []byte
		var a, b *entry
		var ea, eb entry
		switch {
		case c < 0:
			ea = ta.entry(i)
			k, a = ta.key(i), &ea
			i++
		case c > 0:
			eb = tb.entry(j)
			k, b = tb.key(j), &eb
			j++
		default:
			ea, eb = ta.entry(i), tb.entry(j)
			k, a, b = ta.key(i), &ea, &eb
			i++
			j++
		}
		if lastSet && bytes.Equal(k, last) {
			continue
		}
		last, lastSet = k, true
		if err := fn(k, a, b); err != nil {
			return err
		}
	}
	return nil
}

type comparer struct {
	opts   Options
	a, b   *side
	cutoff int64
	dw     *diffWriter
}

// Compare compares a (the old state) with b (the new state). The Result
// holds the differences in a temporary file: call Close when done.
func Compare(ctx context.Context, a, b Input, opts Options) (*Result, error) {
	opts.defaults()
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	dir, err := os.MkdirTemp(opts.TempDir, "rdbdiff-")
	if err != nil {
		return nil, err
	}
	res := &Result{dir: dir}
	ok := false
	defer func() {
		if !ok {
			res.Close()
		}
	}()
	c := &comparer{opts: opts}
	mk := func(in Input) *side {
		return &side{in: in, name: in.Name, budget: opts.MemLimit / 4, dir: dir,
			byDB: map[int]int64{}, byType: map[rdb.Type]int64{}, prefix: newPrefixCounter(&opts)}
	}
	c.a, c.b = mk(a), mk(b)

	// Open both, to learn their times before any value is digested.
	match := opts.Match
	db := -1
	if opts.FilterDB {
		db = opts.DB
	}
	sa, err := a.stream(ctx, db, match)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.Name, err)
	}
	defer sa.close()
	sb, err := b.stream(ctx, db, match)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name, err)
	}
	defer sb.close()
	c.a.time, c.b.time = sa.time(), sb.time()
	switch {
	case opts.KeepExpired:
	case !opts.AsOf.IsZero():
		c.cutoff = opts.AsOf.UnixMilli()
	default:
		c.cutoff = max(c.a.time, c.b.time)
	}

	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); errA = c.readSide(ctx, c.a, sa, "A") }()
	go func() { defer wg.Done(); errB = c.readSide(ctx, c.b, sb, "B") }()
	wg.Wait()
	sa.close()
	sb.close()
	for _, e := range []error{errA, errB} {
		if e != nil {
			return nil, e
		}
	}

	if c.dw, err = newDiffWriter(dir); err != nil {
		return nil, err
	}
	res.diffs = c.dw.f
	spilled := c.a.parts != nil || c.b.parts != nil
	if !spilled {
		if err := merge(&c.a.tab, &c.b.tab, c.compareKey); err != nil {
			return nil, err
		}
		c.a.tab, c.b.tab = table{}, table{}
	} else {
		for _, s := range []*side{c.a, c.b} {
			if s.parts == nil {
				if err := s.spill(); err != nil {
					return nil, err
				}
			}
			if err := s.parts.finish(); err != nil {
				return nil, err
			}
		}
		err := c.compareParts(c.a.parts, c.b.parts)
		c.a.parts.remove()
		c.b.parts.remove()
		if err != nil {
			return nil, err
		}
	}
	if _, err := c.dw.done(); err != nil {
		return nil, err
	}
	if err := res.sortDiffs(opts.MemLimit / 2); err != nil {
		return nil, err
	}
	if err := c.details(ctx, res); err != nil {
		return nil, err
	}
	if err := c.summarize(res, spilled); err != nil {
		return nil, err
	}
	ok = true
	return res, nil
}

func (c *comparer) readSide(ctx context.Context, s *side, st keyStream, label string) error {
	dg := newDigester()
	dg.cutoff = c.cutoff
	var n int64
	var kb []byte
	for {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if c.opts.Progress != nil && n > 0 {
				c.opts.Progress("read "+label, n)
			}
		}
		n++
		rec, r, err := st.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if c.opts.FilterDB && rec.DB != c.opts.DB {
			continue
		}
		if c.opts.Match != "" && !globMatch([]byte(c.opts.Match), rec.Key) {
			continue
		}
		if c.cutoff != 0 && rec.ExpireAt != 0 && rec.ExpireAt <= c.cutoff {
			s.expired++
			continue
		}
		d, err := dg.value(rec, r)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		kb = binary.AppendUvarint(kb[:0], uint64(rec.DB))
		kb = append(kb, rec.Key...)
		if err := s.add(kb, &entry{dg: d, exp: rec.ExpireAt}); err != nil {
			return err
		}
		s.byDB[rec.DB]++
		s.byType[rec.Type]++
		s.prefix.count(rec.Key, 1)
	}
	if s.parts == nil {
		s.tab.sort()
		s.keys = int64(len(s.tab.kvs))
		if len(s.tab.kvs) > 1 {
			// Do not count a key a server's SCAN returned twice.
			for i := 1; i < len(s.tab.kvs); i++ {
				if s.tab.kvs[i].h == s.tab.kvs[i-1].h && bytes.Equal(s.tab.key(i), s.tab.key(i-1)) {
					s.keys--
				}
			}
		}
	}
	return nil
}

func (s *side) add(k []byte, e *entry) error {
	if s.parts != nil {
		s.keys++
		return s.parts.write(k, e)
	}
	s.tab.add(k, e)
	if s.tab.mem() > s.budget {
		s.keys = int64(len(s.tab.kvs))
		return s.spill()
	}
	return nil
}

func (s *side) spill() error {
	p, err := newPartSet(s.dir, 0)
	if err != nil {
		return err
	}
	s.parts = p
	for i := range s.tab.kvs {
		e := s.tab.entry(i)
		if err := p.write(s.tab.key(i), &e); err != nil {
			return err
		}
	}
	s.tab = table{}
	return nil
}

func (c *comparer) compareParts(pa, pb *partSet) error {
	for i := 0; i < fanout; i++ {
		if err := c.comparePart(pa, pb, i); err != nil {
			return err
		}
	}
	return nil
}

// comparePart compares partition i, splitting it again when it would not
// fit the memory budget.
func (c *comparer) comparePart(pa, pb *partSet, i int) error {
	// A kv takes about twice its spilled size in memory.
	if (pa.size(i)+pb.size(i))*3 > c.opts.MemLimit && pa.level < len(partSeeds)-1 && pa.n[i]+pb.n[i] > 2 {
		sa, err := resplit(pa, i)
		if err != nil {
			return err
		}
		defer sa.remove()
		sb, err := resplit(pb, i)
		if err != nil {
			return err
		}
		defer sb.remove()
		return c.compareParts(sa, sb)
	}
	var ta, tb table
	ta.kvs = make([]kv, 0, pa.n[i])
	tb.kvs = make([]kv, 0, pb.n[i])
	if err := readPart(pa.files[i], func(k []byte, e *entry) error { ta.add(k, e); return nil }); err != nil {
		return err
	}
	if err := readPart(pb.files[i], func(k []byte, e *entry) error { tb.add(k, e); return nil }); err != nil {
		return err
	}
	ta.sort()
	tb.sort()
	return merge(&ta, &tb, c.compareKey)
}

func resplit(p *partSet, i int) (*partSet, error) {
	q, err := newPartSet(p.dir, p.level+1)
	if err != nil {
		return nil, err
	}
	if err := readPart(p.files[i], q.write); err != nil {
		q.remove()
		return nil, err
	}
	if err := q.finish(); err != nil {
		q.remove()
		return nil, err
	}
	return q, nil
}

func (c *comparer) ttlDiffers(a, b int64) bool {
	if c.opts.IgnoreTTL {
		return false
	}
	if (a == 0) != (b == 0) {
		return true
	}
	d := a - b
	if d < 0 {
		d = -d
	}
	return d > c.opts.TTLTolerance.Milliseconds()
}

func (c *comparer) compareKey(k []byte, a, b *entry) error {
	db, key := splitKey(k)
	r := diffRec{db: db, key: key}
	if a != nil {
		r.typA, r.expA = a.dg.typ, a.exp
	}
	if b != nil {
		r.typB, r.expB = b.dg.typ, b.exp
	}
	switch {
	case a == nil:
		r.kind = Added
	case b == nil:
		r.kind = Removed
	case a.dg.typ != b.dg.typ:
		r.kind = TypeChanged
		r.ttl = c.ttlDiffers(a.exp, b.exp)
	default:
		valueDiff := a.dg.sum != b.dg.sum
		auxDiff := a.dg.hasAux && b.dg.hasAux && a.dg.aux != b.dg.aux
		ttl := c.ttlDiffers(a.exp, b.exp)
		switch {
		case valueDiff:
			r.kind, r.ttl = ValueChanged, ttl
		case auxDiff && a.dg.typ == rdb.TypeHash:
			// Only field TTLs differ: the detail pass applies the
			// tolerance, unless TTLs are ignored.
			if c.opts.IgnoreTTL {
				if !ttl {
					return nil
				}
				r.kind = TTLChanged
				break
			}
			r.kind, r.ttl = ValueChanged, ttl
			r.confirm = c.opts.TTLTolerance > 0
		case auxDiff:
			r.kind, r.ttl = ValueChanged, ttl
		case ttl:
			r.kind = TTLChanged
		default:
			return nil
		}
	}
	return c.dw.write(&r)
}

// sortDiffs orders the differences by db and key when they fit in half
// the budget; otherwise they stay in discovery order.
func (res *Result) sortDiffs(budget int64) error {
	var all []diffRec
	var mem int64
	tooBig := false
	err := readDiffs(res.diffs, func(r *diffRec) error {
		mem += int64(len(r.key)) + 96
		if mem > budget {
			tooBig = true
			return errStop
		}
		all = append(all, *r)
		return nil
	})
	if err != nil && err != errStop {
		return err
	}
	if tooBig {
		res.unsorted = true
		return nil
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].db != all[j].db {
			return all[i].db < all[j].db
		}
		return bytes.Compare(all[i].key, all[j].key) < 0
	})
	return res.rewrite(all)
}

func (res *Result) rewrite(all []diffRec) error {
	w, err := newDiffWriter(res.dir)
	if err != nil {
		return err
	}
	for i := range all {
		if err := w.write(&all[i]); err != nil {
			return err
		}
	}
	f, err := w.done()
	if err != nil {
		return err
	}
	removeFile(res.diffs)
	res.diffs = f
	return nil
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}
