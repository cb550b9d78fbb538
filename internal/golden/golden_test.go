package golden

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB whose Fatal and Fatalf record the message and
// stop Check, so that a test can see Check fail.
type recorder struct {
	testing.TB
	msg string
}

type stopped struct{}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.msg = fmt.Sprint(args...); panic(stopped{}) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(stopped{})
}

// check runs Check and returns its failure message ("" when it passed).
func check(t *testing.T, name string, got string) (msg string) {
	r := &recorder{TB: t}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(stopped); !ok {
				panic(v)
			}
			msg = r.msg
		}
	}()
	Check(r, name, []byte(got))
	return ""
}

func TestCheckPassesOnlyOnIdenticalBytes(t *testing.T) {
	for _, c := range []struct {
		got, want string // want: a substring of the failure, "" to pass
	}{
		{"a\nb\n", ""},
		{"a\nc\n", `line 2:`},
		{"a\n", `line 2:`},
		{"a\nb\n\n", "last lines: got 4 lines, want 3"},
		{"a\nb", "last lines: got 2 lines, want 3"},
	} {
		msg := check(t, "two-lines.golden", c.got)
		if c.want == "" && msg != "" || !strings.Contains(msg, c.want) {
			t.Errorf("got %q: failure %q, want one containing %q", c.got, msg, c.want)
		}
	}
	if msg := check(t, "missing.golden", "x"); !strings.Contains(msg, "-update creates it") {
		t.Errorf("missing file: failure %q", msg)
	}
}
