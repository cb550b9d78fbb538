package diff

import "testing"

// TestPrefixesAsAnalyze: the by-prefix summary cuts keys as analyze's
// prefix table does, a key with fewer separators than the depth counting
// under its last one.
func TestPrefixesAsAnalyze(t *testing.T) {
	o := Options{Separators: ":/", PrefixDepth: 2}
	o.defaults()
	pc := newPrefixCounter(&o)
	for _, k := range []string{"user:1:name", "user:1:mail", "user/2", "plain", "a:b/c"} {
		pc.count([]byte(k), 1)
	}
	pc.finish()
	want := map[string]int64{"user:1:": 2, "user/": 1, noPrefix: 1, "a:b/": 1}
	if len(pc.m) != len(want) {
		t.Errorf("groups %v, want %v", pc.m, want)
	}
	for k, n := range want {
		if pc.m[k] != n {
			t.Errorf("%q: %d keys, want %d (groups %v)", k, pc.m[k], n, pc.m)
		}
	}
}
