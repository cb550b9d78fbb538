package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rewrite"
)

// splitMaxOpen bounds the output files written in one pass over the input;
// more slot ranges take more passes (the input is opened again).
const splitMaxOpen = 64

func newSplitCommand() *cobra.Command {
	var rf readerFlags
	var wf writeFlags
	var kf rewriteFlags
	var perFile int
	var prefix, onDup string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "split IN --slots-per-file N --out-prefix P",
		Short: "Split a snapshot by Redis Cluster slot into one RDB file per slot range",
		Long: `split writes P-<first>-<last>.rdb for each range of N slots (0 to 16383),
holding the keys whose cluster slot (CRC16 of the key or of its {hash tag})
is in the range, all in database 0 as a cluster node keeps them. Function
libraries and module aux data go to every file. More than 64 ranges are
written in several passes over IN, which must then be a file.

A cluster node has only database 0: input with keys in other databases is
refused unless --db N keeps one database or --map-db N:0 merges some into
database 0. A key name met twice in database 0 (merged, or repeated in the
input) fails, as a server would refuse the file, unless --on-duplicate
keep-first or keep-last says which to keep.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ranges, err := rewrite.SlotRanges(perFile)
			if err != nil {
				return &exitError{2, err}
			}
			if prefix == "" {
				return &exitError{2, fmt.Errorf("--out-prefix is required")}
			}
			filter, dbMap, err := kf.compile()
			if err != nil {
				return err
			}
			dup, err := rewrite.ParseOnDuplicate(onDup)
			if err != nil {
				return &exitError{2, err}
			}
			if err := findBigKeys(cmd.Context(), &rf, filter, args[:1]); err != nil {
				return err
			}
			co := rewrite.ConvertOptions{Filter: filter, MapDB: dbMap, SkipModules: wf.skipModules, OnDuplicate: dup}
			for i := 0; i < len(ranges); i += splitMaxOpen {
				if i > 0 && args[0] == "-" {
					return &exitError{2, fmt.Errorf("%d ranges need several passes over the input: give a file, not stdin", len(ranges))}
				}
				if err := splitPass(cmd, &rf, &wf, co, args[0], prefix, ranges[i:min(i+splitMaxOpen, len(ranges))], quiet); err != nil {
					return &exitError{1, err}
				}
			}
			return nil
		},
	}
	rf.register(cmd)
	wf.register(cmd)
	cmd.Flags().IntVar(&perFile, "slots-per-file", 0, "slots per output file")
	cmd.Flags().StringVar(&prefix, "out-prefix", "", "output path prefix")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "do not print the summaries")
	kf.register(cmd, false)
	cmd.Flags().Lookup("db").Usage = "only these databases (--db 0,3 or repeated); their keys go to database 0"
	cmd.Flags().Lookup("map-db").Usage = "write database FROM as TO (FROM:TO, repeatable; TO must be 0)"
	cmd.Flags().StringVar(&onDup, "on-duplicate", "fail", "a key name met twice in database 0: fail, keep-first or keep-last")
	return cmd
}

// splitPass writes the files of ranges in one pass over in.
func splitPass(cmd *cobra.Command, rf *readerFlags, wf *writeFlags, co rewrite.ConvertOptions, in, prefix string, ranges []rewrite.SlotRange, quiet bool) error {
	repeats, err := findRepeats(cmd, rf, in, rewrite.SplitPlacement(co), co.OnDuplicate, false)
	if err != nil {
		return err
	}
	co.Repeats = repeats
	src, r, rec, opts, err := openForRewrite(cmd, rf, wf, in)
	if err != nil {
		return err
	}
	defer src.Close()
	// Small per-collection spools: many writers are open at once.
	opts.SpoolMemory = 4 << 20
	// Without --on-duplicate's pass each file's writer looks for repeats,
	// in 1 MiB of memory each (up to 64 are open; past it the digests go
	// to disk).
	opts.KeyDigestMemory = 1 << 20
	files := make([]*outputFile, 0, len(ranges))
	outs := make([]io.Writer, 0, len(ranges))
	names := make([]string, len(ranges))
	abort := func() {
		for _, f := range files {
			f.abort()
		}
	}
	for i, rg := range ranges {
		names[i] = fmt.Sprintf("%s-%05d-%05d.rdb", prefix, rg.First, rg.Last)
		f, err := createOutput(cmd, names[i])
		if err != nil {
			abort()
			return err
		}
		files, outs = append(files, f), append(outs, f)
	}
	convs, err := rewrite.Split(cmd.Context(), r, rec, opts, co, ranges, outs)
	if err != nil {
		abort()
		return nameRepeats(cmd, rf, in, rewrite.SplitPlacement(co), err)
	}
	for i, f := range files {
		if err := f.commit(); err != nil {
			abort()
			return err
		}
		if !quiet {
			printReport(cmd.ErrOrStderr(), names[i], convs[i], co.OnDuplicate)
		}
	}
	return nil
}
