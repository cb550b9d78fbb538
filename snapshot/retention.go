package snapshot

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Policy says which snapshots prune keeps, in the manner of restic's
// forget: the Last most recent, and the most recent of each of the last
// Daily days, Weekly ISO weeks and Monthly months that have snapshots. A
// snapshot kept for one rule also counts for the others. Days, weeks and
// months are those of Location (UTC when nil).
type Policy struct {
	Last, Daily, Weekly, Monthly int
	Location                     *time.Location
}

// Empty reports whether the policy keeps nothing: prune refuses it.
func (p Policy) Empty() bool { return p.Last <= 0 && p.Daily <= 0 && p.Weekly <= 0 && p.Monthly <= 0 }

func (p Policy) String() string {
	var parts []string
	for _, r := range []struct {
		n    int
		what string
	}{{p.Last, "last"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", r.n, r.what))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, ", ")
}

// Dated is anything with a time: a snapshot, or a shard set as one unit.
type Dated interface{ SnapshotTime() time.Time }

// Decision is Apply's verdict on one item.
type Decision[T Dated] struct {
	Item    T
	Keep    bool
	Reasons []string // the rules that keep it ("last", "daily 2026-12-05", ...)
}

// Apply decides, for each item, whether the policy keeps it. The result
// is ordered newest first. It is a pure function of the items' times and
// the policy; an empty policy keeps everything (callers refuse it first).
func Apply[T Dated](items []T, p Policy) []Decision[T] {
	loc := p.Location
	if loc == nil {
		loc = time.UTC
	}
	sorted := append([]T(nil), items...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].SnapshotTime().After(sorted[j].SnapshotTime()) })
	type bucket struct {
		name  string
		left  int
		key   func(t time.Time, i int) string
		last  string
		label bool
	}
	buckets := []*bucket{
		{name: "last", left: p.Last, key: func(_ time.Time, i int) string { return fmt.Sprint(i) }},
		{name: "daily", left: p.Daily, key: func(t time.Time, _ int) string { return t.Format("2006-01-02") }, label: true},
		{name: "weekly", left: p.Weekly, key: func(t time.Time, _ int) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}, label: true},
		{name: "monthly", left: p.Monthly, key: func(t time.Time, _ int) string { return t.Format("2006-01") }, label: true},
	}
	out := make([]Decision[T], len(sorted))
	for i, it := range sorted {
		d := Decision[T]{Item: it, Keep: p.Empty()}
		t := it.SnapshotTime().In(loc)
		for _, b := range buckets {
			if b.left <= 0 {
				continue
			}
			k := b.key(t, i)
			if k == b.last {
				continue // a newer snapshot already stands for this period
			}
			b.last = k
			b.left--
			d.Keep = true
			if b.label {
				d.Reasons = append(d.Reasons, b.name+" "+k)
			} else {
				d.Reasons = append(d.Reasons, b.name)
			}
		}
		out[i] = d
	}
	return out
}
