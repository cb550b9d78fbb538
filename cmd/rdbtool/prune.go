package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/snapshot"
)

// pruneEntry is one snapshot (or shard set) in prune's output.
type pruneEntry struct {
	Name    string    `json:"name"`
	Time    time.Time `json:"time"`
	Files   []string  `json:"files"`
	Bytes   int64     `json:"bytes"`
	Keep    bool      `json:"keep"`
	Reasons []string  `json:"reasons,omitempty"`
}

func newPruneCommand() *cobra.Command {
	var (
		p      snapshot.Policy
		apply  bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "prune LOCATION --keep-last N --keep-daily D --keep-weekly W --keep-monthly M [--apply]",
		Short: "Delete old snapshots under a local directory or s3:// prefix by a retention policy",
		Long: `Prune applies a retention policy to the snapshots under LOCATION (a local
directory or an s3://bucket/prefix/, searched recursively): it keeps the
--keep-last N most recent, and the most recent of each of the last
--keep-daily days, --keep-weekly ISO weeks and --keep-monthly months that
have snapshots (UTC); a snapshot kept by one rule counts for the others.
A shard set (NAME-0001.rdb, NAME-0002.rdb, ... and NAME.manifest.json) is
kept or deleted as one unit; a snapshot's time is its newest file's
modification time.

Point it at the location of one server's or cluster's snapshots: the
policy counts every snapshot under it. Without --apply prune only prints
what it would delete.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return &exitError{2, fmt.Errorf("unknown --format %q (text or json)", format)}
			}
			if p.Last < 0 || p.Daily < 0 || p.Weekly < 0 || p.Monthly < 0 {
				return &exitError{2, errors.New("--keep-* counts cannot be negative")}
			}
			if p.Empty() {
				return &exitError{2, errors.New("no policy given: set at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly (nothing is deleted without one)")}
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			units, err := snapshot.ListUnits(ctx, args[0])
			if err != nil {
				return &exitError{2, err}
			}
			decisions := snapshot.Apply(units, p)
			var entries []pruneEntry
			var removeN, removeFiles int
			var removeBytes int64
			for _, d := range decisions {
				entries = append(entries, pruneEntry{Name: d.Item.Name, Time: d.Item.Time.UTC(), Files: d.Item.Files,
					Bytes: d.Item.Bytes, Keep: d.Keep, Reasons: d.Reasons})
				if !d.Keep {
					removeN++
					removeFiles += len(d.Item.Files)
					removeBytes += d.Item.Bytes
				}
			}
			w := cmd.OutOrStdout()
			if format == "text" {
				for _, e := range entries {
					verdict := "remove"
					if e.Keep {
						verdict = "keep  "
					}
					fmt.Fprintf(w, "%s  %s  %s  %d file(s), %d bytes", verdict, e.Time.Format(time.RFC3339), printable(e.Name), len(e.Files), e.Bytes)
					if len(e.Reasons) > 0 {
						fmt.Fprintf(w, "  (%s)", strings.Join(e.Reasons, ", "))
					}
					fmt.Fprintln(w)
				}
			}
			// Deleting happens after the listing is printed, so that what
			// was decided is on record even if a deletion fails.
			var failed error
			if apply {
				for _, d := range decisions {
					if d.Keep {
						continue
					}
					if err := snapshot.DeleteUnit(ctx, args[0], d.Item); err != nil {
						failed = fmt.Errorf("deleting %s: %w", printable(d.Item.Name), err)
						break
					}
				}
			}
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(struct {
					Policy  string       `json:"policy"`
					Applied bool         `json:"applied"`
					Entries []pruneEntry `json:"snapshots"`
				}{p.String(), apply && failed == nil, entries}); err != nil {
					return err
				}
			} else {
				switch {
				case removeN == 0:
					fmt.Fprintf(w, "policy keeps %s: all %d snapshot(s) kept\n", p, len(entries))
				case apply && failed == nil:
					fmt.Fprintf(w, "removed %d snapshot(s): %d file(s), %d bytes; %d kept\n", removeN, removeFiles, removeBytes, len(entries)-removeN)
				case !apply:
					fmt.Fprintf(w, "would remove %d snapshot(s): %d file(s), %d bytes; %d kept. Nothing deleted: run again with --apply to delete them\n",
						removeN, removeFiles, removeBytes, len(entries)-removeN)
				}
			}
			if failed != nil {
				return &exitError{2, failed}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&p.Last, "keep-last", 0, "keep the N most recent snapshots")
	fl.IntVar(&p.Daily, "keep-daily", 0, "keep the most recent snapshot of each of the last D days that have one")
	fl.IntVar(&p.Weekly, "keep-weekly", 0, "keep the most recent snapshot of each of the last W ISO weeks that have one")
	fl.IntVar(&p.Monthly, "keep-monthly", 0, "keep the most recent snapshot of each of the last M months that have one")
	fl.BoolVar(&apply, "apply", false, "delete; without it prune only prints what it would delete")
	formatFlag(cmd, &format, "text or json", "text", "json")
	return cmd
}
