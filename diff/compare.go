package diff

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/rdbtool/rdbtool/internal/keyglob"
	"io"
	"os"
	"runtime"
	"sort"
	"sync"
	"unsafe"

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
	// The file's format, for the detail pass to read records in place.
	dialect rdb.Dialect
	version int
}

// join compares two tables key by key, calling compareKey once per
// distinct key, and returns the number of distinct keys on each side.
// Duplicates (a server's SCAN may return a key twice) are passed over.
func (c *comparer) join(ta, tb *table) (nA, nB int64, err error) {
	ix := reuseIndex(c.ixBuf, ta.n)
	defer func() { c.ixBuf = ix.slots }()
	seen := newBitset(ta.n)
	for i := 0; i < ta.n; i++ {
		if _, ok := ix.insert(ta, i); ok {
			nA++
		} else {
			seen.set(i) // a duplicate: never reported
		}
	}
	matched := newBitset(tb.n)
	unmatched := 0
	for j := 0; j < tb.n; j++ {
		k := tb.key(j)
		i := ix.find(ta, tb.at(j).h, k)
		if i < 0 {
			unmatched++
			continue
		}
		matched.set(j)
		if seen.get(i) {
			continue // B has the key twice
		}
		seen.set(i)
		nB++
		ea, eb := ta.entry(i), tb.entry(j)
		if err := c.compareKey(k, &ea, &eb); err != nil {
			return 0, 0, err
		}
	}
	if unmatched > 0 {
		ib := reuseIndex(ix.slots, unmatched)
		ix = ib
		for j := 0; j < tb.n; j++ {
			if matched.get(j) {
				continue
			}
			if _, ok := ib.insert(tb, j); !ok {
				continue
			}
			nB++
			eb := tb.entry(j)
			if err := c.compareKey(tb.key(j), nil, &eb); err != nil {
				return 0, 0, err
			}
		}
	}
	for i := 0; i < ta.n; i++ {
		if seen.get(i) {
			continue
		}
		ea := ta.entry(i)
		if err := c.compareKey(ta.key(i), &ea, nil); err != nil {
			return 0, 0, err
		}
	}
	return nA, nB, nil
}

type comparer struct {
	opts   Options
	a, b   *side
	cutoff int64
	dw     *diffWriter
	// tableBudget is the memory the key tables (with their indexes) of
	// both sides may take together.
	tableBudget int64
	// Reused from partition to partition.
	ta, tb table
	ixBuf  []uint32
}

