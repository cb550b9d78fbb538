package analyze

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// Options configure an Analyzer.
type Options struct {
	Top        int    // keys per big-key and hot-key list (default 10)
	Separators string // prefix separators (default ":")
	Depth      int    // prefix levels (default 2; 0 disables prefixes when NoPrefixes)
	NoPrefixes bool
	// PrefixLimit bounds the prefix table (default 10000 rows).
	PrefixLimit int
	Allocator   Allocator
	// ServerVersion overrides the version read from the file's aux fields.
	ServerVersion *ServerVersion
	// Now overrides the snapshot time TTLs are measured from (default:
	// the file's ctime aux field).
	Now time.Time
	// Deep measures the largest element of compact encodings too
	// (decompressing and walking them; slower).
	Deep bool
	// Parallel bounds how many files are read at once (default GOMAXPROCS).
	Parallel int
}

func (o Options) withDefaults() Options {
	if o.Top == 0 {
		o.Top = 10
	}
	if o.Separators == "" {
		o.Separators = ":"
	}
	if o.Depth == 0 && !o.NoPrefixes {
		o.Depth = 2
	}
	if o.NoPrefixes {
		o.Depth = 0
	}
	if o.Parallel <= 0 {
		o.Parallel = runtime.GOMAXPROCS(0)
	}
	return o
}

// Analyzer accumulates statistics over the keys of one or more files.
type Analyzer struct {
	opts Options
}

// New returns an Analyzer.
func New(opts Options) *Analyzer { return &Analyzer{opts: opts.withDefaults()} }

// Input is one file to analyse: a name for the report and a function that
// opens a reader over it (and a closer).
type Input struct {
	Name string
	Open func(ctx context.Context) (*rdb.Reader, func() error, error)
}

// partial is one file's accumulated state, merged into a Report.
type partial struct {
	opts   Options
	file   FileReport
	dbs    map[int]*Stats
	types  map[[2]string]*Stats
	big    map[string]*[2]*keyHeap
	hot    *keyHeap
	ttl    TTLHist
	prefix *prefixAgg
	mods   map[string]*ModuleStat
	funcs  []string
}

func newPartial(o Options, name string) *partial {
	return &partial{
		opts:   o,
		file:   FileReport{Name: name},
		dbs:    map[int]*Stats{},
		types:  map[[2]string]*Stats{},
		big:    map[string]*[2]*keyHeap{},
		hot:    &keyHeap{n: o.Top, score: byFreq},
		prefix: newPrefixAgg(o.Separators, o.Depth, o.PrefixLimit),
		mods:   map[string]*ModuleStat{},
	}
}

// AnalyzeReader analyses one open reader.
func (a *Analyzer) AnalyzeReader(ctx context.Context, name string, r *rdb.Reader) (*Report, error) {
	p, err := a.run(ctx, name, r)
	if err != nil {
		return nil, err
	}
	return merge(a.opts, []*partial{p}), nil
}

