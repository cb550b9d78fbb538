package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/salvage"
	"github.com/rdbtool/rdbtool/source"
)

// openRandom opens name for random access: a local uncompressed file as
// it is, anything else (standard input, remote, compressed) copied to a
// temporary file first. The returned cleanup closes and removes it.
func openRandom(cmd *cobra.Command, name string) (io.ReaderAt, int64, func(), error) {
	if name != "-" {
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			src, err := source.Open(cmd.Context(), name)
			if err != nil {
				return nil, 0, nil, err
			}
			compressed := src.Compression != ""
			src.Close()
			if !compressed {
				f, err := os.Open(name)
				if err != nil {
					return nil, 0, nil, err
				}
				return f, fi.Size(), func() { f.Close() }, nil
			}
		}
	}
	src, err := source.Open(cmd.Context(), name)
	if err != nil {
		return nil, 0, nil, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp("", "rdbtool-*.rdb")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, src)
	if err != nil {
		// A damaged compressed stream: keep what could be decompressed.
		fmt.Fprintf(cmd.ErrOrStderr(), "rdbtool: %s: reading stopped after %d bytes: %v\n", name, n, err)
		if n == 0 {
			cleanup()
			return nil, 0, nil, err
		}
	}
	return tmp, n, cleanup, nil
}

func scanOptions(rf *readerFlags, name string) salvage.Options {
	return salvage.Options{Name: name, AllowNewer: rf.allowNewer, SkipChecksum: rf.skipChecksum}
}

func newCheckCommand() *cobra.Command {
	var rf readerFlags
	var quick bool
	var maxProblems, jobs int
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check every record, value and encoding and the checksum; report every problem (exit 0 clean, 1 damaged, 2 unreadable)",
		Long: `check reads the whole file and reports every problem it finds, with its byte
offset, database and key when known, and what was expected: a damaged
header, records that do not decode, compact encodings (listpack, ziplist,
intset) whose headers, back-lengths or counts disagree with their content,
duplicate members, sorted sets out of order or with NaN scores, stream IDs
out of order, stream counters and consumer groups that disagree with the
entries, and the CRC-64 checksum (when one byte changed, which one). After
damage it finds the next intact record and goes on. Then it prints a
summary per database.

Exit status: 0 clean, 1 damaged, 2 could not read.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			worst := 0
			out := cmd.OutOrStdout()
			for _, name := range args {
				code := checkOne(cmd, out, &rf, name, quick, maxProblems, jobs)
				worst = max(worst, code)
			}
			if worst != 0 {
				return &exitError{code: worst}
			}
			return nil
		},
	}
	rf.register(cmd)
	cmd.Flags().BoolVar(&quick, "quick", false, "check structure only: skip duplicate-member, ordering and stream consistency checks")
	cmd.Flags().IntVar(&maxProblems, "max-problems", 1000, "print at most this many problems per file (0: no limit)")
	cmd.Flags().IntVar(&jobs, "jobs", 0, "goroutines validating values beside the one reading the file (default: number of CPUs; 1 checks on one goroutine); a damaged file is then checked again on one goroutine for the full report")
	return cmd
}

func checkOne(cmd *cobra.Command, out io.Writer, rf *readerFlags, name string, quick bool, maxProblems, jobs int) int {
	ra, size, cleanup, err := openRandom(cmd, name)
	if err != nil {
		fmt.Fprintf(out, "%s: unreadable: %v\n", name, err)
		return 2
	}
	defer cleanup()
	opts := scanOptions(rf, name)
	opts.Quick = quick
	opts.MaxProblems = 1
	printed := 0
	opts.Problem = func(p salvage.Problem) {
		printed++
		if maxProblems > 0 && printed > maxProblems {
			return
		}
		fmt.Fprintf(out, "%s: %s\n", name, p)
	}
	var res *salvage.Result
	clean := false
	if jobs != 1 {
		// An intact file is checked on every core; anything else is
		// reported by the full scan.
		if res, clean, err = salvage.ScanParallel(cmd.Context(), ra, size, opts, jobs); err != nil {
			fmt.Fprintf(out, "%s: unreadable: %v\n", name, err)
			return 2
		}
	}
	if !clean {
		res, err = salvage.Scan(ra, size, opts)
	}
	if err != nil {
		fmt.Fprintf(out, "%s: unreadable: %v\n", name, err)
		return 2
	}
	if maxProblems > 0 && printed > maxProblems {
		fmt.Fprintf(out, "%s: ... %d more problems not shown\n", name, printed-maxProblems)
	}
	if res.Clean() {
		fmt.Fprintf(out, "%s: ok, %d keys, %s RDB %d, checksum %s\n", name, res.Keys, res.Dialect, res.Version, res.Checksum)
	} else {
		cs := res.Checksum.String()
		if res.ChecksumMismatch {
			cs = "MISMATCH"
		}
		fmt.Fprintf(out, "%s: DAMAGED: %d problems; %d keys intact, %d keys lost, %d damaged bytes in %d ranges; %s RDB %d, checksum %s\n",
			name, res.ProblemCount, res.Keys, len(res.Lost), res.DamagedBytes, len(res.Damaged), res.Dialect, res.Version, cs)
	}
	for _, d := range res.DBs {
		fmt.Fprintf(out, "%s:   db %s: %d keys intact (%d with expiry), %d lost\n", name, strconv.Itoa(d.DB), d.Keys, d.Expires, d.Lost)
	}
	if res.Clean() {
		return 0
	}
	return 1
}
