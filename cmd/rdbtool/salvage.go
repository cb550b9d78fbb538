package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/salvage"
)

func newSalvageCommand() *cobra.Command {
	var rf readerFlags
	var report string
	var repair, quick, keepUnverified bool
	cmd := &cobra.Command{
		Use:   "salvage DAMAGED OUT",
		Short: "Write a valid RDB file with every key of a damaged one that can be recovered intact",
		Long: `salvage reads a damaged RDB file, passes over damaged regions by finding
the next record boundary that the following records confirm, and writes
OUT: a valid RDB file of the same version with every record that decoded
and validated completely, copied byte for byte (values, expiries, LRU/LFU
data unchanged), a fresh end-of-file marker and checksum. Nothing is
guessed: a key whose value is damaged, or whose length nothing confirms
next to a damaged region, is left out and listed in the report.

When the checksum shows that exactly one byte changed (a flipped bit),
--repair restores it instead of dropping the key that holds it. Records
whose start or database nothing proves next to a damaged range are left
out too (the report says why). When the checksum shows that bytes changed
but every record decodes, the change is inside some value's content: if
the checksum can prove where (a repeating pattern broken there), only
that key is left out; otherwise no key is verified and none is written
unless --keep-unverified.

The report (--report FILE, "-" for standard output; a summary goes to
standard error otherwise) lists the damaged byte ranges, every problem,
the keys lost and counts per database.

Exit status: 0 when OUT was written, 2 when nothing could be recovered.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			in, outPath := args[0], args[1]
			ra, size, cleanup, err := openRandom(cmd, in)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			defer cleanup()
			tmp, err := createAtomic(outPath, true)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			defer tmp.abort()
			opts := scanOptions(&rf, in)
			opts.Repair, opts.Quick, opts.KeepUnverified = repair, quick, keepUnverified
			opts.MaxProblems = -1
			res, wr, err := salvage.Salvage(ra, size, tmp, opts)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("%s: %w", in, err)}
			}
			if wr.Keys == 0 && !res.Clean() {
				writeReport(cmd, report, res)
				return &exitError{code: 2, err: fmt.Errorf("%s: no key could be recovered; %s not written", in, outPath)}
			}
			if err := tmp.commit(); err != nil {
				return &exitError{code: 2, err: err}
			}
			if err := writeReport(cmd, report, res); err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: wrote %s: %d keys (%d bytes); %d keys lost, %d damaged bytes in %d ranges, %d problems\n",
				in, outPath, wr.Keys, wr.Bytes, res.LostCount, res.DamagedBytes, len(res.Damaged), res.ProblemCount)
			if res.DamagedBytes > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: keys lost: %d known by name; besides them, %s\n", in, res.LostCount, res.Hidden)
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&report, "report", "", `write the damage report to this file ("-": standard output)`)
	cmd.Flags().BoolVar(&repair, "repair", false, "restore a single changed byte that the checksum pinpoints")
	cmd.Flags().BoolVar(&quick, "quick", false, "validate structure only (no duplicate-member, order or stream checks)")
	cmd.Flags().BoolVar(&keepUnverified, "keep-unverified", false, "when the checksum shows a value changed but not which, write the keys anyway (one or more differ from what was saved)")
	return cmd
}

func writeReport(cmd *cobra.Command, path string, res *salvage.Result) error {
	var w io.Writer
	switch path {
	case "":
		return nil
	case "-":
		w = cmd.OutOrStdout()
	default:
		f, err := createAtomic(path, true)
		if err != nil {
			return err
		}
		if err := res.WriteReport(f); err != nil {
			f.abort()
			return err
		}
		return f.commit()
	}
	return res.WriteReport(w)
}
