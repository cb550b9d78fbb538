package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// splitMaxOpen bounds the output files written in one pass over the input;
// more slot ranges take more passes (the input is opened again).
const splitMaxOpen = 64

func newSplitCommand() *cobra.Command {
	var rf readerFlags
	var wf writeFlags
	var kf keyFilter
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
			if perFile < 1 || perFile > 16384 {
				return &exitError{2, fmt.Errorf("--slots-per-file must be 1 to 16384")}
			}
			if prefix == "" {
				return &exitError{2, fmt.Errorf("--out-prefix is required")}
			}
			if err := kf.compile(); err != nil {
				return &exitError{2, err}
			}
			dup, err := rewrite.ParseOnDuplicate(onDup)
			if err != nil {
				return &exitError{2, err}
			}
			var ranges [][2]int
			for lo := 0; lo < 16384; lo += perFile {
				ranges = append(ranges, [2]int{lo, min(lo+perFile-1, 16383)})
			}
			for i := 0; i < len(ranges); i += splitMaxOpen {
				if i > 0 && args[0] == "-" {
					return &exitError{2, fmt.Errorf("%d ranges need several passes over the input: give a file, not stdin", len(ranges))}
				}
				if err := splitPass(cmd, &rf, &wf, &kf, dup, args[0], prefix, ranges[i:min(i+splitMaxOpen, len(ranges))], quiet); err != nil {
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
	cmd.Flags().IntSliceVar(&kf.dbs, "db", nil, "keep only these databases (repeatable); their keys go to database 0")
	cmd.Flags().StringSliceVar(&kf.mapDB, "map-db", nil, "write database FROM as TO (FROM:TO, repeatable; TO must be 0)")
	cmd.Flags().StringVar(&onDup, "on-duplicate", "fail", "a key name met twice in database 0: fail, keep-first or keep-last")
	return cmd
}

type splitOut struct {
	lo, hi int
	out    *outputFile
	w      *rdb.Writer
	c      *converter
	name   string
}

// splitDB is the database of the output a key record goes to: 0, or an
// error when the record's database is neither chosen (--db) nor mapped
// to 0 (--map-db).
func splitDB(kf *keyFilter, rec *rdb.Record) error {
	db := kf.db(rec.DB)
	if db == 0 {
		return nil
	}
	if len(kf.dbMap) == 0 && kf.dbSet == nil {
		return fmt.Errorf("the input has keys in database %d (e.g. %q): a cluster node has only database 0; choose with --db N (keep one database) or --map-db %d:0 (merge it into database 0)", rec.DB, rec.Key, rec.DB)
	}
	return fmt.Errorf("key %q of database %d: a cluster node has only database 0 and --db/--map-db do not send database %d there (add --map-db %d:0, or leave it out with --db)", rec.Key, rec.DB, rec.DB, rec.DB)
}

func splitPass(cmd *cobra.Command, rf *readerFlags, wf *writeFlags, kf *keyFilter, onDup rewrite.OnDuplicate, in, prefix string, ranges [][2]int, quiet bool) error {
	place := func(rec *rdb.Record) (int, bool) {
		return 0, kf.keep(rec) && kf.db(rec.DB) == 0 && !(wf.skipModules && rec.Type == rdb.TypeModule)
	}
	repeats, err := findRepeats(cmd, rf, in, place, convertMode{onDup: onDup})
	if err != nil {
		return err
	}
	src, r, rec, opts, err := openForRewrite(cmd, rf, wf, in)
	if err != nil {
		return err
	}
	defer src.Close()
	// Small per-collection spools: many writers are open at once.
	opts.SpoolMemory = 4 << 20
	// --on-duplicate's pass found every repeat exactly; otherwise each
	// file's writer looks for them, in 1 MiB of memory each (up to 64 are
	// open; past it the digests go to disk).
	opts.AllowDuplicateKeys = repeats != nil
	opts.KeyDigestMemory = 1 << 20
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
		// The command's --db and --map-db, and this file's slots.
		okf := &keyFilter{slotLo: rg[0], slotHi: rg[1], hasSlots: true, dbSet: kf.dbSet, dbMap: kf.dbMap, merges: kf.merges}
		so.c = newConverter(so.w, okf, wf.skipModules)
		so.c.repeats, so.c.onDup = repeats, onDup
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
			if !kf.keep(rec) {
				break
			}
			if err = splitDB(kf, rec); err != nil {
				abort()
				return err
			}
			slot := rdb.KeySlot(rec.Key)
			i := 0
			if perRange := ranges[0][1] - ranges[0][0] + 1; perRange > 0 {
				i = (slot - lo) / perRange
			}
			if slot >= lo && i < len(outs) && slot <= outs[i].hi {
				err = outs[i].c.record(r, rec)
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
			if errors.Is(err, rdb.ErrUnsupported) {
				// List everything else the target cannot hold too.
				var found rewrite.Findings
				found.Add(rewrite.Classify(rec, opts), rec.DB, keyOf(rec))
				if err := checkRest(r, opts, kf, wf.skipModules, &found); err != nil {
					return err
				}
				return found.Err()
			}
			if rec.Kind == rdb.KindKey {
				return fmt.Errorf("key %q: %w", rec.Key, err)
			}
			return err
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
			if errors.Is(err, rdb.ErrDuplicateKey) {
				return fmt.Errorf("%s: %w; --on-duplicate keep-first or keep-last keeps one", so.name, err)
			}
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
