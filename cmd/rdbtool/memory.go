package main

import (
	"bufio"
	"fmt"
	"github.com/rdbtool/rdbtool/internal/keyglob"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/analyze"
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
			if format == "parquet" {
				return pq.run(cmd, &rf, args, opts, keep)
			}
			if pq.used(cmd) {
				return &exitError{2, fmt.Errorf("--separators, --depth, --now and --parallel are for --format parquet")}
			}
			out := terminalSafe(cmd.OutOrStdout())
			bw := bufio.NewWriterSize(out, 1<<16)
			var rw *analyze.RowWriter
			switch format {
			case "csv":
				if rw, err = analyze.NewCSVWriter(bw); err != nil {
					return err
				}
			case "jsonl":
				rw = analyze.NewJSONLWriter(bw)
			default:
				return &exitError{2, fmt.Errorf("unknown --format %q (csv, jsonl or parquet)", format)}
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
					return rw.Write(k)
				})
				src.Close()
				if err != nil {
					return &exitError{2, err}
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
	formatFlag(cmd, &format, "output format: csv, jsonl, or parquet (with -o)", "csv", "jsonl", "parquet")
	pq.register(cmd)
	redirectOutput(cmd, true, func() (outputFlags, bool) { return outputFlags{pq.out, pq.overwrite}, format != "parquet" })
	cmd.Flags().IntSliceVar(&dbs, "db", nil, "only these databases")
	cmd.Flags().StringSliceVar(&types, "type", nil, "only these types (string, list, set, zset, hash, stream, or a module type)")
	cmd.Flags().StringVar(&match, "match", "", "only keys matching this glob (Redis KEYS syntax)")
	cmd.Flags().StringVar(&regex, "regex", "", "only keys matching this regular expression")
	cmd.Flags().Uint64Var(&minBytes, "min-bytes", 0, "only keys estimated at this many bytes or more (or with a unit: 1M)")
	return cmd
}
