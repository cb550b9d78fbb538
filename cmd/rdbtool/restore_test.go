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

// TestRestoreDryRunAndRefusals: --dry-run lists what the target cannot
// hold with the flags that leave it out and writes nothing; the real run
// refuses the same list (exit 1, nothing written); with the flag it
// restores. A replica target is refused (exit 2) naming --detach-replica.
func TestRestoreDryRunAndRefusals(t *testing.T) {
	const src = "../../testdata/corpus/redis-7.0.15/module.rdb"
	s := redistest.Start(t, "")
	target := "redis://" + s.Addr
	out, code := run(t, "restore", src, "--target", target, "--quiet", "--dry-run")
	if code != 1 || !strings.Contains(out, "dry run: nothing was written") || !strings.Contains(out, "--skip-modules leaves them out") {
		t.Fatalf("--dry-run: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "SkipModules") {
		t.Errorf("a Go option name in the output:\n%s", out)
	}
	out2, code := run(t, "restore", src, "--target", target, "--quiet")
	if code != 1 || !strings.Contains(out2, "--skip-modules leaves them out") {
		t.Fatalf("restore: exit %d:\n%s", code, out2)
	}
	if n, _ := s.Do("DBSIZE"); n != int64(0) {
		t.Fatalf("the refused restore wrote %v keys", n)
	}
	out, code = run(t, "restore", src, "--target", target, "--quiet", "--skip-modules", "--verify")
	if code != 0 || !strings.Contains(out, "module value (--skip-modules)") {
		t.Fatalf("--skip-modules: exit %d:\n%s", code, out)
	}

	replica := redistest.Start(t, "")
	host, port, _ := strings.Cut(s.Addr, ":")
	replica.Do("REPLICAOF", host, port)
	out, code = runMsg(t, "restore", src, "--target", "redis://"+replica.Addr, "--quiet", "--skip-modules")
	if code != 2 || !strings.Contains(out, "--detach-replica") {
		t.Fatalf("replica: exit %d:\n%s", code, out)
	}
}
