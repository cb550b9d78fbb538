package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/internal/keyglob"
	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/source"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// writeFlags choose the output format and what may be left out.
type writeFlags struct {
	targetVersion    int
	target           string
	noCompression    bool
	dropFieldTTLs    bool
	downgradeStreams bool
	dropKeyMeta      bool
	dropFunctions    bool
	skipModules      bool
}

func (f *writeFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntVar(&f.targetVersion, "target-version", 0, "RDB version to write (6-13, or 80 for Valkey 9); default: the input's")
	fl.StringVar(&f.target, "target", "", "server to write for: redis-2.8 ... redis-8.6, valkey-7.2, valkey-8.0, valkey-9.0")
	fl.BoolVar(&f.noCompression, "no-compression", false, "do not LZF-compress strings (rdbcompression no)")
	fl.BoolVar(&f.dropFieldTTLs, "drop-field-ttls", false, "targets before RDB 12: keep hash fields without their TTLs (fields already expired are dropped)")
	fl.BoolVar(&f.downgradeStreams, "downgrade-streams", false, "leave out stream metadata an older stream layout lacks")
	fl.BoolVar(&f.dropKeyMeta, "drop-key-meta", false, "leave out module key metadata on targets before RDB 13")
	fl.BoolVar(&f.dropFunctions, "drop-functions", false, "leave out function libraries on targets before RDB 10")
	fl.BoolVar(&f.skipModules, "skip-modules", false, "leave out module keys and module aux data (for servers without the module)")
}

func (f *writeFlags) options(in *rdb.Reader) (rdb.WriterOptions, error) {
	var o rdb.WriterOptions
	var err error
	switch {
	case f.target != "" && f.targetVersion != 0:
		return o, fmt.Errorf("give --target or --target-version, not both")
	case f.target != "":
		o.Target, err = rdb.ParseTarget(f.target)
	case f.targetVersion != 0:
		o.Target, err = rdb.TargetVersion(f.targetVersion)
	default:
		o.Target, err = rdb.TargetOf(in)
	}
	if err != nil {
		return o, err
	}
	o.NoCompression = f.noCompression
	if f.dropFieldTTLs {
		o.Policy |= rdb.DropFieldTTLs
	}
	if f.downgradeStreams {
		o.Policy |= rdb.DowngradeStreams
	}
	if f.dropKeyMeta {
		o.Policy |= rdb.DropKeyMeta
	}
	if f.dropFunctions {
		o.Policy |= rdb.DropFunctions
	}
	return o, nil
}

// keyFilter selects keys.
type keyFilter struct {
	dbs         []int
	match       string
	regex       string
	types       []string
	mapDB       []string
	dropExpired bool
	slots       string

	re       *regexp.Regexp
	dbSet    map[int]bool
	typeSet  map[rdb.Type]bool
	dbMap    map[int]int
	merges   map[int]bool // target dbs that --map-db fills from more than one source db
	slotLo   int
	slotHi   int
	hasSlots bool
	now      int64
}

func (f *keyFilter) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.IntSliceVar(&f.dbs, "db", nil, "keep only these databases (repeatable)")
	fl.StringVar(&f.match, "match", "", "keep keys matching this glob (Redis KEYS syntax)")
	fl.StringVar(&f.regex, "regex", "", "keep keys matching this regular expression")
	fl.StringSliceVar(&f.types, "type", nil, "keep only these types: string, list, set, zset, hash, stream, module (repeatable)")
	fl.StringSliceVar(&f.mapDB, "map-db", nil, "write database FROM as TO (FROM:TO, repeatable)")
	fl.BoolVar(&f.dropExpired, "drop-expired", false, "leave out keys whose expiry has passed")
	fl.StringVar(&f.slots, "slots", "", "keep keys whose cluster slot is in A-B (or a single slot)")
}