// tableBudget is the part of the memory budget the key tables (with their
// indexes) may take: 60% of what is left past a process's fixed cost (the
// Go runtime, the program's code), a quarter of the budget at least; the
// rest covers the readers' and the spill files' buffers and the garbage
// collector's slack.
func tableBudget(memLimit int64) int64 {
	const fixedCost = 16 << 20
	return max(memLimit/4, (memLimit-fixedCost)*6/10)
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
	c := &comparer{opts: opts, tableBudget: tableBudget(opts.MemLimit)}
	mk := func(in Input) *side {
		return &side{in: in, name: in.Name, budget: c.tableBudget / 2, dir: dir,
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

	if c.dw, err = newDiffWriter(dir); err != nil {
		return nil, err
	}
	res.diffs = c.dw.f
	if a.live == nil && b.live == nil {
		err = c.mergeFiles(ctx, sa, sb)
	} else {
		err = c.readTables(ctx, sa, sb)
	}
	sa.close()
	sb.close()
	if err != nil {
		return nil, err
	}
	spilled := c.a.parts != nil || c.b.parts != nil
	if spilled {
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
		c.ta, c.tb, c.ixBuf = table{}, table{}, nil
		c.a.parts.remove()
		c.b.parts.remove()
		if err != nil {
			return nil, err
		}
	}
	if _, err := c.dw.done(); err != nil {
		return nil, err
	}
	if err := res.sortDiffs(tableBudget(opts.MemLimit), c.dw.n, c.dw.keyBytes); err != nil {
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

// readTables is the first pass when a side is a live server: each side's
// keys go to its table (or its partitions past the budget); two tables
// that fit are joined here, else the caller joins the partitions.
func (c *comparer) readTables(ctx context.Context, sa, sb keyStream) error {
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); errA = c.readSide(ctx, c.a, sa, "A", c.a.add) }()
	go func() { defer wg.Done(); errB = c.readSide(ctx, c.b, sb, "B", c.b.add) }()
	wg.Wait()
	if err := errors.Join(errA, errB); err != nil {
		return err
	}
	if c.a.parts != nil || c.b.parts != nil {
		return nil
	}
	nA, nB, err := c.join(&c.a.tab, &c.b.tab)
	c.a.keys, c.b.keys = nA, nB
	c.a.tab, c.b.tab, c.ixBuf = table{}, table{}, nil
	return err
}

// readSide reads one side's keys, handing each with its entry to emit.
func (c *comparer) readSide(ctx context.Context, s *side, st keyStream, label string, emit func(k []byte, e *entry) error) error {
	dg := newDigester()
	dg.cutoff = c.cutoff
	var n int64
	var kb []byte
	match := []byte(c.opts.Match)
	fs, _ := st.(*fileStream)
	if fs != nil {
		defer func() { s.dialect, s.version = fs.r.Dialect(), fs.r.Version() }()
		if c.opts.Jobs > 1 || c.opts.Jobs <= 0 && runtime.GOMAXPROCS(0) > 1 {
			return c.readFileParallel(ctx, s, fs, dg, label, emit)
		}
	}
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
		if c.opts.Match != "" && !keyglob.Match(match, rec.Key) {
			continue
		}
		if c.opts.Filter != nil && !c.opts.Filter(rec) {
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
		off := int64(-1)
		if fs != nil {
			off = rec.Offset
		}
		if err := emit(kb, &entry{dg: d, exp: rec.ExpireAt, off: off}); err != nil {
			return err
		}
		s.byDB[rec.DB]++
		s.byType[rec.Type]++
		s.prefix.count(rec.Key, 1)
	}
	s.prefix.finish()
	return nil
}

func (s *side) add(k []byte, e *entry) error {
	if s.parts != nil {
		return s.parts.write(k, e)
	}
	err := s.tab.add(k, e)
	if err == nil && s.tab.cost() <= s.budget {
		return nil
	}
	if err != nil && err != errTableFull {
		return err
	}
	if err := s.spill(); err != nil {
		return err
	}
	if err == errTableFull {
		return s.parts.write(k, e)
	}
	return nil
}

func (s *side) spill() error {
	p, err := newPartSet(s.dir, 0)
	if err != nil {
		return err
	}
	s.parts = p
	for i := 0; i < s.tab.n; i++ {
		e := s.tab.entry(i)
		if err := p.write(s.tab.key(i), &e); err != nil {
			return err
		}
	}
	s.tab = table{}
	// Collect the table now: the heap's next collection is paced by the
	// live heap at the last one, which the table was most of, so its
	// memory would otherwise count twice before it is reused. The tables
	// hold no pointers, so this collection costs little.
	runtime.GC()
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
	na, nb := pa.count(i), pb.count(i)
	// In memory an entry takes kvSize and its index share instead of its
	// fixed part on file (less a byte of key length); the last chunks may
	// be nearly empty.
	szA, szB := pa.size(i), pb.size(i)
	need := szA + szB + (na+nb)*(kvSize+indexCost-partFixed-1) +
		min(szA, arenaChunk) + min(szB, arenaChunk) + (min(na, kvChunk)+min(nb, kvChunk))*kvSize
	if need > c.tableBudget && pa.level < len(partSeeds)-1 && na+nb > 2 {
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
	ta, tb := &c.ta, &c.tb
	ta.reset()
	tb.reset()
	if err := readPart(pa.files[i], ta.add); err != nil {
		return err
	}
	if err := readPart(pb.files[i], tb.add); err != nil {
		return err
	}
	nA, nB, err := c.join(ta, tb)
	c.a.keys += nA
	c.b.keys += nB
	return err
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
		r.typA, r.expA, r.offA = a.dg.typ, a.exp, a.off+1
	}
	if b != nil {
		r.typB, r.expB, r.offB = b.dg.typ, b.exp, b.off+1
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

// sortDiffs orders the differences by db and key when they fit in the
// budget; otherwise they stay in discovery order. n and keyBytes are the
// number of differences and the sum of their keys' lengths.
func (res *Result) sortDiffs(budget, n, keyBytes int64) error {
	if n*int64(unsafe.Sizeof(diffRec{}))+keyBytes > budget {
		res.unsorted = true
		return nil
	}
	all := make([]diffRec, 0, n)
	arena := make([]byte, 0, keyBytes)
	err := readDiffs(res.diffs, func(r *diffRec) error {
		if len(all) == cap(all) || len(arena)+len(r.key) > cap(arena) {
			return errors.New("the differences file changed")
		}
		arena = append(arena, r.key...)
		x := *r
		x.key = arena[len(arena)-len(r.key) : len(arena) : len(arena)]
		all = append(all, x)
		return nil
	})
	if err != nil {
		return err
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
