package s3src

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Object is one listed object.
type Object struct {
	URL          string
	Bucket, Key  string
	Size         int64
	LastModified time.Time
	ETag         string
}

// List returns the objects whose keys start with the key of prefixURL
// (s3://bucket/prefix), in natural order (shard 2 before shard 10).
// recursive false stops at the next "/" after the prefix, like a
// directory listing without its subdirectories.
func (s *Store) List(ctx context.Context, prefixURL string, recursive bool) ([]Object, error) {
	u, err := ParseURL(prefixURL)
	if err != nil {
		return nil, err
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Key)}
	if !recursive {
		in.Delimiter = aws.String("/")
	}
	var objs []Object
	p := s3.NewListObjectsV2Paginator(s.cli, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.classify("ListObjectsV2", prefixURL, err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if strings.HasSuffix(key, "/") {
				continue // a "directory" marker
			}
			objs = append(objs, Object{
				URL: URL{u.Bucket, key}.String(), Bucket: u.Bucket, Key: key,
				Size: aws.ToInt64(o.Size), LastModified: aws.ToTime(o.LastModified), ETag: aws.ToString(o.ETag),
			})
		}
	}
	sort.SliceStable(objs, func(i, j int) bool { return naturalLess(objs[i].Key, objs[j].Key) })
	return objs, nil
}

// snapshotName matches the names Expand picks from a prefix: *.rdb, and
// *.rdb.gz, *.rdb.zst, *.rdb.lz4 (the content decides the decompression,
// the name only the selection).
var snapshotName = regexp.MustCompile(`(?i)\.rdb(\.(gz|gzip|zst|zstd|lz4))?$`)

// LooksLikeSnapshot reports whether an object's key names an RDB snapshot.
func LooksLikeSnapshot(key string) bool { return snapshotName.MatchString(key) }

// hasMeta reports whether a key contains glob characters.
func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// Expand turns an s3:// pattern into object URLs in shard order:
//
//   - s3://bucket/prefix/NAME-*.rdb: the objects matching the glob
//     (path.Match syntax; "*" does not cross "/");
//   - s3://bucket/prefix/ (ending in "/"): the snapshots directly under it;
//   - s3://bucket/prefix/NAME (no such object, no extension): the
//     snapshots whose names start with it, such as NAME-0001.rdb;
//   - anything else names one object and is returned as is.
//
// A pattern or prefix that matches nothing is an error.
func Expand(ctx context.Context, pattern string) ([]string, error) {
	u, err := ParseURL(pattern)
	if err != nil {
		return nil, err
	}
	if !hasMeta(u.Key) && u.Key != "" && !strings.HasSuffix(u.Key, "/") && LooksLikeSnapshot(u.Key) {
		return []string{pattern}, nil // one object: no listing needed
	}
	s, err := Default(ctx)
	if err != nil {
		return nil, err
	}
	return s.Expand(ctx, pattern)
}

// Expand is the package-level Expand on this Store.
func (s *Store) Expand(ctx context.Context, pattern string) ([]string, error) {
	u, err := ParseURL(pattern)
	if err != nil {
		return nil, err
	}
	var out []string
	switch {
	case hasMeta(u.Key):
		if _, err := path.Match(u.Key, ""); err != nil {
			return nil, fmt.Errorf("%s: bad pattern: %v", pattern, err)
		}
		i := strings.IndexAny(u.Key, "*?[")
		objs, err := s.List(ctx, URL{u.Bucket, u.Key[:i]}.String(), strings.Contains(u.Key[i:], "/"))
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if ok, _ := path.Match(u.Key, o.Key); ok {
				out = append(out, o.URL)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no objects match", pattern)
		}
	case u.Key == "" || strings.HasSuffix(u.Key, "/"):
		objs, err := s.List(ctx, pattern, false)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if LooksLikeSnapshot(o.Key) {
				out = append(out, o.URL)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no snapshots (*.rdb, *.rdb.gz, *.rdb.zst, *.rdb.lz4) under this prefix", pattern)
		}
	default:
		if LooksLikeSnapshot(u.Key) {
			return []string{pattern}, nil
		}
		objs, err := s.List(ctx, pattern, false)
		if err != nil {
			// Listing may be denied where reading is allowed: let
			// the read say what is wrong with the object itself.
			return []string{pattern}, nil
		}
		for _, o := range objs {
			if o.Key == u.Key {
				return []string{pattern}, nil
			}
			if LooksLikeSnapshot(o.Key) {
				out = append(out, o.URL)
			}
		}
		if len(out) == 0 {
			return []string{pattern}, nil // not found: Open says so
		}
	}
	return out, nil
}

// ExpandArgs expands every s3:// argument with Expand and every local
// directory or quoted glob with ExpandLocal, and keeps the others (local
// files, "-") as they are, preserving the order.
func ExpandArgs(ctx context.Context, args []string) ([]string, error) {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if !IsURL(a) {
			names, err := ExpandLocal(a)
			if err != nil {
				return nil, err
			}
			out = append(out, names...)
			continue
		}
		urls, err := Expand(ctx, a)
		if err != nil {
			return nil, err
		}
		out = append(out, urls...)
	}
	return out, nil
}

// ShardSet is a group of objects that an ElastiCache export wrote for one
// backup: NAME-0001.rdb, NAME-0002.rdb, ... in shard order.
type ShardSet struct {
	// Pattern matches the set's members, e.g. s3://b/prefix/NAME-*.rdb;
	// for an object outside any set, its own URL.
	Pattern string
	Objects []Object
}

var shardName = regexp.MustCompile(`^(.*)-(\d+)(\.rdb(?:\.[A-Za-z0-9]+)?)$`)

// ShardNumber returns the shard number in the name of a shard set's
// member, as written (".../NAME-0003.rdb" or "NAME-0003.rdb.gz": "0003"),
// or "" for a name outside the shard-set naming. name may be a local
// path or an s3:// URL.
func ShardNumber(name string) string {
	if m := shardName.FindStringSubmatch(path.Base(name)); m != nil {
		return m[2]
	}
	return ""
}

// GroupShards groups objects into shard sets, keeping first-seen order of
// the sets and natural order within each.
func GroupShards(objs []Object) []ShardSet {
	var sets []ShardSet
	index := map[string]int{}
	for _, o := range objs {
		pattern := o.URL
		if m := shardName.FindStringSubmatch(o.Key); m != nil {
			pattern = URL{o.Bucket, m[1] + "-*" + m[3]}.String()
		}
		i, ok := index[pattern]
		if !ok {
			i = len(sets)
			index[pattern] = i
			sets = append(sets, ShardSet{Pattern: pattern})
		}
		sets[i].Objects = append(sets[i].Objects, o)
	}
	for i := range sets {
		objs := sets[i].Objects
		sort.SliceStable(objs, func(a, b int) bool { return naturalLess(objs[a].Key, objs[b].Key) })
		if len(objs) == 1 {
			sets[i].Pattern = objs[0].URL
		}
	}
	return sets
}

// naturalLess orders strings with embedded numbers by value: a-2 < a-10.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := digits(a)
			nb, rb := digits(b)
			ta, tb := strings.TrimLeft(na, "0"), strings.TrimLeft(nb, "0")
			if len(ta) != len(tb) {
				return len(ta) < len(tb)
			}
			if ta != tb {
				return ta < tb
			}
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(s string) (string, string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