func (f *keyFilter) compile() error {
	f.now = time.Now().UnixMilli()
	if f.regex != "" {
		re, err := regexp.Compile(f.regex)
		if err != nil {
			return fmt.Errorf("--regex: %v", err)
		}
		f.re = re
	}
	if len(f.dbs) > 0 {
		f.dbSet = map[int]bool{}
		for _, d := range f.dbs {
			f.dbSet[d] = true
		}
	}
	if len(f.types) > 0 {
		f.typeSet = map[rdb.Type]bool{}
		for _, name := range f.types {
			t, ok := map[string]rdb.Type{"string": rdb.TypeString, "list": rdb.TypeList, "set": rdb.TypeSet, "zset": rdb.TypeZSet, "hash": rdb.TypeHash, "stream": rdb.TypeStream, "module": rdb.TypeModule}[strings.ToLower(name)]
			if !ok {
				return fmt.Errorf("--type %q: use string, list, set, zset, hash, stream or module", name)
			}
			f.typeSet[t] = true
		}
	}
	f.dbMap = map[int]int{}
	for _, m := range f.mapDB {
		a, b, ok := strings.Cut(m, ":")
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < 0 {
			return fmt.Errorf("--map-db %q: expected FROM:TO", m)
		}
		f.dbMap[from] = to
	}
	// A target db receives its mapped sources and, unless it is itself
	// mapped away, its own keys.
	feeds := map[int]int{}
	for _, to := range f.dbMap {
		feeds[to]++
	}
	for to, n := range feeds {
		if _, moved := f.dbMap[to]; !moved {
			n++
		}
		if n > 1 {
			if f.merges == nil {
				f.merges = map[int]bool{}
			}
			f.merges[to] = true
		}
	}
	if f.slots != "" {
		lo, hi, err := parseSlotRange(f.slots)
		if err != nil {
			return err
		}
		f.slotLo, f.slotHi, f.hasSlots = lo, hi, true
	}
	return nil
}

func parseSlotRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 0 || hi > 16383 || lo > hi {
		return 0, 0, fmt.Errorf("--slots %q: expected A-B within 0-16383", s)
	}
	return lo, hi, nil
}

// filtering reports whether any key may be left out.
func (f *keyFilter) filtering() bool {
	return f.dbSet != nil || f.match != "" || f.re != nil || f.typeSet != nil || f.dropExpired || f.hasSlots
}

func (f *keyFilter) keep(rec *rdb.Record) bool {
	if f.dbSet != nil && !f.dbSet[rec.DB] {
		return false
	}
	if f.typeSet != nil && !f.typeSet[rec.Type] {
		return false
	}
	if f.dropExpired && rec.ExpireAt != 0 && rec.ExpireAt <= f.now {
		return false
	}
	if f.match != "" && !keyglob.Match([]byte(f.match), rec.Key) {
		return false
	}
	if f.re != nil && !f.re.Match(rec.Key) {
		return false
	}
	if f.hasSlots {
		s := rdb.KeySlot(rec.Key)
		if s < f.slotLo || s > f.slotHi {
			return false
		}
	}
	return true
}

func (f *keyFilter) db(src int) int {
	if d, ok := f.dbMap[src]; ok {
		return d
	}
	return src
}

// converter copies records from a reader to a writer.
type converter struct {
	w           *rdb.Writer
	f           *keyFilter
	skipModules bool
	curDB       int
	pendingSize *rdb.Record
	keys        int64
	skipped     int64
	// repeats are the key records --on-duplicate leaves out (nil: none;
	// the writer then refuses a key written twice in one database).
	repeats  *rewrite.Repeats
	onDup    rewrite.OnDuplicate
	repeated int64 // records left out by --on-duplicate
}

// auxCopied are aux fields passed through; the rest (redis-ver,
// redis-bits, ctime, aof-base: rewritten for the new file; repl-*,
// lua scripts, slot-info: about the source server's state) are not.
var auxCopied = map[string]bool{}

func newConverter(w *rdb.Writer, f *keyFilter, skipModules bool) *converter {
	return &converter{w: w, f: f, skipModules: skipModules, curDB: -1}
}

func (c *converter) start() error {
	return c.w.WriteDefaultAux("", time.Now().Unix(), 0)
}