// Analyze reads the inputs in parallel and merges them into one report
// with a per-file breakdown.
func (a *Analyzer) Analyze(ctx context.Context, inputs []Input) (*Report, error) {
	parts := make([]*partial, len(inputs))
	errs := make([]error, len(inputs))
	sem := make(chan struct{}, a.opts.Parallel)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for i, in := range inputs {
		wg.Add(1)
		go func(i int, in Input) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, closer, err := in.Open(ctx)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			parts[i], errs[i] = a.run(ctx, in.Name, r)
			if closer != nil {
				if cerr := closer(); errs[i] == nil {
					errs[i] = cerr
				}
			}
			if errs[i] != nil {
				cancel()
			}
		}(i, in)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && err != context.Canceled {
			return nil, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return merge(a.opts, parts), nil
}

func (a *Analyzer) run(ctx context.Context, name string, r *rdb.Reader) (*partial, error) {
	o := a.opts
	p := newPartial(o, name)
	var meta FileMeta
	var nowMs int64
	started := false
	err := scanFile(ctx, r, scanOptions{allocator: o.Allocator, version: o.ServerVersion, deep: o.Deep}, &meta, func(k *Key) error {
		if !started {
			started = true
			nowMs = snapshotTime(o.Now, &meta).UnixMilli()
		}
		p.addKey(k, nowMs)
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := &p.file
	f.Dialect, f.RDBVersion, f.Server, f.Bytes = meta.Dialect, meta.RDBVersion, meta.Server.String(), meta.Bytes
	switch {
	case o.ServerVersion != nil:
		f.ServerSource = "override"
	case meta.ServerFound:
		f.ServerSource = "aux"
	default:
		f.ServerSource = "guessed"
	}
	f.SnapshotTime = snapshotTime(o.Now, &meta).Unix()
	p.funcs = meta.Functions
	for mod, n := range meta.ModuleAux {
		p.module(mod).AuxRecords += uint64(n)
	}
	return p, nil
}

func (p *partial) module(name string) *ModuleStat {
	m := p.mods[name]
	if m == nil {
		m = &ModuleStat{Name: name}
		p.mods[name] = m
	}
	return m
}

func (p *partial) addKey(k *Key, nowMs int64) {
	var s Stats
	s.Keys, s.Memory, s.Elements, s.StoredBytes = 1, k.Bytes, k.Elements, uint64(k.StoredBytes)
	b := ttlBucket(k.ExpireAt, nowMs)
	if k.ExpireAt != 0 {
		s.WithTTL = 1
	} else {
		s.WithoutTTL = 1
	}
	if b == 0 {
		s.Expired = 1
	}
	p.file.Stats.add(&s)
	d := p.dbs[k.DB]
	if d == nil {
		d = &Stats{}
		p.dbs[k.DB] = d
	}
	d.add(&s)
	te := [2]string{k.Type, k.Encoding}
	t := p.types[te]
	if t == nil {
		t = &Stats{}
		p.types[te] = t
	}
	t.add(&s)
	p.ttl.Keys[b]++
	p.ttl.Memory[b] += k.Bytes
	p.prefix.add(k.Key, k.Bytes, b)
	if k.Module != "" {
		m := p.module(k.Module)
		m.Keys++
		m.Memory += k.Bytes
	}
	hs := p.big[k.Type]
	if hs == nil {
		hs = &[2]*keyHeap{{n: p.opts.Top, score: byMemory}, {n: p.opts.Top, score: byElements}}
		p.big[k.Type] = hs
	}
	wantMem, wantEl := hs[0].wants(k.Bytes), hs[1].wants(k.Elements)
	wantHot := k.Freq >= 0 && p.hot.wants(uint64(k.Freq))
	if wantMem || wantEl || wantHot {
		ref := KeyRef{
			File: p.file.Name, DB: k.DB, Key: append([]byte(nil), k.Key...), Type: k.Type, Encoding: k.Encoding,
			Memory: k.Bytes, Elements: k.Elements, LargestElement: -1, ExpireAt: k.ExpireAt, Freq: k.Freq,
		}
		ref.KeyText = string(ref.Key)
		if k.LargestKnown {
			ref.LargestElement = int64(k.Largest)
		}
		if k.Freq < 0 {
			ref.Freq = 0
		}
		if wantMem {
			hs[0].offer(ref)
		}
		if wantEl {
			hs[1].offer(ref)
		}
		if wantHot {
			p.hot.offer(ref)
		}
	}
}

// merge combines per-file partials into a report.
func merge(o Options, parts []*partial) *Report {
	rep := &Report{SchemaVersion: SchemaVersion, Allocator: o.Allocator.String()}
	all := newPartial(o, "")
	funcs := map[string]bool{}
	for _, p := range parts {
		if p == nil {
			continue
		}
		rep.Files = append(rep.Files, p.file)
		rep.Totals.add(&p.file.Stats)
		for db, s := range p.dbs {
			d := all.dbs[db]
			if d == nil {
				d = &Stats{}
				all.dbs[db] = d
			}
			d.add(s)
		}
		for te, s := range p.types {
			t := all.types[te]
			if t == nil {
				t = &Stats{}
				all.types[te] = t
			}
			t.add(s)
		}
		for typ, hs := range p.big {
			ah := all.big[typ]
			if ah == nil {
				ah = &[2]*keyHeap{{n: o.Top, score: byMemory}, {n: o.Top, score: byElements}}
				all.big[typ] = ah
			}
			for i := range hs {
				for _, k := range hs[i].items {
					ah[i].offer(k)
				}
			}
		}
		for _, k := range p.hot.items {
			all.hot.offer(k)
		}
		all.ttl.add(&p.ttl)
		all.prefix.merge(p.prefix)
		for name, m := range p.mods {
			am := all.module(name)
			am.Keys += m.Keys
			am.Memory += m.Memory
			am.AuxRecords += m.AuxRecords
		}
		for _, f := range p.funcs {
			funcs[f] = true
		}
	}
	rep.DBs = []DBStats{}
	for db, s := range all.dbs {
		rep.DBs = append(rep.DBs, DBStats{DB: db, Stats: *s})
	}
	sort.Slice(rep.DBs, func(i, j int) bool { return rep.DBs[i].DB < rep.DBs[j].DB })
	rep.Types = []TypeStats{}
	for te, s := range all.types {
		rep.Types = append(rep.Types, TypeStats{Type: te[0], Encoding: te[1], Stats: *s})
	}
	sort.Slice(rep.Types, func(i, j int) bool {
		if rep.Types[i].Memory != rep.Types[j].Memory {
			return rep.Types[i].Memory > rep.Types[j].Memory
		}
		return rep.Types[i].Type+"/"+rep.Types[i].Encoding < rep.Types[j].Type+"/"+rep.Types[j].Encoding
	})
	rep.BigKeys = []BigKeys{}
	for typ, hs := range all.big {
		rep.BigKeys = append(rep.BigKeys, BigKeys{Type: typ, ByMemory: hs[0].sorted(), ByElements: hs[1].sorted()})
	}
	sort.Slice(rep.BigKeys, func(i, j int) bool { return rep.BigKeys[i].Type < rep.BigKeys[j].Type })
	rep.HotKeys = all.hot.sorted()
	rep.TTL = all.ttl
	rep.Prefixes = all.prefix.report(o.Separators)
	rep.Modules = []ModuleStat{}
	for _, m := range all.mods {
		rep.Modules = append(rep.Modules, *m)
	}
	sort.Slice(rep.Modules, func(i, j int) bool { return rep.Modules[i].Name < rep.Modules[j].Name })
	rep.Functions = []string{}
	for f := range funcs {
		rep.Functions = append(rep.Functions, f)
	}
	sort.Strings(rep.Functions)
	if rep.Files == nil {
		rep.Files = []FileReport{}
	}
	return rep
}
