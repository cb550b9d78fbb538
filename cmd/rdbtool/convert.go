package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/rdbtool/rdbtool/s3src"
	"github.com/rdbtool/rdbtool/source"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// writeFlags choose the output format and what may be left out.
type writeFlags struct {
	targetVersion int
	target        string
	noCompression bool
	policyFlags
	skipModules bool
}

// policyFlags are the --drop-* and --downgrade-streams flags of convert,
// split and restore: what may be left out that the target cannot hold.
type policyFlags struct {
	dropFieldTTLs    bool
	downgradeStreams bool
	dropKeyMeta      bool
	dropFunctions    bool
}

// policy is the rdb.Policy the flags allow.
func (f *policyFlags) policy() rdb.Policy {
	var p rdb.Policy
	if f.dropFieldTTLs {
		p |= rdb.DropFieldTTLs
	}
	if f.downgradeStreams {
		p |= rdb.DowngradeStreams
	}
	if f.dropKeyMeta {
		p |= rdb.DropKeyMeta
	}
	if f.dropFunctions {
		p |= rdb.DropFunctions
	}
	return p
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
	o.Policy |= f.policy()
	return o, nil
}

// printReport prints what a conversion wrote and left out.
func printReport(out io.Writer, name string, c *rewrite.Converter, onDup rewrite.OnDuplicate) {
	st, cs := c.Writer().Stats(), c.Stats()
	fmt.Fprintf(out, "%s: %d keys written (%v), %d left out by filters", name, st.Keys, c.Writer().Target(), cs.Filtered)
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
		{cs.Repeated, "repeated key records left out (--on-duplicate " + map[rewrite.OnDuplicate]string{rewrite.KeepFirst: "keep-first", rewrite.KeepLast: "keep-last"}[onDup] + ")"},
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
	f    *atomicFile
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
	f, err := createAtomic(name, true)
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
	return o.f.commit()
}

func (o *outputFile) abort() {
	if o.s3 != nil {
		o.s3.CloseWithError(errors.New("convert failed"))
	}
	if o.f != nil {
		o.f.abort()
	}
}

func newConvertCommand() *cobra.Command {
	var rf readerFlags
	var wf writeFlags
	var kf rewriteFlags
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
			filter, dbMap, err := kf.compile()
			if err != nil {
				return err
			}
			dup, err := rewrite.ParseOnDuplicate(onDup)
			if err != nil {
				return &exitError{2, err}
			}
			if jobs < 0 {
				return &exitError{2, fmt.Errorf("--jobs must be 0 (number of CPUs) or more, not %d", jobs)}
			}
			if err := findBigKeys(cmd.Context(), &rf, filter, args[:1]); err != nil {
				return err
			}
			co := rewrite.ConvertOptions{Filter: filter, MapDB: dbMap, SkipModules: wf.skipModules, OnDuplicate: dup, Jobs: jobs}
			if err := convertFile(cmd, &rf, &wf, co, args[0], args[1], quiet, dryRun); err != nil {
				return &exitError{1, err}
			}
			return nil
		},
	}
	rf.register(cmd)
	wf.register(cmd)
	kf.register(cmd, true)
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

// findRepeats runs the pass of --on-duplicate keep-first/keep-last (and
// of --dry-run) over a file input; nil when there is none to run.
func findRepeats(cmd *cobra.Command, rf *readerFlags, in string, place rewrite.Placement, keep rewrite.OnDuplicate, dryRun bool) (*rewrite.Repeats, error) {
	if keep == rewrite.DuplicateFail {
		if !dryRun || in == "-" {
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

func convertFile(cmd *cobra.Command, rf *readerFlags, wf *writeFlags, co rewrite.ConvertOptions, in, outName string, quiet, dryRun bool) error {
	repeats, err := findRepeats(cmd, rf, in, rewrite.ConvertPlacement(co), co.OnDuplicate, dryRun)
	if err != nil {
		return err
	}
	src, r, rec, opts, err := openForRewrite(cmd, rf, wf, in)
	if err != nil {
		return err
	}
	defer src.Close()
	if dryRun {
		return dryRunConvert(cmd, r, rec, opts, co, repeats, outName)
	}
	co.Repeats = repeats
	out, err := createOutput(cmd, outName)
	if err != nil {
		return err
	}
	c, err := rewrite.NewConverter(out, opts, co)
	if err != nil {
		out.abort()
		return err
	}
	if err := c.Start(); err != nil {
		out.abort()
		return err
	}
	err = c.Convert(cmd.Context(), r, rec)
	if err != nil && resolveJobs(co.Jobs) > 1 && errors.Is(err, rdb.ErrUnsupported) {
		// The pass on one goroutine lists everything the target cannot
		// hold, reading on from the first such key.
		out.abort()
		co.Jobs = 1
		return convertFile(cmd, rf, wf, co, in, outName, quiet, dryRun)
	}
	if err == nil {
		err = nameRepeats(cmd, rf, in, rewrite.ConvertPlacement(co), c.Close())
	}
	if err != nil {
		out.abort()
		return err
	}
	if err := out.commit(); err != nil {
		return err
	}
	if !quiet {
		printReport(cmd.ErrOrStderr(), outName, c, co.OnDuplicate)
	}
	return nil
}

// nameRepeats adds to err, when it is a repeated key found only as an
// output was completed (rewrite.UnnamedRepeatError), the keys the input
// holds more than once where place puts them, from a pass of
// --on-duplicate's over a file input. Other errors are returned as they
// are.
func nameRepeats(cmd *cobra.Command, rf *readerFlags, in string, place rewrite.Placement, err error) error {
	var unnamed *rewrite.UnnamedRepeatError
	if in == "-" || !errors.As(err, &unnamed) {
		return err
	}
	reps, ferr := findRepeats(cmd, rf, in, place, rewrite.KeepFirst, false)
	if ferr != nil || reps == nil {
		return err
	}
	if reps.Keys == 0 {
		// The pass compares names: the Writer's 64-bit digests of two
		// different keys were equal. Its digests are seeded afresh in
		// each process.
		return fmt.Errorf("%w\na second read of the input finds no key held twice in one database: two keys' 64-bit digests were equal (under one chance in a million for 5 million keys); running again draws new digests", err)
	}
	return fmt.Errorf("%w\nkeys the input holds more than once in one database: %d (%s)", err, reps.Keys, strings.Join(reps.Examples, ", "))
}

// dryRunConvert reports what convert would refuse, writing nothing.
func dryRunConvert(cmd *cobra.Command, r *rdb.Reader, rec *rdb.Record, opts rdb.WriterOptions, co rewrite.ConvertOptions, repeats *rewrite.Repeats, outName string) error {
	var found rewrite.Findings
	c, err := rewrite.NewConverter(io.Discard, opts, co)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.CheckAll(r, rec, &found); err != nil {
		return err
	}
	if repeats != nil && repeats.Keys > 0 {
		why := rewrite.Reason{What: fmt.Sprintf("keys held more than once in one database (%d records beyond the first)", repeats.Left), Flag: "--on-duplicate", Hint: "--on-duplicate keep-first or keep-last keeps one"}
		if co.OnDuplicate != rewrite.DuplicateFail {
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

// resolveJobs is the number of goroutines --jobs asks for: the CPUs Go
// uses for 0.
func resolveJobs(jobs int) int {
	if jobs <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return jobs
}
