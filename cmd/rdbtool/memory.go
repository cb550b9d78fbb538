package main

import (
	"bufio"
	"fmt"
	"github.com/rdbtool/rdbtool/internal/keyglob"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/analyze/render"
)

func newMemoryCommand() *cobra.Command {
	var (
		rf       readerFlags
		mf       modelFlags
		format   string
		dbs      []int
		types    []string
		match    string
		regex    string
		minBytes uint64
		pq       parquetFlags
		largest  int
	)
	cmd := &cobra.Command{
		Use:   "memory FILE...",
		Short: "One row per key with its estimated memory (redis-rdb-tools compatible CSV, JSONL, or Parquet)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandInputs(cmd, args)
			if err != nil {
				return err
			}
			opts, err := mf.options()
			if err != nil {
				return &exitError{2, err}
			}
			if !cmd.Flags().Changed("deep") {
				opts.Deep = true // len_largest_element for every key
			}
			var re *regexp.Regexp
			if regex != "" {
				if re, err = regexp.Compile(regex); err != nil {
					return &exitError{2, fmt.Errorf("--regex: %w", err)}
				}
			}
			matchBytes := []byte(match)
			dbSet := map[int]bool{}
			for _, d := range dbs {
				dbSet[d] = true
			}
			typeSet := map[string]bool{}
			for _, t := range types {
				typeSet[t] = true
			}
			keep := func(k *analyze.Key) bool {
				if len(dbSet) > 0 && !dbSet[k.DB] || len(typeSet) > 0 && !typeSet[k.Type] || k.Bytes < minBytes {
					return false
				}
				if match != "" {
					if !keyglob.Match(matchBytes, k.Key) {
						return false
					}
				}
				return re == nil || re.Match(k.Key)
			}
			if largest < 0 {
				return &exitError{2, fmt.Errorf("--largest must be 0 (every key) or more, not %d", largest)}
			}
			if format == "parquet" {
				if largest > 0 {
					return &exitError{2, fmt.Errorf("--largest is for --format csv and jsonl")}
				}
				return pq.run(cmd, &rf, args, opts, keep)
			}
			if pq.used(cmd) {
				return &exitError{2, fmt.Errorf("-o, --overwrite, --separators, --depth, --now and --parallel are for --format parquet")}
			}
			out := terminalSafe(cmd.OutOrStdout())
			bw := bufio.NewWriterSize(out, 1<<16)
			var rw *render.RowWriter
			switch format {
			case "csv":
				if rw, err = render.NewCSVWriter(bw); err != nil {
					return err
				}
			case "jsonl":
				rw = render.NewJSONLWriter(bw)
			default:
				return &exitError{2, fmt.Errorf("unknown --format %q (csv, jsonl or parquet)", format)}
			}
			emit := rw.Write
			var top *analyze.TopKeys
			if largest > 0 {
				top = analyze.NewTopKeys(largest)
				emit = func(k *analyze.Key) error { top.Offer(k); return nil }
			}
			for _, name := range args {
				src, r, err := rf.open(cmd.Context(), name)
				if err != nil {
					return &exitError{2, err}
				}
				_, err = analyze.ScanKeys(cmd.Context(), r, opts, func(k *analyze.Key) error {
					if !keep(k) {
						return nil
					}
					return emit(k)
				})
				src.Close()
				if err != nil {
					return &exitError{2, err}
				}
			}
			if top != nil {
				for _, k := range top.Keys() {
					if err := rw.Write(&k); err != nil {
						return err
					}
				}
			}
			if err := rw.Flush(); err != nil {
				return err
			}
			if err := bw.Flush(); err != nil {
				return err
			}
			if e, ok := out.(*controlEscaper); ok {
				return e.flush()
			}
			return nil
		},
	}
	rf.register(cmd)
	mf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "csv", "output format: csv, jsonl, or parquet (with -o)")
	cmd.Flags().IntVar(&largest, "largest", 0, "only the N keys estimated largest (after the filters), biggest first, across all FILEs; memory is bounded by N")
	pq.register(cmd)
	cmd.Flags().IntSliceVar(&dbs, "db", nil, "only these databases")
	cmd.Flags().StringSliceVar(&types, "type", nil, "only these types (string, list, set, zset, hash, stream, or a module type)")
	cmd.Flags().StringVar(&match, "match", "", "only keys matching this glob (Redis KEYS syntax)")
	cmd.Flags().StringVar(&regex, "regex", "", "only keys matching this regular expression")
	cmd.Flags().Uint64Var(&minBytes, "min-bytes", 0, "only keys estimated at this many bytes or more")
	return cmd
}
