package keydigest

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// occurrence is where a digest was added, in order.
type occurrence struct {
	d   uint64
	pos int64
}

// checkAll adds occs to a set with the given budget and compares every
// repeat reported (by Add and by Finish) with a map's answer.
func checkAll(t *testing.T, occs []occurrence, memLimit int64) *Set {
	t.Helper()
	return checkAllWith(t, occs, Options{MemLimit: memLimit})
}

// checkAllWith is checkAll with more options (TempDir is the test's).
func checkAllWith(t *testing.T, occs []occurrence, opts Options) *Set {
	t.Helper()
	dir := t.TempDir()
	opts.TempDir = dir
	memLimit := opts.MemLimit
	s := New(opts)
	want := map[int64]uint64{} // later occurrence's position -> digest
	firstSeen := map[uint64]int64{}
	order := map[int64]int{} // position -> index of its occurrence
	for i, o := range occs {
		order[o.pos] = i
		if _, ok := firstSeen[o.d]; ok {
			want[o.pos] = o.d
		} else {
			firstSeen[o.d] = o.pos
		}
	}
	got := map[int64]Dup{}
	record := func(d Dup) {
		if _, ok := got[d.Second]; ok {
			t.Fatalf("repeat at %d reported twice", d.Second)
		}
		got[d.Second] = d
	}
	for _, o := range occs {
		prev, dup, err := s.Add(o.d, o.pos)
		if err != nil {
			t.Fatal(err)
		}
		if dup {
			record(Dup{Digest: o.d, First: prev, Second: o.pos})
		}
		if max := int64(len(s.slots)) * slotSize; max > memLimit*2/3 && len(s.slots) > minSlots {
			t.Fatalf("table of %d bytes over two thirds of the %d-byte budget", max, memLimit)
		}
	}
	if err := s.Finish(func(d Dup) error { record(d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d repeats reported, want %d", len(got), len(want))
	}
	for pos, d := range want {
		g, ok := got[pos]
		if !ok {
			t.Fatalf("repeat of %#x at %d not reported", d, pos)
		}
		if g.Digest != d {
			t.Fatalf("repeat at %d reported with digest %#x, want %#x", pos, g.Digest, d)
		}
		fi, ok := order[g.First]
		if !ok || occs[fi].d != d || fi >= order[pos] {
			t.Fatalf("repeat at %d names %d as the earlier occurrence, which is not one", pos, g.First)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("temporary files left after Finish: %v", ents)
	}
	return s
}

// randomOccurrences makes n occurrences at positions 0, 10, 20, ... of
// random digests, with about one in repeatEvery a repeat of an earlier one.
func randomOccurrences(rng *rand.Rand, n, repeatEvery int) []occurrence {
	occs := make([]occurrence, 0, n)
	for i := 0; i < n; i++ {
		d := rng.Uint64()
		if i > 0 && rng.IntN(repeatEvery) == 0 {
			d = occs[rng.IntN(len(occs))].d
		}
		occs = append(occs, occurrence{d, int64(i) * 10})
	}
	return occs
}

func TestRepeatsInMemoryAreReportedAtOnce(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	// Digest 0 and position 0 are ordinary values.
	for _, o := range []occurrence{{0, 0}, {7, 5}} {
		if _, dup, err := s.Add(o.d, o.pos); err != nil || dup {
			t.Fatalf("Add(%d, %d) = dup %v, %v on first sight", o.d, o.pos, dup, err)
		}
	}
	prev, dup, err := s.Add(0, 42)
	if err != nil || !dup || prev != 0 {
		t.Fatalf("Add(0, 42) = %d, %v, %v; want the earlier position 0, true", prev, dup, err)
	}
	prev, dup, _ = s.Add(7, 43)
	if !dup || prev != 5 {
		t.Fatalf("Add(7, 43) = %d, %v; want 5, true", prev, dup)
	}
	if pos, ok := s.Lookup(7); !ok || pos != 5 {
		t.Fatalf("Lookup(7) = %d, %v; want 5, true", pos, ok)
	}
	if _, ok := s.Lookup(8); ok {
		t.Fatal("Lookup(8) found a digest never added")
	}
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	n := 0
	if err := s.Finish(func(Dup) error { n++; return nil }); err != nil || n != 0 {
		t.Fatalf("Finish reported %d repeats (%v); Add had reported them all", n, err)
	}
	if _, _, err := s.Add(1, 1); err == nil {
		t.Fatal("Add after Finish did not fail")
	}
}

func TestRepeatsWithoutSpilling(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := checkAll(t, randomOccurrences(rng, 50_000, 20), DefaultMemLimit)
	if s.Spills() != 0 {
		t.Fatalf("%d spills for 50k digests in the default budget", s.Spills())
	}
}

func TestRepeatsAcrossSpills(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(3, 4))
		// 64 KiB: runs of about 1500 digests (a deferred set's logs:
		// about 1000).
		s := checkAllWith(t, randomOccurrences(rng, 60_000, 10), Options{MemLimit: 64 << 10, Deferred: deferred})
		if s.Spills() < 20 {
			t.Fatalf("deferred %v: only %d spills: the test does not exercise the merge", deferred, s.Spills())
		}
	}
}

func TestRepeatsAcrossMoreRunsThanOneMerge(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(5, 6))
		// The smallest table (1024 slots, 768 digests a run; a log, 1024):
		// over 2·maxFanIn runs.
		s := checkAllWith(t, randomOccurrences(rng, 1024*(2*maxFanIn+5), 50), Options{MemLimit: 1, Deferred: deferred})
		if s.Spills() <= 2*maxFanIn {
			t.Fatalf("deferred %v: only %d spills", deferred, s.Spills())
		}
	}
}

