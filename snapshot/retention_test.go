package snapshot

import (
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"
)

type dated struct {
	id int
	t  time.Time
}

func (d dated) SnapshotTime() time.Time { return d.t }

// retentionSet: made-up snapshot times. 2026-11-30 is a Monday, so 1-5 are
// in ISO week 2026-W49 and 6 in W48.
var retentionSet = []dated{
	{4, time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)},
	{1, time.Date(2026, 12, 5, 18, 0, 0, 0, time.UTC)},
	{2, time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)},
	{3, time.Date(2026, 12, 4, 18, 0, 0, 0, time.UTC)},
	{5, time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)},
	{6, time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)},
	{7, time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)},
	{8, time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC)},
	{9, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)},
	{10, time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)},
}

func TestRetentionPolicies(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		keep []int
	}{
		{Policy{Last: 3}, []int{1, 2, 3}},
		{Policy{Daily: 3}, []int{1, 3, 4}},
		{Policy{Weekly: 2}, []int{1, 6}},
		{Policy{Monthly: 3}, []int{1, 5, 8}},
		{Policy{Last: 1, Daily: 2, Weekly: 3, Monthly: 4}, []int{1, 3, 5, 6, 7, 8, 10}},
		{Policy{Daily: 100}, []int{1, 3, 4, 5, 6, 7, 8, 9, 10}},
		{Policy{Last: 100}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		{Policy{}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
		// In UTC-10 the 06:00 snapshot of 12-05 falls on 12-04, 20:00.
		{Policy{Daily: 2, Location: time.FixedZone("UTC-10", -10*3600)}, []int{1, 2}},
	} {
		t.Run(tc.p.String()+"/"+strconv.Itoa(len(tc.keep)), func(t *testing.T) {
			ds := Apply(retentionSet, tc.p)
			var keep []int
			prev := time.Time{}
			for i, d := range ds {
				if i > 0 && d.Item.t.After(prev) {
					t.Errorf("decisions not newest first at %d", i)
				}
				prev = d.Item.t
				if d.Keep {
					keep = append(keep, d.Item.id)
					if len(d.Reasons) == 0 && !tc.p.Empty() {
						t.Errorf("snapshot %d kept without a reason", d.Item.id)
					}
				}
			}
			sort.Ints(keep)
			if !reflect.DeepEqual(keep, tc.keep) {
				t.Errorf("kept %v, want %v", keep, tc.keep)
			}
		})
	}
}

func TestRetentionReasons(t *testing.T) {
	ds := Apply(retentionSet, Policy{Last: 1, Daily: 1, Weekly: 1, Monthly: 2})
	want := []string{"last", "daily 2026-12-05", "weekly 2026-W49", "monthly 2026-12"}
	if !reflect.DeepEqual(ds[0].Reasons, want) {
		t.Errorf("reasons of the newest %v, want %v", ds[0].Reasons, want)
	}
	for _, d := range ds[1:] {
		if d.Keep != (d.Item.id == 5) {
			t.Errorf("snapshot %d keep=%v", d.Item.id, d.Keep)
		}
	}
}

func TestExpandTime(t *testing.T) {
	at := time.Date(2026, 3, 7, 4, 5, 6, 0, time.UTC)
	got, err := ExpandTime("s3://b/prod/%Y-%m-%dT%H%M%S/%y.%j.%s%%", at)
	if err != nil || got != "s3://b/prod/2026-03-07T040506/26.066.1772856306%" {
		t.Errorf("got %q, %v", got, err)
	}
	for _, bad := range []string{"a%", "a%Q"} {
		if _, err := ExpandTime(bad, at); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestClusterNamesAndNodes(t *testing.T) {
	files, man := ClusterNames("s3://b/prod/2026/", 2)
	if !reflect.DeepEqual(files, []string{"s3://b/prod/2026/snapshot-0001.rdb", "s3://b/prod/2026/snapshot-0002.rdb"}) || man != "s3://b/prod/2026/snapshot.manifest.json" {
		t.Errorf("%v %v", files, man)
	}
	files, man = ClusterNames("/bk/nightly.rdb", 1)
	if files[0] != "/bk/nightly-0001.rdb" || man != "/bk/nightly.manifest.json" {
		t.Errorf("%v %v", files, man)
	}
	text := "aaa 127.0.0.1:7001@17001 master - 0 0 1 connected 0-8000 [8001->-bbb]\n" +
		"bbb :7002@17002 myself,master - 0 0 2 connected 8001-16383\n" +
		"ccc 127.0.0.1:7003@17003 slave aaa 0 0 1 connected\n" +
		"ddd 127.0.0.1:7004@17004 slave,fail bbb 0 0 2 disconnected\n"
	nodes, err := parseNodes(text, "10.0.0.9")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := pickTargets(nodes, false)
	if err != nil || len(ts) != 2 || ts[0].n.id != "aaa" || ts[1].n.addr != "10.0.0.9:7002" || !reflect.DeepEqual(ts[0].slots, [][2]int{{0, 8000}}) {
		t.Errorf("masters: %+v %v", ts, err)
	}
	if _, err := pickTargets(nodes, true); err == nil {
		t.Errorf("from replicas with a failed replica: no error")
	}
	nodes[3].flags = map[string]bool{"slave": true}
	nodes[3].connected = true
	ts, err = pickTargets(nodes, true)
	if err != nil || ts[0].n.id != "ccc" || ts[1].n.id != "ddd" || ts[1].role != "replica" {
		t.Errorf("replicas: %+v %v", ts, err)
	}
	if _, err := pickTargets(nodes[1:], false); err == nil {
		t.Errorf("slots 0-8000 unserved: no error")
	}
}
