package analyze

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestTopKeysMatchesSort: the heap keeps exactly the n largest of many
// keys offered in random order, as sorting them all would give, ties
// included, and copies the names it keeps.
func TestTopKeysMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var all []Key
	for i := range 5000 {
		all = append(all, Key{DB: i % 3, Key: []byte(fmt.Sprintf("k%05d", i)), Bytes: uint64(rng.IntN(300))})
	}
	for _, n := range []int{0, 1, 7, 100, 6000} {
		top := NewTopKeys(n)
		buf := make([]byte, 0, 16)
		for _, i := range rng.Perm(len(all)) {
			k := all[i]
			// The caller's buffer is reused: the heap must copy.
			buf = append(buf[:0], k.Key...)
			k.Key = buf
			top.Offer(&k)
		}
		want := slices.Clone(all)
		sort.Slice(want, func(i, j int) bool { return worse(&want[j], &want[i]) })
		want = want[:min(n, len(want))]
		got := top.Keys()
		if len(got) != len(want) {
			t.Fatalf("n=%d: %d keys, want %d", n, len(got), len(want))
		}
		for i := range want {
			if got[i].Bytes != want[i].Bytes || got[i].DB != want[i].DB || string(got[i].Key) != string(want[i].Key) {
				t.Fatalf("n=%d: key %d is %d/%s (%d bytes), want %d/%s (%d bytes)", n, i,
					got[i].DB, got[i].Key, got[i].Bytes, want[i].DB, want[i].Key, want[i].Bytes)
			}
		}
	}
}
