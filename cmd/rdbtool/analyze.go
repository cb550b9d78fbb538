package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/analyze/render"
	"github.com/rdbtool/rdbtool/rdb"
)

// modelFlags are the memory-model options shared by analyze and memory.
type modelFlags struct {
	allocator     string
	server        string
	deep          bool
	compressDepth int
	jobs          int
}

func (f *modelFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.allocator, "allocator", "jemalloc", "allocator whose size classes the estimate uses: jemalloc (Redis's own build), jemalloc-system (a distribution's libjemalloc, as Debian's and Ubuntu's redis-server link) or libc")
	cmd.Flags().StringVar(&f.server, "server-version", "", "model this server version (e.g. 7.0.15, valkey-8.0.1) instead of the file's redis-ver/valkey-ver: the estimate is for the file loaded into it")
	cmd.Flags().BoolVar(&f.deep, "deep", false, "measure the largest element of every compact-encoded key (memory does by default; analyze measures it for the keys it lists either way)")
	cmd.Flags().IntVar(&f.compressDepth, "list-compress-depth", 0, "the target server's list-compress-depth: quicklist nodes beyond this many from each end are counted LZF-compressed")
	cmd.Flags().IntVar(&f.jobs, "jobs", 0, "goroutines estimating each file's keys beside the one reading it (default: number of CPUs; 1 reads each file on one goroutine); the output is the same")
}

func (f *modelFlags) options() (analyze.Options, error) {
	var o analyze.Options
	a, err := analyze.ParseAllocator(f.allocator)
	if err != nil {
		return o, fmt.Errorf("--allocator: %w", err)
	}
	o.Allocator = a
	if f.server != "" {
		v, ok := analyze.ParseServerVersion(f.server)
		if !ok {
			return o, fmt.Errorf("cannot parse --server-version %q", f.server)
		}
		o.ServerVersion = &v
	}
	o.Deep = f.deep
	if f.compressDepth < 0 {
		return o, fmt.Errorf("--list-compress-depth must be 0 or more, not %d", f.compressDepth)
	}
	o.ListCompressDepth = f.compressDepth
	if f.jobs < 0 {
		return o, fmt.Errorf("--jobs must be 0 (number of CPUs) or more, not %d", f.jobs)
	}
	o.Jobs = f.jobs
	return o, nil
}

func newAnalyzeCommand() *cobra.Command {
	var (
		rf       readerFlags
		mf       modelFlags
		ff       filterFlags
		format   string
		top      int
		seps     string
		depth    int
		limit    int
		now      int64
		parallel int
		maxmem   uint64
		policy   string
		out      outputFlags
		rawBytes bool
	)
	cmd := &cobra.Command{
		Use:   "analyze FILE...",
		Short: "Estimate memory per key and report totals, big keys, TTLs, prefixes and hot keys",
		Long: `Analyze reads one or more snapshots (for example the shards of one backup,
read in parallel) and estimates for every key what MEMORY USAGE key SAMPLES 0
would report on the server that wrote the file, and predicts the INFO memory
figures (used_memory, its dataset and overhead halves) of a server that loads
each file: --server-version and --allocator name that server, keys expired by
--now are left out. The JSON schema is documented
in the analyze package (Report). --format html writes one self-contained page
(treemap of memory by prefix, TTL histogram, big keys, per-file breakdown)
that needs no network access to view.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandInputs(cmd, args)
			if err != nil {
				return err
			}
			opts, err := mf.options()
			if err != nil {
				return &exitError{2, err}
			}
			if format != "table" && format != "json" && format != "html" {
				return &exitError{2, fmt.Errorf("unknown --format %q (table, json or html)", format)}
			}
			opts.Top, opts.Separators, opts.Depth, opts.PrefixLimit, opts.Parallel = top, seps, depth, limit, parallel
			if depth == 0 {
				opts.NoPrefixes = true
			}
			if now > 0 {
				opts.Now = time.Unix(now, 0)
			}
			opts.Maxmemory, opts.MaxmemoryPolicy = maxmem, policy
			filter, err := ff.filter()
			if err != nil {
				return err
			}
			estimateWith(&opts, filter)
			inputs := make([]analyze.Input, len(args))
			for i, name := range args {
				name := name
				inputs[i] = analyze.Input{Name: name, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
					src, r, err := rf.open(ctx, name)
					if err != nil {
						return nil, nil, err
					}
					return r, src.Close, nil
				}}
			}
			rep, err := analyze.New(opts).Analyze(cmd.Context(), inputs)
			if err != nil {
				return &exitError{2, err}
			}
			endProgress()
			switch format {
			case "json":
				return render.JSON(cmd.OutOrStdout(), rep)
			case "html":
				return render.HTML(cmd.OutOrStdout(), rep)
			}
			return render.Table(cmd.OutOrStdout(), rep, render.TableOptions{Bytes: rawBytes})
		},
	}
	rf.register(cmd)
	mf.register(cmd)
	ff.register(cmd, minBytesByEstimate)
	formatFlag(cmd, &format, "output format: table, json, or html (one self-contained page with charts)", "table", "json", "html")
	out.register(cmd, false)
	cmd.Flags().IntVarP(&top, "top", "n", 10, "keys in each big-key and hot-key list")
	cmd.Flags().StringVar(&seps, "separators", ":", "characters that separate key prefix segments")
	cmd.Flags().IntVar(&depth, "depth", 2, "prefix levels to aggregate (0: none)")
	cmd.Flags().IntVar(&limit, "prefix-limit", 10000, "prefixes kept; the long tail beyond is collapsed")
	cmd.Flags().Int64Var(&now, "now", 0, "snapshot time for TTLs, Unix seconds (default: the file's ctime)")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "files read at once (default: number of CPUs)")
	cmd.Flags().Uint64Var(&maxmem, "maxmemory", 0, "the target server's maxmemory, in bytes or with a unit (4G): the report says whether each file fits (0: no limit)")
	cmd.Flags().BoolVar(&rawBytes, "bytes", false, "table: sizes as exact byte counts instead of KiB, MiB, GiB")
	cmd.Flags().StringVar(&policy, "maxmemory-policy", "noeviction", "the target server's maxmemory-policy (LRU and LFU policies with a limit turn off shared integers)")
	return cmd
}
