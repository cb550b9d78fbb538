package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
)

// splitMaxOpen bounds the output files written in one pass over the input;
// more slot ranges take more passes (the input is opened again).
const splitMaxOpen = 64

func newSplitCommand() *cobra.Command {
	var rf readerFlags
	var wf writeFlags
	var perFile int
	var prefix string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "split IN --slots-per-file N --out-prefix P",
		Short: "Split a snapshot by Redis Cluster slot into one RDB file per slot range",
		Long: `split writes P-<first>-<last>.rdb for each range of N slots (0 to 16383),
holding the keys whose cluster slot (CRC16 of the key or of its {hash tag})
is in the range, all in database 0 as a cluster node keeps them. Function
libraries and module aux data go to every file. More than 64 ranges are
written in several passes over IN, which must then be a file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if perFile < 1 || perFile > 16384 {
				return &exitError{2, fmt.Errorf("--slots-per-file must be 1 to 16384")}
			}
			if prefix == "" {
				return &exitError{2, fmt.Errorf("--out-prefix is required")}
			}
			var ranges [][2]int
			for lo := 0; lo < 16384; lo += perFile {
				ranges = append(ranges, [2]int{lo, min(lo+perFile-1, 16383)})
			}
			for i := 0; i < len(ranges); i += splitMaxOpen {
				if i > 0 && args[0] == "-" {
					return &exitError{2, fmt.Errorf("%d ranges need several passes over the input: give a file, not stdin", len(ranges))}
				}
				if err := splitPass(cmd, &rf, &wf, args[0], prefix, ranges[i:min(i+splitMaxOpen, len(ranges))], quiet); err != nil {
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
	return cmd
}

type splitOut struct {
	lo, hi int
	out    *outputFile
	w      *rdb.Writer
	c      *converter
	name   string
}

func splitPass(cmd *cobra.Command, rf *readerFlags, wf *writeFlags, in, prefix string, ranges [][2]int, quiet bool) error {
	src, r, rec, opts, err := openForRewrite(cmd, rf, wf, in)
	if err != nil {
		return err
	}
	defer src.Close()
	// Small per-collection spools: many writers are open at once.
	opts.SpoolMemory = 4 << 20
	outs := make([]*splitOut, len(ranges))
	abort := func() {
		for _, o := range outs {
			if o != nil {
				o.out.abort()
			}
		}
	}
	for i, rg := range ranges {
		so := &splitOut{lo: rg[0], hi: rg[1], name: fmt.Sprintf("%s-%05d-%05d.rdb", prefix, rg[0], rg[1])}
		if so.out, err = createOutput(cmd, so.name); err != nil {
			abort()
			return err
		}
		outs[i] = so
		if so.w, err = rdb.NewWriter(so.out, opts); err != nil {
			abort()
			return err
		}
		kf := &keyFilter{slotLo: rg[0], slotHi: rg[1], hasSlots: true, dbMap: map[int]int{}}
		so.c = newConverter(so.w, kf, wf.skipModules)
		if err := so.c.start(); err != nil {
			abort()
			return err
		}
	}
	lo := ranges[0][0]
	for {
		if err := cmd.Context().Err(); err != nil {
			abort()
			return err
		}
		var err error
		switch rec.Kind {
		case rdb.KindKey:
			slot := KeySlot(rec.Key)
			i := 0
			if perRange := ranges[0][1] - ranges[0][0] + 1; perRange > 0 {
				i = (slot - lo) / perRange
			}
			if slot >= lo && i < len(outs) && slot <= outs[i].hi {
				so := outs[i]
				// A cluster node keeps everything in database 0.
				so.c.f.dbMap[rec.DB] = 0
				err = so.c.record(r, rec)
			}
		case rdb.KindFunction, rdb.KindModuleAux:
			for _, so := range outs {
				if err = so.c.record(r, rec); err != nil {
					break
				}
			}
		}
		if err != nil {
			abort()
			return fmt.Errorf("key %q: %w", rec.Key, err)
		}
		rec, err = r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			abort()
			return err
		}
	}
	for _, so := range outs {
		if err := so.w.Close(); err != nil {
			abort()
			return err
		}
		if err := so.out.commit(); err != nil {
			abort()
			return err
		}
		if !quiet {
			so.c.report(cmd.ErrOrStderr(), so.name)
		}
	}
	return nil
}
