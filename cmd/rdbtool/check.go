package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/salvage"
)

// openRandom opens name for random access: a local uncompressed file as
// it is, anything else (standard input, remote, compressed) copied to a
// temporary file first. The returned cleanup closes and removes it.
func openRandom(cmd *cobra.Command, name string) (io.ReaderAt, int64, func(), error) {
	if name != "-" {
		if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
			src, err := openSource(cmd.Context(), name)
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
	src, err := openSource(cmd.Context(), name)
	if err != nil {
		return nil, 0, nil, err
	}
	defer src.Close()
	in := io.Reader(src)
	if src.Compression != "" {
		// Decompressing everything to find it is not an RDB file could
		// take minutes (a gzip of gigabytes of zeros): look first.
		br := bufio.NewReaderSize(src, 64<<10)
		head, _ := br.Peek(9)
		if !salvage.PlausibleHeader(head) {
			return nil, 0, nil, fmt.Errorf("the %s-compressed content does not start with an RDB header (first bytes %q): not an RDB file", src.Compression, head)
		}
		in = br
	}
	tmp, err := os.CreateTemp("", "rdbtool-*.rdb")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, in)
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
	var memLimit, tempDir, format string
	var output outputFlags
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check every record, value and encoding and the checksum; report every problem (exit 0 clean, 1 damaged, 2 unreadable)",
		Long: `check reads the whole file and reports every problem it finds, with its byte
offset, database and key when known, and what was expected: a damaged
header, records that do not decode, compact encodings (listpack, ziplist,
intset) whose headers, back-lengths or counts disagree with their content,
duplicate members, sorted sets out of order or with NaN scores, stream IDs
out of order, stream counters and consumer groups that disagree with the
entries, the CRC-64 checksum (when one byte changed, which one), and keys
repeated in a database (Redis refuses such a file). After damage it finds
the next intact record and goes on. Then it prints a summary per database.

Notes name what Redis loads but a reader should know: empty collections
(Redis skips them) and streams whose stored length differs from their
entries. They do not change the exit status.

Repeated keys are found from 64-bit digests of the keys, kept within
--mem-limit; past it they go to temporary files in --temp-dir.

--format json writes one JSON object per file, on one line: status (ok,
invalid, damaged, unreadable), counts, problems and notes (kind, offset,
db, key and key_b64, what), lost keys, damaged ranges and databases.

Exit status: 0 clean, 1 damaged, 2 could not read.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &exitError{2, fmt.Errorf("unknown --format %q (text or json)", format)}
			}
			limit, err := parseSize(memLimit)
			if err != nil || limit < 1<<20 {
				return fmt.Errorf("--mem-limit %q: want a size of at least 1M, like 32M or 1G", memLimit)
			}
			// The digests are most of check's memory; a soft limit keeps
			// the garbage collector from letting the heap double past them.
			debug.SetMemoryLimit(max(2*limit, 48<<20))
			worst := 0
			out := cmd.OutOrStdout()
			for _, name := range args {
				opts := scanOptions(&rf, name)
				opts.Quick, opts.MemLimit, opts.TempDir = quick, limit, tempDir
				code := checkOne(cmd, out, opts, maxProblems, jobs, format == "json")
				worst = max(worst, code)
			}
			if worst != 0 {
				return &exitError{code: worst}
			}
			return nil
		},
	}
	rf.register(cmd)
	output.register(cmd, true)
	formatFlag(cmd, &format, "output format: text, or json (one object per file)", "text", "json")
	cmd.Flags().BoolVar(&quick, "quick", false, "check structure only: skip duplicate-member, ordering and stream consistency checks")
	cmd.Flags().IntVar(&maxProblems, "max-problems", 1000, "print at most this many problems per file (0: no limit)")
	cmd.Flags().StringVar(&memLimit, "mem-limit", "8M", "memory for finding repeated keys; past it key digests go to temporary files")
	cmd.Flags().StringVar(&tempDir, "temp-dir", "", "directory for those temporary files (default: the system's)")
	cmd.Flags().IntVar(&jobs, "jobs", 0, "goroutines validating values beside the one reading the file (default: one per CPU; 1 checks on one goroutine); a file with anything to report is then read again on one goroutine for the report; the output is the same")
	return cmd
}

func checkOne(cmd *cobra.Command, out io.Writer, opts salvage.Options, maxProblems, jobs int, asJSON bool) int {
	if asJSON {
		rep := &checkReport{File: opts.Name}
		code := checkFile(cmd, io.Discard, opts, maxProblems, jobs, rep)
		if err := rep.write(out); err != nil {
			return 2
		}
		return code
	}
	return checkFile(cmd, out, opts, maxProblems, jobs, nil)
}

// checkFile checks one file, printing to out, or with rep set filling it
// instead.
func checkFile(cmd *cobra.Command, out io.Writer, opts salvage.Options, maxProblems, jobs int, rep *checkReport) int {
	name := opts.Name
	unreadable := func(err error) int {
		if rep != nil {
			rep.Status, rep.Error = "unreadable", err.Error()
		}
		fmt.Fprintf(out, "%s: unreadable: %v\n", name, err)
		return 2
	}
	ra, size, cleanup, err := openRandom(cmd, name)
	if err != nil {
		return unreadable(err)
	}
	defer cleanup()
	opts.MaxProblems = 1
	printed := 0
	opts.Problem = func(p salvage.Problem) {
		printed++
		if maxProblems > 0 && printed > maxProblems {
			return
		}
		if rep != nil {
			rep.Problems = append(rep.Problems, newCheckProblem(p))
			return
		}
		fmt.Fprintf(out, "%s: %s\n", name, p)
	}
	notes := 0
	opts.Note = func(p salvage.Problem) {
		notes++
		if maxProblems > 0 && notes > maxProblems {
			return
		}
		if rep != nil {
			rep.Notes = append(rep.Notes, newCheckProblem(p))
			return
		}
		fmt.Fprintf(out, "%s: note: %s\n", name, p)
	}
	var res *salvage.Result
	clean := false
	if jobs != 1 {
		// An intact file is checked on every core; anything else is
		// reported by the full scan. Even on one core this path is the
		// default: it checks the CRC-64 as it reads instead of in a pass
		// of its own (12% less CPU).
		if res, clean, err = salvage.ScanParallel(cmd.Context(), ra, size, opts, jobs); err != nil {
			return unreadable(err)
		}
	}
	if !clean {
		res, err = salvage.Scan(ra, size, opts)
	}
	if err != nil {
		return unreadable(err)
	}
	if rep != nil {
		rep.fill(res)
		switch {
		case res.Clean():
			rep.Status = "ok"
		case int64(res.ProblemCount) == res.Duplicates:
			rep.Status = "invalid"
		default:
			rep.Status = "damaged"
		}
	}
	if maxProblems > 0 && printed > maxProblems {
		fmt.Fprintf(out, "%s: ... %d more problems not shown\n", name, printed-maxProblems)
	}
	if maxProblems > 0 && notes > maxProblems {
		fmt.Fprintf(out, "%s: ... %d more notes not shown\n", name, notes-maxProblems)
	}
	switch {
	case res.Clean():
		fmt.Fprintf(out, "%s: ok, %d keys, %s RDB %d, checksum %s", name, res.Keys, res.DialectName(), res.Version, res.Checksum)
		if res.NoteCount > 0 {
			fmt.Fprintf(out, " (%d notes)", res.NoteCount)
		}
		fmt.Fprintln(out)
	case int64(res.ProblemCount) == res.Duplicates:
		fmt.Fprintf(out, "%s: INVALID: %d repeated keys; every record decodes, nothing is unreadable or lost, but Redis refuses to load a file with a repeated key; %d keys, %s RDB %d, checksum %s\n",
			name, res.Duplicates, res.Keys, res.DialectName(), res.Version, res.Checksum)
	default:
		cs := res.Checksum.String()
		if res.ChecksumMismatch {
			cs = "MISMATCH"
		}
		fmt.Fprintf(out, "%s: DAMAGED: %d problems; %d keys intact, %d keys lost, %d damaged bytes in %d ranges; %s RDB %d, checksum %s\n",
			name, res.ProblemCount, res.Keys, res.LostCount, res.DamagedBytes, len(res.Damaged), res.DialectName(), res.Version, cs)
	}
	if res.DamagedBytes > 0 {
		fmt.Fprintf(out, "%s: keys lost: %d known by name; besides them, %s\n", name, res.LostCount, res.Hidden)
	}
	for _, d := range res.DBs {
		fmt.Fprintf(out, "%s:   db %s: %d keys intact (%d with expiry), %d lost\n", name, strconv.Itoa(d.DB), d.Keys, d.Expires, d.Lost)
	}
	if res.Clean() {
		return 0
	}
	return 1
}