// keeps reports whether a key is converted. It only reads settings, so
// convertParallel's workers call it too.
func (c *converter) keeps(rec *rdb.Record) bool {
	return c.f.keep(rec) && !(c.skipModules && rec.Type == rdb.TypeModule)
}

// beforeKey decides, in file order, whether a kept key is written (not a
// repeat --on-duplicate leaves out) and writes what precedes it (a
// database selection, the resize hint); only rec.DB and rec.Offset are
// used.
func (c *converter) beforeKey(rec *rdb.Record) (bool, error) {
	w := c.w
	if c.repeats.Skip(rec.Offset) {
		c.repeated++
		return false, nil
	}
	if db := c.f.db(rec.DB); db != c.curDB {
		if err := w.SelectDB(db); err != nil {
			return false, err
		}
		c.curDB = db
		if c.pendingSize != nil && c.pendingSize.DB == rec.DB && !c.f.filtering() && len(c.f.dbMap) == 0 {
			if err := w.ResizeDB(c.pendingSize.DBSize, c.pendingSize.ExpiresSize); err != nil {
				return false, err
			}
		}
	}
	c.keys++
	return true, nil
}

// keyError names the flag for a key the target file cannot hold twice.
func (c *converter) keyError(rec *rdb.Record, err error) error {
	if errors.Is(err, rdb.ErrDuplicateKey) {
		db := c.f.db(rec.DB)
		if c.f.merges[db] {
			return fmt.Errorf("--map-db: a key named %q is already in target db %d (it comes again from db %d): a server refuses a file with a key twice in one database; --on-duplicate keep-first or keep-last keeps one", rec.Key, db, rec.DB)
		}
		return fmt.Errorf("the input holds key %q twice in database %d: a server refuses such a file; --on-duplicate keep-first or keep-last keeps one", rec.Key, rec.DB)
	}
	return err
}

func (c *converter) record(r *rdb.Reader, rec *rdb.Record) error {
	w := c.w
	switch rec.Kind {
	case rdb.KindKey:
		if !c.keeps(rec) {
			c.skipped++
			return nil
		}
		if ok, err := c.beforeKey(rec); !ok || err != nil {
			return err
		}
		return c.keyError(rec, w.CopyKey(r, rec))
	case rdb.KindResizeDB:
		cp := *rec
		c.pendingSize = &cp
	case rdb.KindAux:
		if auxCopied[string(rec.AuxKey)] {
			return w.WriteAux(rec.AuxKey, rec.AuxValue)
		}
	case rdb.KindFunction:
		return w.WriteFunction(rec.Function)
	case rdb.KindModuleAux:
		if !c.skipModules {
			return w.WriteModuleAux(rec.Raw)
		}
	}
	return nil
}

func (c *converter) report(out io.Writer, name string) {
	st := c.w.Stats()
	fmt.Fprintf(out, "%s: %d keys written (%v), %d left out by filters", name, st.Keys, c.w.Target(), c.skipped)
	for _, x := range []struct {
		n    int64
		what string
	}{
		{st.DroppedFieldTTLs, "hash field TTLs dropped"},
		{st.DroppedExpiredFields, "expired hash fields dropped"},
		{st.DroppedExpiredKeys, "hashes left out: every field had expired"},
		{st.DowngradedStreams, "streams downgraded"},
		{st.DroppedKeyMeta, "keys lost their module key metadata"},
		{st.DroppedFunctions, "function libraries dropped"},
		{st.DroppedLRU, "keys lost LRU/LFU data the target cannot store"},
		{st.EmptyKeys, "empty collections left out (a server skips them)"},
		{c.repeated, "repeated key records left out (--on-duplicate " + map[rewrite.OnDuplicate]string{rewrite.KeepFirst: "keep-first", rewrite.KeepLast: "keep-last"}[c.onDup] + ")"},
	} {
		if x.n > 0 {
			fmt.Fprintf(out, ", %d %s", x.n, x.what)
		}
	}
	fmt.Fprintln(out)
}

