package s3src

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// ExpandLocal is Expand for local shard sets, as "rdbtool snapshot
// --cluster" writes them: a directory stands for the snapshots directly
// in it, and a pattern the shell did not expand ("dir/NAME-*.rdb", quoted)
// for the files it matches, both in shard order. Anything else, such as a
// file or "-", is returned as is. A directory or pattern that matches no
// snapshot is an error.
func ExpandLocal(arg string) ([]string, error) {
	if arg == "-" {
		return []string{arg}, nil
	}
	fi, err := os.Stat(arg)
	switch {
	case err == nil && fi.IsDir():
		ents, err := os.ReadDir(arg)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, e := range ents {
			if e.Type().IsRegular() && LooksLikeSnapshot(e.Name()) {
				out = append(out, filepath.Join(arg, e.Name()))
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no snapshots (*.rdb, *.rdb.gz, *.rdb.zst, *.rdb.lz4) in this directory", arg)
		}
		sort.SliceStable(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
		return out, nil
	case err == nil, !hasMeta(arg):
		return []string{arg}, nil // a file, or missing: opening it says so
	}
	out, err := filepath.Glob(arg)
	if err != nil {
		return nil, fmt.Errorf("%s: bad pattern: %v", arg, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no files match", arg)
	}
	sort.SliceStable(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	return out, nil
}