func TestManyRepeatsOfOneDigest(t *testing.T) {
	// One digest everywhere, between spills of others: each later
	// occurrence is reported once.
	rng := rand.New(rand.NewPCG(7, 8))
	var occs []occurrence
	for i := 0; i < 20_000; i++ {
		d := rng.Uint64()
		if i%997 == 0 {
			d = 12345
		}
		occs = append(occs, occurrence{d, int64(i)})
	}
	checkAll(t, occs, 1)
	// In a deferred set's logs, the repeats of one digest sit together:
	// still each once, the earlier first.
	for i := range occs {
		if i%3 == 0 {
			occs[i].d = 777
		}
	}
	checkAllWith(t, occs, Options{MemLimit: 1, Deferred: true})
}

// TestDeferredStopsLookingUp: a deferred set answers as any other until
// it spills; then Add reports nothing at once, Lookup finds nothing added
// since, and Finish reports those repeats. Reset makes it a table again.
func TestDeferredStopsLookingUp(t *testing.T) {
	s := New(Options{MemLimit: 1, TempDir: t.TempDir(), Deferred: true})
	defer s.Close()
	if _, _, err := s.Add(1, 0); err != nil {
		t.Fatal(err)
	}
	if prev, dup, _ := s.Add(1, 1); !dup || prev != 0 {
		t.Fatalf("before any spill: Add(1, 1) = %d, %v; want 0, true", prev, dup)
	}
	i := int64(2)
	for ; s.Spills() == 0; i++ {
		if _, _, err := s.Add(uint64(i)*0x9E3779B97F4A7C15, i); err != nil {
			t.Fatal(err)
		}
	}
	if !s.Deferring() {
		t.Fatal("a deferred set that spilled is not deferring")
	}
	last := uint64(i-1) * 0x9E3779B97F4A7C15
	if _, _, err := s.Add(99, i); err != nil {
		t.Fatal(err)
	}
	if _, dup, _ := s.Add(99, i+1); dup {
		t.Fatal("a deferring set reported a repeat at once")
	}
	if _, ok := s.Lookup(99); ok {
		t.Fatal("Lookup found a digest added after the first spill")
	}
	s.Touch([]uint64{99, 1})
	var got []Dup
	if err := s.Finish(func(d Dup) error { got = append(got, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (Dup{Digest: 99, First: i, Second: i + 1}) {
		t.Fatalf("Finish reported %v, want the repeat of 99 at %d and %d", got, i, i+1)
	}
	s2 := New(Options{MemLimit: 1, TempDir: t.TempDir(), Deferred: true})
	defer s2.Close()
	for j := range int64(5000) {
		s2.Add(uint64(j)*0x9E3779B97F4A7C15, j)
	}
	if err := s2.Reset(0); err != nil {
		t.Fatal(err)
	}
	s2.Add(last, 0)
	if s2.Deferring() {
		t.Fatal("Reset left the set deferring")
	}
	if _, dup, _ := s2.Add(last, 1); !dup {
		t.Fatal("after Reset, a repeat in memory is not reported at once")
	}
}

func TestSortedHandlesWrappedClusters(t *testing.T) {
	s := New(Options{})
	s.resize(minSlots)
	// Digests whose home is the last slot wrap to the start of the table.
	top := ^uint64(0)
	ds := []uint64{top, top - 1, top - 2, 1, 2, 1 << 63, 3}
	for i, d := range ds {
		s.insert(d, int64(i+1))
	}
	got := s.sorted()
	var gd []uint64
	for _, e := range got {
		gd = append(gd, e.d)
	}
	want := slices.Clone(ds)
	slices.Sort(want)
	if !slices.Equal(gd, want) {
		t.Fatalf("sorted = %x, want %x", gd, want)
	}
}

func TestCloseRemovesSpills(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{MemLimit: 1, TempDir: dir})
	for i := 0; i < 5000; i++ {
		if _, _, err := s.Add(uint64(i)*0x9E3779B97F4A7C15, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Spills() == 0 {
		t.Fatal("no spill")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("left %v", filepath.Join(dir, ents[0].Name()))
	}
}

// BenchmarkAdd adds distinct digests, then Finish: in the default budget
// (past about 786k digests every table is spilled and merged in Finish),
// and in convert's 8 MiB, looking each up or (deferred) not once spilled.
func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts Options
	}{
		{"default", Options{}},
		{"8MiB", Options{MemLimit: 8 << 20}},
		{"8MiB-deferred", Options{MemLimit: 8 << 20, Deferred: true}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.opts.TempDir = b.TempDir()
			s := New(bc.opts)
			defer s.Close()
			x := uint64(1)
			for i := 0; i < b.N; i++ {
				x = x*6364136223846793005 + 1442695040888963407
				if _, _, err := s.Add(x, int64(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Finish(func(Dup) error { return nil }); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestReserveKeepsAnswers: a table sized ahead (within the limit, and past
// it) answers as one that grew by itself.
func TestReserveKeepsAnswers(t *testing.T) {
	for _, reserve := range []int{0, 5000, 1 << 30} {
		s := New(Options{MemLimit: 256 << 10, TempDir: t.TempDir()})
		s.Reserve(reserve)
		if len(s.slots) > s.maxSlots {
			t.Fatalf("Reserve(%d): %d slots, more than the limit's %d", reserve, len(s.slots), s.maxSlots)
		}
		seen := map[uint64]bool{}
		dups := 0
		for i := 0; i < 20000; i++ {
			k := i % 7919 // 7,919 distinct keys, each added two or three times
			d := s.Digest(k%3, []byte{byte(k), byte(k >> 8)})
			_, dup, err := s.Add(d, int64(i))
			if err != nil {
				t.Fatal(err)
			}
			if dup {
				dups++
			}
			if dup && !seen[d] {
				t.Fatalf("Reserve(%d): digest %d reported repeated at its first add", reserve, i)
			}
			seen[d] = true
		}
		late := 0
		if err := s.Finish(func(Dup) error { late++; return nil }); err != nil {
			t.Fatal(err)
		}
		if len(seen) != 7919 {
			t.Fatalf("%d distinct digests, want 7919", len(seen))
		}
		if want := 20000 - len(seen); dups+late != want {
			t.Errorf("Reserve(%d): %d repeats (%d at once, %d at Finish), want %d", reserve, dups+late, dups, late, want)
		}
	}
}

// TestTouchChangesNothing: Touch, on an empty set and on a full one, with
// digests present and absent, leaves every answer as it was.
func TestTouchChangesNothing(t *testing.T) {
	s := New(Options{TempDir: t.TempDir()})
	defer s.Close()
	s.Touch([]uint64{1, 2, 3}) // before any Add: no table yet
	var ds []uint64
	for i := range 5000 {
		d := s.Digest(0, []byte{byte(i), byte(i >> 8)})
		ds = append(ds, d)
		if _, dup, err := s.Add(d, int64(i)); dup || err != nil {
			t.Fatalf("add %d: dup %v, err %v", i, dup, err)
		}
	}
	s.Touch(ds)
	s.Touch([]uint64{0, ^uint64(0), 12345})
	if s.Len() != 5000 {
		t.Fatalf("Len %d after Touch, want 5000", s.Len())
	}
	for i, d := range ds {
		if pos, ok := s.Lookup(d); !ok || pos != int64(i) {
			t.Fatalf("digest %d: Lookup %d, %v after Touch", i, pos, ok)
		}
	}
	if _, ok := s.Lookup(12345); ok {
		t.Fatal("a touched digest that was never added is found")
	}
}

// A set Reset for reuse answers as a new one: repeats within the next
// round are reported, digests of the round before are forgotten, and its
// spilled runs are gone.
func TestResetForgets(t *testing.T) {
	dir := t.TempDir()
	s := New(Options{MemLimit: 64 << 10, TempDir: dir})
	for i := range uint64(10_000) {
		if _, dup, err := s.Add(i*0x9E3779B97F4A7C15, int64(i)); dup || err != nil {
			t.Fatal(i, dup, err)
		}
	}
	if s.Spills() == 0 {
		t.Fatal("no spill")
	}
	for _, n := range []int{100, 0, 50_000} {
		if err := s.Reset(n); err != nil {
			t.Fatal(err)
		}
		if s.Spills() != 0 || s.Len() != 0 {
			t.Fatalf("after Reset: %d spills, %d digests", s.Spills(), s.Len())
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("after Reset: %d entries left in the temporary directory", len(left))
		}
		for i := range uint64(300) {
			if _, dup, err := s.Add(i*0x9E3779B97F4A7C15, int64(i)); dup || err != nil {
				t.Fatalf("after Reset(%d): digest %d: dup %v, %v", n, i, dup, err)
			}
		}
		seven := uint64(7)
		if prev, dup, _ := s.Add(seven*0x9E3779B97F4A7C15, 1000); !dup || prev != 7 {
			t.Fatalf("after Reset(%d): repeat not reported (%v, %d)", n, dup, prev)
		}
	}
	if err := s.Finish(func(d Dup) error { t.Fatalf("Finish reports %+v, which Add reported", d); return nil }); err != nil {
		t.Fatal(err)
	}
}

// TestDeferredLogWithinBudget: a deferring set's log, the log being
// written and the sort's buffer fit the memory budget together.
func TestDeferredLogWithinBudget(t *testing.T) {
	const limit = 256 << 10
	s := New(Options{MemLimit: limit, TempDir: t.TempDir(), Deferred: true})
	defer s.Close()
	for i := range int64(50_000) {
		if _, _, err := s.Add(uint64(i)*0x9E3779B97F4A7C15, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.waitSpill(); err != nil {
		t.Fatal(err)
	}
	if !s.Deferring() || s.Spills() < 3 {
		t.Fatalf("deferring %v after %d spills: the test does not reach the logs", s.Deferring(), s.Spills())
	}
	if used := (len(s.slots) + len(s.spare) + len(s.sortBuf)) * slotSize; used > limit {
		t.Fatalf("log, spare log and sort buffer take %d bytes, over the %d-byte budget", used, limit)
	}
}