// outputFile writes to a temporary file renamed into place on success, to
// stdout for "-", or to an S3 multipart upload for s3:// (completed on
// success, aborted otherwise, so no partial object is left). rdb.Writer
// hands over 256 KiB blocks; the small buffer here lets them through
// without a copy.
type outputFile struct {
	name string
	f    *os.File
	s3   *s3src.Writer
	bw   *bufio.Writer
}

func createOutput(cmd *cobra.Command, name string) (*outputFile, error) {
	o := &outputFile{name: name}
	if name == "-" {
		o.bw = bufio.NewWriterSize(cmd.OutOrStdout(), 64<<10)
		return o, nil
	}
	if s3src.IsURL(name) {
		w, err := s3src.Create(cmd.Context(), name)
		if err != nil {
			return nil, err
		}
		o.s3 = w
		o.bw = bufio.NewWriterSize(w, 64<<10)
		return o, nil
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return nil, err
	}
	o.f = f
	o.bw = bufio.NewWriterSize(f, 64<<10)
	return o, nil
}

func (o *outputFile) Write(p []byte) (int, error) { return o.bw.Write(p) }

func (o *outputFile) commit() error {
	if err := o.bw.Flush(); err != nil {
		o.abort()
		return err
	}
	if o.s3 != nil {
		return o.s3.Close()
	}
	if o.f == nil {
		return nil
	}
	if err := o.f.Chmod(0o644); err != nil {
		o.abort()
		return err
	}
	if err := o.f.Close(); err != nil {
		os.Remove(o.f.Name())
		return err
	}
	return os.Rename(o.f.Name(), o.name)
}

func (o *outputFile) abort() {
	if o.s3 != nil {
		o.s3.CloseWithError(errors.New("convert failed"))
	}
	if o.f != nil {
		o.f.Close()
		os.Remove(o.f.Name())
	}
}

