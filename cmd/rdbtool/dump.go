package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// recordWriter is what dump needs from an output format.
type recordWriter interface {
	// write renders rec (and consumes its value when it is a key).
	write(r *rdb.Reader, rec *rdb.Record) error
	Flush() error
}

type jsonlOut struct{ *export.JSONWriter }

func (j jsonlOut) write(r *rdb.Reader, rec *rdb.Record) error {
	switch rec.Kind {
	case rdb.KindKey:
		return j.WriteKey(r, rec)
	case rdb.KindSlotInfo:
		return j.WriteSlotInfo(rec)
	}
	return nil
}

type respOut struct{ *export.RESPWriter }

func (w respOut) write(r *rdb.Reader, rec *rdb.Record) error { return w.WriteRecord(r, rec) }

func newDumpCommand() *cobra.Command {
	var rf readerFlags
	var ff filterFlags
	var format string
	var replace, includeExpired, noFieldTTLs bool
	var jobs int
	var output outputFlags
	cmd := &cobra.Command{
		Use:   "dump FILE...",
		Short: "Print every key in file order: JSON Lines (the corpus schema) or RESP commands for redis-cli --pipe",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandInputs(cmd, args)
			if err != nil {
				return err
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			var w recordWriter
			switch format {
			case "jsonl":
				w = jsonlOut{export.NewJSONWriter(out)}
			case "resp":
				o := export.DefaultRESPOptions()
				o.Replace, o.IncludeExpired = replace, includeExpired
				o.FieldTTLs = !noFieldTTLs
				w = respOut{export.NewRESPWriter(out, o)}
			default:
				return &exitError{2, fmt.Errorf("unknown --format %q (jsonl or resp)", format)}
			}
			if jobs < 0 {
				return &exitError{2, fmt.Errorf("--jobs must be 0 (number of CPUs) or more, not %d", jobs)}
			}
			filter, err := ff.filter()
			if err != nil {
				return err
			}
			if err := findBigKeys(cmd.Context(), &rf, filter, args); err != nil {
				return err
			}
			for _, name := range args {
				if err := dumpFile(cmd, &rf, name, w, jobs, filter); err != nil {
					w.Flush()
					out.Flush()
					return &exitError{2, err}
				}
			}
			if err := w.Flush(); err != nil {
				return err
			}
			return out.Flush()
		},
	}
	rf.register(cmd)
	ff.register(cmd, minBytesByPrepass)
	formatFlag(cmd, &format, "output format: jsonl, or resp (commands for redis-cli --pipe)", "jsonl", "resp")
	output.register(cmd, true)
	cmd.Flags().BoolVar(&replace, "resp-replace", false, "resp: DEL each key before writing it, so replaying twice does not append")
	cmd.Flags().BoolVar(&includeExpired, "include-expired", false, "resp: also write keys already expired (they are deleted on arrival)")
	cmd.Flags().BoolVar(&noFieldTTLs, "no-field-ttls", false, "resp: leave out hash field TTLs (for servers before 7.4)")
	cmd.Flags().IntVar(&jobs, "jobs", 0, "jsonl: goroutines rendering keys beside the one reading the file (default: number of CPUs; 1 reads on one goroutine); the output is the same")
	return cmd
}

func dumpFile(cmd *cobra.Command, rf *readerFlags, name string, w recordWriter, jobs int, kf *rewrite.KeyFilter) error {
	src, r, err := rf.open(cmd.Context(), name)
	if err != nil {
		return err
	}
	defer src.Close()
	if j, ok := w.(jsonlOut); ok && resolveJobs(jobs) > 1 {
		var keep func(*rdb.Record) bool
		if kf.Filtering() {
			keep = kf.Keep
		}
		return j.WriteRecordsFiltered(cmd.Context(), r, jobs, keep)
	}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Kind == rdb.KindKey && !kf.Keep(rec) {
			continue
		}
		if err := w.write(r, rec); err != nil {
			return err
		}
	}
}
