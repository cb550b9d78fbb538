package main

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
)

// parseSize parses a byte count: 1048576, 512K, 256M, 2G, 1GiB, 300MB.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("cannot parse size %q (e.g. 256M, 2G)", s)
	}
	return int64(f * float64(mult)), nil
}

// parseTime parses --as-of: RFC 3339, Unix seconds, or "now".
func parseTime(s string) (time.Time, error) {
	if s == "now" {
		return time.Now(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Parse(time.RFC3339, s)
}

func newDiffCommand() *cobra.Command {
	var f diffFlags
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show what changed between two snapshots, or a snapshot and a live server",
		Long: `Diff compares the logical content of A (before) and B (after), key by key:
keys removed, added, whose type, value or TTL changed, with element-level
detail (list positions, set members, hash fields and field TTLs, sorted-set
members and scores, stream entries and groups) and a summary by database,
type and key prefix. Either side may be an RDB file (any version, Redis or
Valkey; anything the other commands accept except "-") or a server given
as redis://[user:pass@]host:port[/db] or rediss://..., read with SCAN and
DUMP. A side may also be a set of files read as one snapshot, as the other
commands take them: a cluster's shard set by its quoted pattern
('dir/NAME-*.rdb'), an S3 prefix (s3://bucket/prefix/) or a local
directory. With --format parquet, a set's estimated_bytes stay null.

Keys and hash fields whose TTL had passed at the later of the two times
(a file's ctime, a server's clock) are left out on both sides, so keys that
merely expired are not reported; --as-of sets that instant, --keep-expired
compares them like other keys.

Exit status: 0 when the inputs are the same, 1 when they differ, 2 on
trouble.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, args, &f)
		},
	}
	f.rf.register(cmd)
	fl := cmd.Flags()
	formatFlag(cmd, &f.format, "output format: text, json (one document), jsonl (one object per differing key) or parquet (one row per differing key, with -o)", "text", "json", "jsonl", "parquet")
	fl.StringVarP(&f.output, "output", "o", "", "write the result to FILE instead of standard output, complete or not at all (parquet: a local file, s3://bucket/key, or - for standard output)")
	fl.BoolVar(&f.overwrite, "overwrite", false, "replace the -o FILE if it exists")
	redirectOutput(cmd, false, func() (outputFlags, bool) { return outputFlags{f.output, f.overwrite}, f.format != "parquet" })
	fl.DurationVar(&f.tol, "ttl-tolerance", 0, "expiries that differ by no more than this are equal (e.g. 2s)")
	fl.BoolVar(&f.ignoreTTL, "ignore-ttl", false, "ignore key and hash-field expiries")
	// No --min-bytes: a size is the value's, which differs between the
	// sides; a key that grew past it would read as added.
	f.ff.register(cmd, "")
	fl.Lookup("type").Usage += "; a key whose type changed to or from them reads as added or removed"
	fl.BoolVar(&f.summaryOnly, "summary-only", false, "print only the summary (skips the detail pass)")
	fl.IntVar(&f.maxDetails, "max-details", 10, "items listed per detail list (counts are always complete)")
	fl.StringVar(&f.memLimit, "mem-limit", "256M", "memory budget; past it keys are partitioned to temporary files")
	fl.StringVar(&f.asOf, "as-of", "", "instant at which keys count as expired: RFC 3339, Unix seconds or now (default: the later input's time)")
	fl.BoolVar(&f.keepExpired, "keep-expired", false, "compare keys and fields whose TTL has passed like any others")
	fl.StringVar(&f.seps, "separators", ":", "characters that separate key prefix segments")
	fl.IntVar(&f.depth, "depth", 1, "prefix segments in the by-prefix summary")
	fl.StringVar(&f.tempDir, "temp-dir", "", "directory for temporary files (default: the system's)")
	fl.IntVar(&f.jobs, "jobs", 0, "goroutines digesting each file's values beside the one reading it (default: number of CPUs; 1 reads each file on one goroutine); the result is the same")
	return cmd
}

// diffFlags holds diff's flags.
type diffFlags struct {
	rf          readerFlags
	format      string
	tol         time.Duration
	ignoreTTL   bool
	ff          filterFlags
	summaryOnly bool
	maxDetails  int
	memLimit    string
	asOf        string
	keepExpired bool
	seps        string
	depth       int
	tempDir     string
	output      string
	overwrite   bool
	jobs        int
}

// runDiff is diff's RunE: options from the flags, the comparison, the
// result in the chosen format and the exit status.
func runDiff(cmd *cobra.Command, args []string, f *diffFlags) error {
	ctx := cmd.Context()
	opts, err := f.options()
	if err != nil {
		return err
	}
	// Hold the Go heap to the budget: the GC works harder near it
	// rather than letting garbage double the footprint. The
	// comparison's structures take about 60% of the budget (see
	// the diff package's doc); an eighth is left for what the Go
	// runtime does not count (the program's code, mapped files).
	debug.SetMemoryLimit(max(opts.MemLimit-opts.MemLimit/8, 32<<20))
	switch f.format {
	case "text", "json", "jsonl":
	case "parquet":
		if f.output == "" {
			return &exitError{2, fmt.Errorf("--format parquet needs -o FILE (a local file, s3://bucket/key or -)")}
		}
		if f.summaryOnly {
			return &exitError{2, fmt.Errorf("--format parquet writes one row per difference; --summary-only has none")}
		}
	default:
		return &exitError{2, fmt.Errorf("unknown --format %q (text, json, jsonl or parquet)", f.format)}
	}
	var inputs [2]diff.Input
	for i, name := range args {
		in, err := f.rf.diffInput(ctx, name)
		if err != nil {
			return &exitError{2, err}
		}
		defer in.Close()
		inputs[i] = in
	}
	res, err := diff.Compare(ctx, inputs[0], inputs[1], opts)
	if err != nil {
		return &exitError{2, err}
	}
	defer res.Close()
	endProgress()
	out := cmd.OutOrStdout()
	switch f.format {
	case "json":
		err = diff.WriteJSON(out, res, f.summaryOnly)
	case "jsonl":
		err = diff.WriteJSONL(out, res, f.summaryOnly)
	case "parquet":
		err = writeDiffParquet(cmd, res, inputs, parquetOutput{out: f.output, overwrite: f.overwrite}, f.seps, f.depth, opts.MemLimit)
	default:
		err = diff.WriteText(out, res, f.summaryOnly)
	}
	if err != nil {
		return &exitError{2, err}
	}
	if !res.Summary.Same {
		return &exitError{1, nil}
	}
	return nil
}

// options turns the flags into diff.Options.
func (f *diffFlags) options() (diff.Options, error) {
	opts := diff.Options{
		TTLTolerance: f.tol, IgnoreTTL: f.ignoreTTL, SummaryOnly: f.summaryOnly,
		MaxDetails: f.maxDetails, KeepExpired: f.keepExpired, Separators: f.seps, PrefixDepth: f.depth, TempDir: f.tempDir,
		Jobs: f.jobs,
	}
	if f.jobs < 0 {
		return diff.Options{}, &exitError{2, fmt.Errorf("--jobs must be 0 (number of CPUs) or more, not %d", f.jobs)}
	}
	filter, err := f.ff.filter()
	if err != nil {
		return diff.Options{}, err
	}
	// One database and the glob also go to a live server (SELECT,
	// SCAN MATCH); the filter applies the rest.
	if len(filter.DBs) == 1 {
		opts.FilterDB, opts.DB = true, filter.DBs[0]
	}
	opts.Match = filter.Match
	if filter.Filtering() {
		opts.Filter = filter.Keep
	}
	if f.memLimit != "" {
		n, err := parseSize(f.memLimit)
		if err != nil {
			return diff.Options{}, &exitError{2, err}
		}
		opts.MemLimit = n
	} else {
		opts.MemLimit = diff.DefaultMemLimit
	}
	if f.asOf != "" {
		t, err := parseTime(f.asOf)
		if err != nil {
			return diff.Options{}, &exitError{2, fmt.Errorf("--as-of: %w", err)}
		}
		opts.AsOf = t
	}
	return opts, nil
}

// diffInput opens a side of a diff with the reader flags: a server URL,
// a file, or what expands to several files (a shard set's pattern or
// prefix, a directory; see expandInputs), compared as one snapshot.
func (f *readerFlags) diffInput(ctx context.Context, arg string) (diff.Input, error) {
	var opts []rdb.Option
	if f.skipChecksum {
		opts = append(opts, rdb.WithoutChecksum())
	}
	if f.allowNewer {
		opts = append(opts, rdb.AllowNewerVersions())
	}
	if in, err := diff.OpenInput(ctx, arg, opts...); err != nil || in.IsLive() {
		return in, err
	}
	names, err := s3src.ExpandArgs(ctx, []string{arg})
	if err != nil {
		return diff.Input{}, err
	}
	parts := make([]diff.Input, len(names))
	for i, name := range names {
		if name == "-" {
			return diff.Input{}, fmt.Errorf("diff reads its inputs twice and cannot take standard input")
		}
		in := diff.FileInput(name, opts...)
		set := len(names) > 1
		in.Open = func(ctx context.Context) (*rdb.Reader, func() error, error) {
			if set {
				// A set's parts are open together: one progress line
				// each would overwrite the others.
				src, err := openSource(ctx, name)
				if err != nil {
					return nil, nil, err
				}
				return rdb.NewReader(src, append(sourceOptions(src, name), opts...)...), src.Close, nil
			}
			src, r, err := f.open(ctx, name)
			if err != nil {
				return nil, nil, err
			}
			return r, src.Close, nil
		}
		parts[i] = in
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return diff.SetInput(arg, parts...), nil
}