func newConvertCommand() *cobra.Command {
	var rf readerFlags
	var wf writeFlags
	var kf keyFilter
	var quiet, dryRun bool
	var onDup string
	var jobs int
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Write an RDB file for another server version, optionally keeping only some keys",
		Long: `convert reads IN and writes OUT ("-" for stdout) for the chosen target,
re-encoding every value the way the target server would store it. Content the
target cannot hold is an error unless a --drop-*/--downgrade-* flag allows
leaving it out; what was left out is reported on stderr.

Aux fields are rewritten for the new file (redis-ver of the target, ctime now);
replication ids/offsets, Lua script and slot-info aux fields of the source are
not copied.

A server refuses a file holding a key twice in one database, which some
inputs do (tools that append records, damaged files, databases merged with
--map-db): convert fails on one unless --on-duplicate keep-first or
keep-last says which occurrence to keep (the input, then read twice, must
be a file). Empty collections, which a server skips when loading, are left
out and counted.

Everything the target cannot hold is listed at once, with counts and the
flag that leaves each out, and no output is left behind; --dry-run checks
without writing.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := kf.compile(); err != nil {
				return &exitError{2, err}
			}
			dup, err := rewrite.ParseOnDuplicate(onDup)
			if err != nil {
				return &exitError{2, err}
			}
			if jobs < 0 {
				return &exitError{2, fmt.Errorf("--jobs must be 0 (number of CPUs) or more, not %d", jobs)}
			}
			if err := convertFile(cmd, &rf, &wf, &kf, args[0], args[1], quiet, convertMode{onDup: dup, dryRun: dryRun, jobs: jobs}); err != nil {
				return &exitError{1, err}
			}
			return nil
		},
	}
	rf.register(cmd)
	wf.register(cmd)
	kf.register(cmd)
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print the summary")
	cmd.Flags().StringVar(&onDup, "on-duplicate", "fail", "a key the input holds twice in one database: fail, keep-first or keep-last")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "list what the target cannot hold and the repeated keys; write nothing")
	cmd.Flags().IntVar(&jobs, "jobs", 0, "goroutines re-encoding keys beside the one reading IN (default: number of CPUs; 1 converts on one goroutine); OUT is the same")
	return cmd
}

// openForRewrite opens in, reads its first record (the writer's target
// defaults to the input's version, known only then) and returns the
// writer options for it. The caller closes src.
func openForRewrite(cmd *cobra.Command, rf *readerFlags, wf *writeFlags, in string) (src *source.Source, r *rdb.Reader, rec *rdb.Record, opts rdb.WriterOptions, err error) {
	src, r, err = rf.open(cmd.Context(), in)
	if err != nil {
		return nil, nil, nil, opts, err
	}
	if rec, err = r.Next(); err != nil {
		src.Close()
		if err == io.EOF {
			err = fmt.Errorf("%s: no records", in)
		}
		return nil, nil, nil, opts, err
	}
	if opts, err = wf.options(r); err != nil {
		src.Close()
		return nil, nil, nil, opts, err
	}
	return src, r, rec, opts, nil
}

// convertMode is what convert does besides converting.
type convertMode struct {
	onDup  rewrite.OnDuplicate
	dryRun bool
	jobs   int // --jobs
}

// findRepeats runs the pass of --on-duplicate keep-first/keep-last (and
// of --dry-run) over a file input; nil when there is none to run.
func findRepeats(cmd *cobra.Command, rf *readerFlags, in string, place rewrite.Placement, mode convertMode) (*rewrite.Repeats, error) {
	keep := mode.onDup
	if keep == rewrite.DuplicateFail {
		if !mode.dryRun || in == "-" {
			return nil, nil
		}
		keep = rewrite.KeepFirst // only counted
	}
	if in == "-" {
		return nil, errors.New("--on-duplicate keep-first/keep-last reads the input twice: give a file, not stdin")
	}
	ctx := cmd.Context()
	return rewrite.FindRepeats(ctx, func() (*rdb.Reader, io.Closer, error) {
		src, r, err := rf.open(ctx, in)
		return r, src, err
	}, place, keep, 0, "")
}

// placement is where convert puts a key record: its mapped database,
// when the filters keep it.
func (f *keyFilter) placement(skipModules bool) rewrite.Placement {
	return func(rec *rdb.Record) (int, bool) {
		return f.db(rec.DB), f.keep(rec) && !(skipModules && rec.Type == rdb.TypeModule)
	}
}

func convertFile(cmd *cobra.Command, rf *readerFlags, wf *writeFlags, kf *keyFilter, in, outName string, quiet bool, mode convertMode) error {
	repeats, err := findRepeats(cmd, rf, in, kf.placement(wf.skipModules), mode)
	if err != nil {
		return err
	}
	src, r, rec, opts, err := openForRewrite(cmd, rf, wf, in)
	if err != nil {
		return err
	}
	defer src.Close()
	if mode.dryRun {
		return dryRunConvert(cmd, r, rec, opts, kf, wf.skipModules, repeats, mode.onDup, outName)
	}
	// --on-duplicate's pass found every repeat exactly: the writer need
	// not look for them again.
	opts.AllowDuplicateKeys = repeats != nil
	opts.KeyDigestMemory = convertDigestMemory
	out, err := createOutput(cmd, outName)
	if err != nil {
		return err
	}
	w, err := rdb.NewWriter(out, opts)
	if err != nil {
		out.abort()
		return err
	}
	c := newConverter(w, kf, wf.skipModules)
	c.repeats, c.onDup = repeats, mode.onDup
	if err := c.start(); err != nil {
		out.abort()
		return err
	}
	if mode.jobs = resolveJobs(mode.jobs); mode.jobs > 1 {
		err := convertParallel(cmd.Context(), c, r, rec, mode.jobs)
		if errors.Is(err, rdb.ErrUnsupported) {
			// The pass on one goroutine lists everything the target
			// cannot hold, reading on from the first such key.
			out.abort()
			mode.jobs = 1
			return convertFile(cmd, rf, wf, kf, in, outName, quiet, mode)
		}
		if err != nil {
			out.abort()
			return err
		}
	}
	for mode.jobs <= 1 {
		if err := cmd.Context().Err(); err != nil {
			out.abort()
			return err
		}
		if err := c.record(r, rec); err != nil {
			out.abort()
			if errors.Is(err, rdb.ErrUnsupported) {
				// List everything else the target cannot hold too, so that
				// one run tells every flag needed.
				var found rewrite.Findings
				found.Add(rewrite.Classify(rec, opts), rec.DB, keyOf(rec))
				if err := checkRest(r, opts, kf, wf.skipModules, &found); err != nil {
					return err
				}
				return found.Err()
			}
			if rec.Kind == rdb.KindKey {
				return fmt.Errorf("key %q (db %d): %w", rec.Key, rec.DB, err)
			}
			return err
		}
		rec, err = r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			out.abort()
			return err
		}
	}
	if err := w.Close(); err != nil {
		out.abort()
		if errors.Is(err, rdb.ErrDuplicateKey) {
			return fmt.Errorf("%w; --on-duplicate keep-first or keep-last keeps one", err)
		}
		return err
	}
	if err := out.commit(); err != nil {
		return err
	}
	if !quiet {
		c.report(cmd.ErrOrStderr(), outName)
	}
	return nil
}

// keyOf is the key of a key record, nil for other records.
func keyOf(rec *rdb.Record) []byte {
	if rec.Kind == rdb.KindKey {
		return rec.Key
	}
	return nil
}

// checkRest reads the rest of r, tallying what the target of opts cannot
// hold, without writing.
func checkRest(r *rdb.Reader, opts rdb.WriterOptions, kf *keyFilter, skipModules bool, found *rewrite.Findings) error {
	chk := &rewrite.Checker{Opts: opts}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := checkRecord(chk, r, rec, kf, skipModules, found); err != nil {
			return err
		}
	}
}

func checkRecord(chk *rewrite.Checker, r *rdb.Reader, rec *rdb.Record, kf *keyFilter, skipModules bool, found *rewrite.Findings) error {
	var why rewrite.Reason
	var bad bool
	var err error
	switch rec.Kind {
	case rdb.KindKey:
		if !kf.keep(rec) || skipModules && rec.Type == rdb.TypeModule {
			return nil
		}
		why, bad, err = chk.Key(r, rec)
	case rdb.KindModuleAux:
		if skipModules {
			return nil
		}
		why, bad, err = chk.Record(rec)
	case rdb.KindFunction:
		why, bad, err = chk.Record(rec)
	}
	if bad {
		found.Add(why, rec.DB, keyOf(rec))
	}
	return err
}

// dryRunConvert reports what convert would refuse, writing nothing.
func dryRunConvert(cmd *cobra.Command, r *rdb.Reader, rec *rdb.Record, opts rdb.WriterOptions, kf *keyFilter, skipModules bool, repeats *rewrite.Repeats, onDup rewrite.OnDuplicate, outName string) error {
	var found rewrite.Findings
	chk := &rewrite.Checker{Opts: opts}
	if err := checkRecord(chk, r, rec, kf, skipModules, &found); err != nil {
		return err
	}
	if err := checkRest(r, opts, kf, skipModules, &found); err != nil {
		return err
	}
	if repeats != nil && repeats.Keys > 0 {
		why := rewrite.Reason{What: fmt.Sprintf("keys held more than once in one database (%d records beyond the first)", repeats.Left), Flag: "--on-duplicate", Hint: "--on-duplicate keep-first or keep-last keeps one"}
		if onDup != rewrite.DuplicateFail {
			fmt.Fprintf(cmd.ErrOrStderr(), "dry run: %d keys repeated, %d records would be left out by --on-duplicate\n", repeats.Keys, repeats.Left)
		} else {
			for i := int64(0); i < repeats.Keys; i++ {
				found.Add(why, 0, nil)
			}
		}
	}
	if err := found.Err(); err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "dry run: %s would be written for %v; nothing was written\n", outName, opts.Target)
	return nil
}
