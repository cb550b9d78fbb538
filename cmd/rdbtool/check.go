package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
)

// checkFile decodes every record and element of a file and verifies its
// checksum. It returns the number of keys and the first problem.
func checkFile(cmd *cobra.Command, rf *readerFlags, name string) (keys int64, r *rdb.Reader, err error) {
	src, r, err := rf.open(cmd.Context(), name)
	if err != nil {
		return 0, nil, err
	}
	defer src.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return keys, r, nil
		}
		if err != nil {
			return keys, r, err
		}
		if rec.Kind != rdb.KindKey {
			continue
		}
		keys++
		if err := rdb.DecodeValue(r); err != nil {
			return keys, r, err
		}
	}
}

func newCheckCommand() *cobra.Command {
	var rf readerFlags
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Decode every record and element and verify the checksum (exit 0 clean, 1 damaged, 2 unreadable)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			worst := 0
			out := cmd.OutOrStdout()
			for _, name := range args {
				keys, r, err := checkFile(cmd, &rf, name)
				var rerr *rdb.Error
				switch {
				case err == nil:
					st, _ := r.Checksum()
					fmt.Fprintf(out, "%s: ok, %d keys, %s RDB %d, checksum %s\n", name, keys, r.Dialect(), r.Version(), st)
				case errors.As(err, &rerr):
					fmt.Fprintf(out, "%s: DAMAGED after %d keys: %v\n", name, keys-1, err)
					worst = max(worst, 1)
				default:
					fmt.Fprintf(out, "%s: unreadable: %v\n", name, err)
					worst = 2
				}
			}
			if worst != 0 {
				return &exitError{code: worst}
			}
			return nil
		},
	}
	rf.register(cmd)
	return cmd
}
