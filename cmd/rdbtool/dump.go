package main

import (
	"bufio"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/export"
	"github.com/rdbtool/rdbtool/rdb"
)

func newDumpCommand() *cobra.Command {
	var rf readerFlags
	var format string
	cmd := &cobra.Command{
		Use:   "dump FILE...",
		Short: "Print every key as one JSON object per line (the corpus schema), in file order",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			args, err := expandInputs(cmd, args)
			if err != nil {
				return err
			}
			if format != "jsonl" {
				return &exitError{2, fmt.Errorf("unknown --format %q (jsonl)", format)}
			}
			out := bufio.NewWriterSize(cmd.OutOrStdout(), 256<<10)
			jw := export.NewJSONWriter(out)
			for _, name := range args {
				if err := dumpFile(cmd, &rf, name, jw); err != nil {
					jw.Flush()
					out.Flush()
					return &exitError{2, err}
				}
			}
			if err := jw.Flush(); err != nil {
				return err
			}
			return out.Flush()
		},
	}
	rf.register(cmd)
	cmd.Flags().StringVar(&format, "format", "jsonl", "output format: jsonl")
	return cmd
}

func dumpFile(cmd *cobra.Command, rf *readerFlags, name string, jw *export.JSONWriter) error {
	src, r, err := rf.open(cmd.Context(), name)
	if err != nil {
		return err
	}
	defer src.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Kind == rdb.KindKey {
			if err := jw.WriteKey(r, rec); err != nil {
				return err
			}
		}
	}
}
