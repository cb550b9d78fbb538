package snapshot

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rdbtool/rdbtool/s3src"
)

// Unit is what prune keeps or deletes as one: a lone snapshot, or a shard
// set (NAME-0001.rdb ... NAME-000n.rdb) with its manifest.
type Unit struct {
	Name  string   // the set's NAME, or the snapshot's name
	Files []string // paths or s3:// URLs, shards in order, manifest last
	Bytes int64
	Time  time.Time // the newest modification time of its files
}

// SnapshotTime makes a Unit Dated.
func (u Unit) SnapshotTime() time.Time { return u.Time }

// shardFile matches an ElastiCache-style shard name: NAME-0001.rdb.
var shardFile = regexp.MustCompile(`^(.+)-(\d{4})(\.rdb(?:\.(?:gz|gzip|zst|zstd|lz4))?)$`)

const manifestSuffix = ".manifest.json"

type listed struct {
	name string // path or URL
	size int64
	mod  time.Time
}

// ListUnits finds the snapshots under a local directory or an s3://
// prefix taken as a directory (recursively) and groups them into units. Files are grouped into
// a set only when their numbers run 0001, 0002, ... without a gap (so
// that names such as backup-1800.rdb and backup-0600.rdb, made from
// times, stay separate snapshots), or when a manifest names the set.
func ListUnits(ctx context.Context, location string) ([]Unit, error) {
	var files []listed
	if s3src.IsURL(location) {
		// A location is a directory: s3://b/prod must not take in
		// s3://b/prod-eu/... as well.
		if !strings.HasSuffix(location, "/") {
			location += "/"
		}
		st, err := s3src.Default(ctx)
		if err != nil {
			return nil, err
		}
		objs, err := st.List(ctx, location, true)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			files = append(files, listed{o.URL, o.Size, o.LastModified})
		}
	} else {
		fi, err := os.Stat(location)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("%s: not a directory", location)
		}
		err = filepath.WalkDir(location, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				info, err := d.Info()
				if err != nil {
					return err
				}
				files = append(files, listed{p, info.Size(), info.ModTime()})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return groupUnits(files), nil
}

func groupUnits(files []listed) []Unit {
	manifests := map[string]listed{}
	shards := map[string][]listed{}
	var lone []listed
	for _, f := range files {
		switch {
		case strings.HasSuffix(f.name, manifestSuffix):
			manifests[strings.TrimSuffix(f.name, manifestSuffix)] = f
		case shardFile.MatchString(f.name):
			m := shardFile.FindStringSubmatch(f.name)
			shards[m[1]] = append(shards[m[1]], f)
		case s3src.LooksLikeSnapshot(f.name):
			lone = append(lone, f)
		}
	}
	var units []Unit
	add := func(name string, fs []listed) {
		u := Unit{Name: name}
		for _, f := range fs {
			u.Files = append(u.Files, f.name)
			u.Bytes += f.size
			if f.mod.After(u.Time) {
				u.Time = f.mod
			}
		}
		units = append(units, u)
	}
	for base, fs := range shards {
		sort.Slice(fs, func(i, j int) bool { return fs[i].name < fs[j].name })
		m, hasManifest := manifests[base]
		contiguous := true
		for i, f := range fs {
			n, _ := strconv.Atoi(shardFile.FindStringSubmatch(f.name)[2])
			if n != i+1 {
				contiguous = false
			}
		}
		if !contiguous && !hasManifest {
			for _, f := range fs {
				add(f.name, []listed{f})
			}
			continue
		}
		if hasManifest {
			fs = append(fs, m)
			delete(manifests, base)
		}
		add(base, fs)
	}
	for _, f := range lone {
		add(f.name, []listed{f})
	}
	// A manifest whose shards are all gone is left alone: it is not a
	// snapshot, and deleting it is the user's call.
	sort.Slice(units, func(i, j int) bool { return units[i].Name < units[j].Name })
	return units
}

// DeleteUnit removes a unit's files; under a local root it also removes
// directories left empty (those a time pattern made), but not root.
func DeleteUnit(ctx context.Context, root string, u Unit) error {
	if s3src.IsURL(root) {
		st, err := s3src.Default(ctx)
		if err != nil {
			return err
		}
		return st.Delete(ctx, u.Files)
	}
	for _, f := range u.Files {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	rootAbs, _ := filepath.Abs(root)
	for _, f := range u.Files {
		for dir := filepath.Dir(f); ; dir = filepath.Dir(dir) {
			abs, _ := filepath.Abs(dir)
			if abs == rootAbs || !strings.HasPrefix(abs, rootAbs+string(filepath.Separator)) {
				break
			}
			if os.Remove(dir) != nil { // not empty: stop
				break
			}
		}
	}
	return nil
}
