package main

import (
	"bufio"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/analyze/render"
)

func newMemoryCommand() *cobra.Command {
	var (
		rf      readerFlags
		mf      modelFlags
		format  string
		ff      filterFlags
		pq      parquetFlags
		largest int
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
			filter, err := ff.filter()
			if err != nil {
				return err
			}
			estimateWith(&opts, filter)
			if largest < 0 {
				return &exitError{2, fmt.Errorf("--largest must be 0 (every key) or more, not %d", largest)}
			}
			if format == "parquet" {
				if largest > 0 {
					return &exitError{2, fmt.Errorf("--largest is for --format csv and jsonl")}
				}
				return pq.run(cmd, &rf, args, opts, nil)
			}
			if pq.used(cmd) {
				return &exitError{2, fmt.Errorf("--separators, --depth, --now and --parallel are for --format parquet")}
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
				_, err = analyze.ScanKeys(cmd.Context(), r, opts, emit)
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
	formatFlag(cmd, &format, "output format: csv, jsonl, or parquet (with -o)", "csv", "jsonl", "parquet")
	cmd.Flags().IntVar(&largest, "largest", 0, "only the N keys estimated largest (after the filters), biggest first, across all FILEs; memory is bounded by N")
	pq.register(cmd)
	ff.register(cmd, minBytesByEstimate)
	redirectOutput(cmd, true, func() (outputFlags, bool) { return outputFlags{pq.out, pq.overwrite}, format != "parquet" })
	return cmd
}
