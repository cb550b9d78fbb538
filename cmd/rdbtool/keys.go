package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

func newKeysCommand() *cobra.Command {
	var (
		rf     readerFlags
		ff     filterFlags
		showDB bool
		jobs   int
		output outputFlags
	)
	cmd := &cobra.Command{
		Use:   "keys FILE...",
		Short: "List the keys, one per line, in file order",
		Long: `keys prints the name of every key the filters keep, one per line, in
file order (files in the order given; a shard set in shard order), as
redis-cli --scan and redis-rdb-tools' "rdb -c justkeys" do: no database
number unless --show-db puts it first ("3<TAB>key").

To a pipe or a file each name is written as its exact bytes followed by a
newline (a name holding a newline then spans two lines: use dump for
such data). On a terminal a name that is not plain UTF-8 text is shown
Go-quoted ("a\x1bb"), so that a key cannot drive the terminal.

Values are not decoded, except with --min-bytes, which estimates each key
as memory does (--jobs goroutines beside the reader).`,
		Example: `  rdbtool keys dump.rdb
  rdbtool keys --db 0 --match 'session:*' dump.rdb | wc -l
  rdbtool keys --type hash --min-bytes 1M 's3://backups/nightly/'`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandInputs(cmd, args)
			if err != nil {
				return err
			}
			filter, err := ff.filter()
			if err != nil {
				return err
			}
			if jobs < 0 {
				return &exitError{2, fmt.Errorf("--jobs must be 0 (number of CPUs) or more, not %d", jobs)}
			}
			out := cmd.OutOrStdout()
			kw := &keyWriter{w: bufio.NewWriterSize(out, 64<<10), quote: isTerminal(out), showDB: showDB}
			for _, name := range args {
				if err := listKeys(cmd, &rf, name, filter, jobs, kw); err != nil {
					kw.w.Flush()
					return &exitError{2, err}
				}
			}
			return kw.w.Flush()
		},
	}
	rf.register(cmd)
	ff.register(cmd, minBytesByEstimate)
	output.register(cmd, true)
	cmd.Flags().BoolVar(&showDB, "show-db", false, "print each key's database number and a tab before it")
	cmd.Flags().IntVar(&jobs, "jobs", 0, "with --min-bytes: goroutines estimating keys beside the one reading (default: number of CPUs); the output is the same")
	return cmd
}

// keyWriter prints key names, one per line.
type keyWriter struct {
	w      *bufio.Writer
	quote  bool // a terminal: names that are not plain text are quoted
	showDB bool
}

func (k *keyWriter) key(db int, key []byte) error {
	if k.showDB {
		k.w.WriteString(strconv.Itoa(db))
		k.w.WriteByte('\t')
	}
	if k.quote {
		k.w.WriteString(printable(string(key)))
	} else {
		k.w.Write(key)
	}
	return k.w.WriteByte('\n')
}

// listKeys prints the keys of one input that kf keeps.
func listKeys(cmd *cobra.Command, rf *readerFlags, name string, kf *rewrite.KeyFilter, jobs int, kw *keyWriter) error {
	src, r, err := rf.open(cmd.Context(), name)
	if err != nil {
		return err
	}
	defer src.Close()
	if kf.MinBytes > 0 {
		opts := analyze.Options{Jobs: jobs}
		estimateWith(&opts, kf)
		_, err := analyze.ScanKeys(cmd.Context(), r, opts, func(k *analyze.Key) error {
			return kw.key(k.DB, k.Key)
		})
		return err
	}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := cmd.Context().Err(); err != nil {
				return err
			}
		}
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Kind == rdb.KindKey && kf.Keep(rec) {
			if err := kw.key(rec.DB, rec.Key); err != nil {
				return err
			}
		}
	}
}

// isTerminal reports whether w is standard output on a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f == os.Stdout && term.IsTerminal(int(f.Fd()))
}
