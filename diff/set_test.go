package diff_test

import (
	"context"
	"testing"

	"github.com/rdbtool/rdbtool/diff"
)

// TestSetInput: a set's keys are its parts' keys, in whatever order the
// parts come; its time is the latest of theirs.
func TestSetInput(t *testing.T) {
	main := "../testdata/corpus/redis-7.0.15/main.rdb"
	lfu := "../testdata/corpus/redis-7.0.15/lfu.rdb" // no key in common with main.rdb
	ctx := context.Background()
	compare := func(a, b diff.Input) diff.Summary {
		t.Helper()
		res, err := diff.Compare(ctx, a, b, diff.Options{SummaryOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Close()
		return res.Summary
	}
	s := compare(diff.SetInput("main+lfu", diff.FileInput(main), diff.FileInput(lfu)), diff.SetInput("lfu+main", diff.FileInput(lfu), diff.FileInput(main)))
	if !s.Same || s.A.Keys != s.B.Keys || s.A.Keys == 0 {
		t.Errorf("the same set in another order: %+v", s)
	}
	alone := compare(diff.FileInput(main), diff.FileInput(lfu))
	if want := max(alone.A.Time, alone.B.Time); s.A.Time != want || s.B.Time != want {
		t.Errorf("set times %d, %d; want the later part's, %d", s.A.Time, s.B.Time, want)
	}
	s = compare(diff.SetInput("main+lfu", diff.FileInput(main), diff.FileInput(lfu)), diff.FileInput(main))
	if s.Counts.Removed == 0 || s.Counts.Added != 0 || s.Counts.ValueChanged != 0 || s.Counts.TypeChanged != 0 {
		t.Errorf("the set against one part: %+v, want only lfu.rdb's keys removed", s.Counts)
	}
	if s.Counts.Removed != s.A.Keys-s.B.Keys {
		t.Errorf("%d keys removed, want %d (set %d keys, main %d)", s.Counts.Removed, s.A.Keys-s.B.Keys, s.A.Keys, s.B.Keys)
	}
}
