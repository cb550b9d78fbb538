package analyze

import (
	"context"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// Options configure an Analyzer.
type Options struct {
	Top        int    // keys per big-key and hot-key list (default 10)
	Separators string // prefix separators (default ":")
	Depth      int    // prefix levels (default 2; 0 disables prefixes when NoPrefixes)
	NoPrefixes bool   // no prefix table
	// PrefixLimit bounds the prefix table (default 10000 rows).
	PrefixLimit int
	Allocator   Allocator // whose size rounding the memory estimate applies (default Jemalloc)
	// ServerVersion overrides the version read from the file's aux fields.
	ServerVersion *ServerVersion
	// Now overrides the snapshot time TTLs are measured from (default:
	// the file's ctime aux field).
	Now time.Time
	// Deep measures the largest element of every key's compact encoding
	// (decompressing and walking them; slower), for ScanKeys and
	// ScanFile. Analyze finds it for the keys its report lists either
	// way: without Deep it walks only the blobs of keys that could still
	// enter a top list.
	Deep bool
	// Parallel bounds how many files are read at once (default GOMAXPROCS).
	Parallel int
	// Jobs is how many goroutines estimate each file's keys beside the
	// one that frames its records (default GOMAXPROCS); 1 reads each file
	// on one goroutine. The results are the same either way.
	Jobs int

	// The target server's configuration, for the load prediction and the
	// estimate: ListCompressDepth is its list-compress-depth (quicklist
	// nodes that far from both ends are kept LZF-compressed), Maxmemory
	// and MaxmemoryPolicy its maxmemory settings (an LRU or LFU policy
	// with a limit turns off shared integers).
	ListCompressDepth int
	Maxmemory         uint64
	MaxmemoryPolicy   string

	// Filter, when set, keeps only the key records it returns true for
	// (rewrite.KeyFilter.Keep is one); the rest are not measured and are
	// in no total, list or prediction.
	Filter func(*rdb.Record) bool
	// MinBytes leaves out keys estimated at fewer bytes.
	MinBytes uint64
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
	types  []*typeEntry
	big    []*bigEntry
	hot    *keyHeap
	ttl    TTLHist
	prefix *prefixAgg
	mods   map[string]*ModuleStat
	funcs  []string
	// gate decides which compact blobs the scan iterates for their
	// largest element (nil when every one is, with Options.Deep).
	gate *deepGate

	// one-entry caches in front of dbs, types and big
	lastDB   int
	lastDBS  *Stats
	lastType *typeEntry
	lastBig  *bigEntry
}

// typeEntry is one type and encoding's totals. The type and encoding
// strings come from small fixed sets, so a linear search finds them.
type typeEntry struct {
	typ, enc string
	s        Stats
}

// bigEntry holds one type's top keys by memory and by elements.
type bigEntry struct {
	typ string
	h   [2]*keyHeap
}

func newPartial(o Options, name string) *partial {
	var gate *deepGate
	if !o.Deep {
		gate = newDeepGate()
	}
	return &partial{
		gate:   gate,
		opts:   o,
		file:   FileReport{Name: name},
		dbs:    map[int]*Stats{},
		hot:    &keyHeap{n: o.Top, score: byFreq},
		prefix: newPrefixAgg(o.Separators, o.Depth, o.PrefixLimit),
		mods:   map[string]*ModuleStat{},
		lastDB: -1,
	}
}

func (p *partial) db(db int) *Stats {
	if db == p.lastDB {
		return p.lastDBS
	}
	d := p.dbs[db]
	if d == nil {
		d = &Stats{}
		p.dbs[db] = d
	}
	p.lastDB, p.lastDBS = db, d
	return d
}

func (p *partial) typeStats(typ, enc string) *Stats {
	if t := p.lastType; t != nil && t.typ == typ && t.enc == enc {
		return &t.s
	}
	for _, t := range p.types {
		if t.typ == typ && t.enc == enc {
			p.lastType = t
			return &t.s
		}
	}
	t := &typeEntry{typ: typ, enc: enc}
	p.types = append(p.types, t)
	p.lastType = t
	return &t.s
}

func (p *partial) bigKeys(typ string) *[2]*keyHeap {
	if b := p.lastBig; b != nil && b.typ == typ {
		return &b.h
	}
	for _, b := range p.big {
		if b.typ == typ {
			p.lastBig = b
			return &b.h
		}
	}
	b := &bigEntry{typ: typ, h: [2]*keyHeap{{n: p.opts.Top, score: byMemory}, {n: p.opts.Top, score: byElements}}}
	p.big = append(p.big, b)
	p.lastBig = b
	return &b.h
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

// keyBatch carries keys from the parsing goroutine to the aggregating
// one. Key bytes are copied into arena; ends[i] is where key i ends.
type keyBatch struct {
	keys  []Key
	ends  []int
	arena []byte
}

// Each hand-over between the goroutines can cost tens of microseconds of
// scheduling latency on a busy machine, so batches are large and several
// are in flight: at 512 keys a batch the parser of a 5-million-key file
// spent about 0.3 s waiting to be scheduled again.
const (
	batchKeys  = 2048
	batchBytes = 256 << 10
	batchCount = 8
)

func (a *Analyzer) run(ctx context.Context, name string, r *rdb.Reader) (*partial, error) {
	o := a.opts
	if scanWorkers(o.Jobs) > 0 {
		return a.runParallel(ctx, name, r)
	}
	p := newPartial(o, name)
	if p.gate != nil && r.CanReopen() {
		p.gate.listsLater = true
	}
	var meta FileMeta
	var nowMs int64
	started := false

	// Parse here; aggregate on another goroutine. Batches circulate
	// between the two through full and free.
	full := make(chan *keyBatch, batchCount)
	free := make(chan *keyBatch, batchCount)
	for i := 0; i < batchCount; i++ {
		free <- &keyBatch{keys: make([]Key, 0, batchKeys), ends: make([]int, 0, batchKeys), arena: make([]byte, 0, batchBytes)}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range full {
			start := 0
			for i := range b.keys {
				k := &b.keys[i]
				k.Key = b.arena[start:b.ends[i]:b.ends[i]]
				start = b.ends[i]
				p.addKey(k, nowMs)
			}
			b.keys, b.ends, b.arena = b.keys[:0], b.ends[:0], b.arena[:0]
			free <- b
		}
	}()
	cur := <-free
	// Keys are built in place in the batch (slot); the callback copies
	// the name, which lives in the reader's buffer, beside them.
	slot := func() *Key {
		cur.keys = cur.keys[:len(cur.keys)+1]
		return &cur.keys[len(cur.keys)-1]
	}
	unslot := func() { cur.keys = cur.keys[:len(cur.keys)-1] }
	lp := newLoadPredictor(o)
	err := scanFile(ctx, r, scanOptions{allocator: o.Allocator, version: o.ServerVersion, deep: o.Deep, gate: p.gate, slot: slot, unslot: unslot, filter: o.Filter, minBytes: o.MinBytes,
		listCompressDepth: o.ListCompressDepth, load: lp, jobs: o.Jobs}, &meta, func(k *Key) error {
		if !started {
			started = true
			nowMs = snapshotTime(o.Now, &meta).UnixMilli()
		}
		cur.arena = append(cur.arena, k.Key...)
		cur.ends = append(cur.ends, len(cur.arena))
		if len(cur.keys) == batchKeys || len(cur.arena) >= batchBytes {
			full <- cur
			cur = <-free
		}
		return nil
	})
	// A key whose value failed to decode has its slot but no name:
	// leave it out.
	cur.keys = cur.keys[:len(cur.ends)]
	if len(cur.keys) > 0 {
		full <- cur
	}
	close(full)
	<-done
	if err == nil {
		err = p.fillLargest(r, scanWorkers(o.Jobs))
	}
	if err != nil {
		return nil, err
	}
	p.finish(o, &meta, lp)
	return p, nil
}

// runParallel is run on the parallel scan, which already hands keys over
// between goroutines: they are aggregated as the scan gives them, in file
// order.
func (a *Analyzer) runParallel(ctx context.Context, name string, r *rdb.Reader) (*partial, error) {
	o := a.opts
	p := newPartial(o, name)
	if p.gate != nil && r.CanReopen() {
		p.gate.listsLater = true
	}
	var meta FileMeta
	var nowMs int64
	started := false
	lp := newLoadPredictor(o)
	err := scanFile(ctx, r, scanOptions{allocator: o.Allocator, version: o.ServerVersion, deep: o.Deep, gate: p.gate, filter: o.Filter, minBytes: o.MinBytes,
		listCompressDepth: o.ListCompressDepth, load: lp, jobs: o.Jobs}, &meta, func(k *Key) error {
		if !started {
			started = true
			nowMs = snapshotTime(o.Now, &meta).UnixMilli()
		}
		p.addKey(k, nowMs)
		return nil
	})
	if err == nil {
		err = p.fillLargest(r, scanWorkers(o.Jobs))
	}
	if err != nil {
		return nil, err
	}
	p.finish(o, &meta, lp)
	return p, nil
}

// finish records what the scan learnt about the file besides its keys.
func (p *partial) finish(o Options, meta *FileMeta, lp *loadPredictor) {
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
	f.SnapshotTime = snapshotTime(o.Now, meta).Unix()
	f.Load = lp.result(meta)
	if v, err := strconv.ParseUint(meta.Aux["used-mem"], 10, 64); err == nil {
		f.UsedMemAux = v
	}
	p.funcs = meta.Functions
	for mod, n := range meta.ModuleAux {
		p.module(mod).AuxRecords += uint64(n)
	}
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
	p.db(k.DB).add(&s)
	p.typeStats(k.Type, k.Encoding).add(&s)
	p.ttl.Keys[b]++
	p.ttl.Memory[b] += k.Bytes
	p.prefix.add(k.Key, k.Bytes, b)
	if k.Module != "" {
		m := p.module(k.Module)
		m.Keys++
		m.Memory += k.Bytes
	}
	hs := p.bigKeys(k.Type)
	wantMem, wantEl := hs[0].wants(k.Bytes), hs[1].wants(k.Elements)
	wantHot := k.Freq >= 0 && p.hot.wants(uint64(k.Freq))
	if wantMem || wantEl || wantHot {
		ref := KeyRef{
			File: p.file.Name, DB: k.DB, Key: append([]byte(nil), k.Key...), Type: k.Type, Encoding: k.Encoding,
			Memory: k.Bytes, Elements: k.Elements, LargestElement: -1, ExpireAt: k.ExpireAt, Freq: k.Freq,
			offset: k.offset,
		}
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
		if p.gate != nil {
			p.gate.raise(k.Type, hs[0], hs[1], p.hot)
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
		rep.Load.add(&p.file.Load)
		for db, s := range p.dbs {
			all.db(db).add(s)
		}
		for _, t := range p.types {
			all.typeStats(t.typ, t.enc).add(&t.s)
		}
		for _, b := range p.big {
			ah := all.bigKeys(b.typ)
			for i := range b.h {
				for _, k := range b.h[i].items {
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
	for _, t := range all.types {
		rep.Types = append(rep.Types, TypeStats{Type: t.typ, Encoding: t.enc, Stats: t.s})
	}
	sort.Slice(rep.Types, func(i, j int) bool {
		if rep.Types[i].Memory != rep.Types[j].Memory {
			return rep.Types[i].Memory > rep.Types[j].Memory
		}
		return rep.Types[i].Type+"/"+rep.Types[i].Encoding < rep.Types[j].Type+"/"+rep.Types[j].Encoding
	})
	rep.BigKeys = []BigKeys{}
	for _, b := range all.big {
		rep.BigKeys = append(rep.BigKeys, BigKeys{Type: b.typ, ByMemory: b.h[0].sorted(), ByElements: b.h[1].sorted()})
	}
	sort.Slice(rep.BigKeys, func(i, j int) bool { return rep.BigKeys[i].Type < rep.BigKeys[j].Type })
	rep.BiggestKeys = biggest(rep.BigKeys, o.Top)
	rep.HotKeys = all.hot.sorted()
	rep.TTL = all.ttl
	rep.TTL.labelled()
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

// biggest returns the top keys by memory across types: each type's list
// holds its top n, so together they hold the overall top n.
func biggest(per []BigKeys, n int) []KeyRef {
	h := &keyHeap{n: n, score: byMemory}
	for _, b := range per {
		for _, k := range b.ByMemory {
			h.offer(k)
		}
	}
	if len(h.items) == 0 {
		return []KeyRef{}
	}
	return h.sorted()
}
