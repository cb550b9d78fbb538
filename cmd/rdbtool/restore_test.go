package main

import (
	"strings"
	"testing"

	"github.com/rdbtool/rdbtool/internal/redistest"
)

// TestRestoreMethods: by default an empty standalone target is loaded by a
// full sync, --method keys goes key by key, and both leave the same keys;
// --method sync into a target that now holds keys is refused.
func TestRestoreMethods(t *testing.T) {
	const src = "../../testdata/corpus/redis-7.0.15/main.rdb"
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "by a full sync"},
		{[]string{"--method", "keys"}, "RESTORE "},
	} {
		s := redistest.Start(t, "")
		args := append([]string{"restore", src, "--target", "redis://" + s.Addr, "--quiet", "--verify"}, c.args...)
		out, code := run(t, args...)
		if code != 0 || !strings.Contains(out, c.want) || !strings.Contains(out, "verify:") {
			t.Fatalf("%v: exit %d, want 0 and %q:\n%s", c.args, code, c.want, out)
		}
		n, _ := s.Do("DBSIZE")
		if n.(int64) < 50 {
			t.Errorf("%v: DBSIZE %v", c.args, n)
		}
		if out, code := run(t, "restore", src, "--target", "redis://"+s.Addr, "--quiet", "--method", "sync"); code != 2 {
			t.Errorf("--method sync into a non-empty target: exit %d:\n%s", code, out)
		}
		s.Stop()
	}
	if _, code := run(t, "restore", src, "--target", "redis://127.0.0.1:1", "--method", "fast"); code != 2 {
		t.Errorf("--method fast: exit %d, want 2", code)
	}
}
