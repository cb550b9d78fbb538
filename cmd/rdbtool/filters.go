package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// filterFlags are the key filters of every command that reads keys:
// --db, --match, --regex, --type and, where the command can size keys,
// --min-bytes. One implementation: rewrite.KeyFilter.
type filterFlags struct {
	dbs      []string
	match    string
	regex    string
	types    []string
	minBytes string
}

// minBytesByEstimate is --min-bytes's help on commands that estimate
// every key anyway (analyze, memory, keys).
const minBytesByEstimate = "only keys whose estimated memory (as memory reports it) is at least this (e.g. 10K, 1M)"

// minBytesByPrepass is --min-bytes's help on commands that stream values
// without estimating them: the estimate is made in a pass before.
const minBytesByPrepass = "only keys whose estimated memory (as memory reports it) is at least this (e.g. 10K, 1M); the input is read once more before, to estimate, so it cannot be stdin"

// register adds the filter flags to cmd; --min-bytes only when
// minBytesHelp says what it means there.
func (f *filterFlags) register(cmd *cobra.Command, minBytesHelp string) {
	fl := cmd.Flags()
	fl.StringSliceVar(&f.dbs, "db", nil, "only these databases (--db 0,3 or repeated)")
	fl.StringVar(&f.match, "match", "", "only keys matching this glob (Redis KEYS syntax: *, ?, [a-z], \\ escapes)")
	fl.StringVar(&f.regex, "regex", "", "only keys matching this regular expression (RE2 syntax)")
	fl.StringSliceVar(&f.types, "type", nil, "only these types: "+strings.Join(rewrite.TypeNames, ", ")+" (--type hash,zset or repeated)")
	if minBytesHelp != "" {
		fl.StringVar(&f.minBytes, "min-bytes", "", minBytesHelp)
	}
}

// filter parses the flags; an invalid value is an exit-2 error naming
// the valid choices.
func (f *filterFlags) filter() (*rewrite.KeyFilter, error) {
	var kf rewrite.KeyFilter
	var err error
	bad := func(err error) error { return &exitError{2, err} }
	if kf.DBs, err = rewrite.ParseDBs(f.dbs); err != nil {
		return nil, bad(err)
	}
	if kf.Types, err = rewrite.ParseTypes(f.types); err != nil {
		return nil, bad(err)
	}
	if kf.Regex, err = rewrite.ParseRegex(f.regex); err != nil {
		return nil, bad(err)
	}
	kf.Match = f.match
	if f.minBytes != "" {
		n, err := parseSize(f.minBytes)
		if err != nil {
			return nil, bad(fmt.Errorf("--min-bytes: %w", err))
		}
		kf.MinBytes = uint64(n)
	}
	return &kf, nil
}

// findBigKeys runs --min-bytes's estimating pass over the inputs of a
// command that does not estimate sizes, so that kf.Keep answers for size
// too.
func findBigKeys(ctx context.Context, rf *readerFlags, kf *rewrite.KeyFilter, names []string) error {
	if !kf.NeedsSizes() {
		return nil
	}
	for _, n := range names {
		if n == "-" {
			return &exitError{2, errors.New("--min-bytes reads the input twice (to estimate sizes, then for the command): give a file, not stdin")}
		}
	}
	return rewrite.FindBigKeys(ctx, kf, len(names), func(i int) (*rdb.Reader, io.Closer, error) {
		src, r, err := rf.open(ctx, names[i])
		return r, src, err
	}, analyze.Options{})
}

// rewriteFlags are the key selection of the commands that write keys
// elsewhere (convert, split, restore): the shared filters, --map-db and,
// where offered, --drop-expired and --slots.
type rewriteFlags struct {
	filterFlags
	mapDB       []string
	dropExpired bool
	slots       string
}

// register adds the filters and --map-db; --drop-expired and --slots
// when withSelection (convert).
func (f *rewriteFlags) register(cmd *cobra.Command, withSelection bool) {
	f.filterFlags.register(cmd, minBytesByPrepass)
	fl := cmd.Flags()
	fl.StringSliceVar(&f.mapDB, "map-db", nil, "write database FROM as TO (FROM:TO, repeatable)")
	if withSelection {
		fl.BoolVar(&f.dropExpired, "drop-expired", false, "leave out keys whose expiry has passed")
		fl.StringVar(&f.slots, "slots", "", "only keys whose cluster slot is in A-B (or a single slot)")
	}
}

// compile parses the flags (exit 2 on an invalid value).
func (f *rewriteFlags) compile() (*rewrite.KeyFilter, rewrite.DBMap, error) {
	kf, err := f.filter()
	if err != nil {
		return nil, nil, err
	}
	m, err := rewrite.ParseDBMap(f.mapDB)
	if err != nil {
		return nil, nil, &exitError{2, err}
	}
	if f.dropExpired {
		kf.ExpiredAt = time.Now().UnixMilli()
	}
	if f.slots != "" {
		if kf.Slots, err = rewrite.ParseSlots(f.slots); err != nil {
			return nil, nil, &exitError{2, err}
		}
	}
	return kf, m, nil
}

// estimateWith applies kf to a command that estimates every key
// (analyze, memory, keys --min-bytes): the model leaves out the keys kf
// does not keep before measuring them, and those estimated below
// --min-bytes after.
func estimateWith(opts *analyze.Options, kf *rewrite.KeyFilter) {
	if kf.Filtering() {
		opts.Filter, opts.MinBytes = kf.Keep, kf.MinBytes
	}
}
