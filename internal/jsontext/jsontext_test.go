package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

var samples = []string{"", "plain", "quote\" back\\ nl\n cr\r tab\t", "esc\x1b[31m bel\a nul\x00 del\x7f",
	"c1 \u0080\u0085\u009b\u009f end", "not c1 \u00a0 é 名前 😀", "\u2028\u2029"}

// TestAppendStringRoundTrip: every string decodes back to itself with
// encoding/json, and no control character is left raw.
func TestAppendStringRoundTrip(t *testing.T) {
	for _, s := range samples {
		js := AppendString(nil, []byte(s))
		var back string
		if err := json.Unmarshal(js, &back); err != nil || back != s {
			t.Errorf("%q -> %s -> %q (%v)", s, js, back, err)
		}
		if hasControl(string(js)) {
			t.Errorf("%q -> %q keeps a control character", s, js)
		}
	}
}

// TestEscapeC1: what encoding/json writes, with C1 controls and DEL
// escaped after it, decodes to the same value.
func TestEscapeC1(t *testing.T) {
	for _, s := range samples {
		js, err := json.Marshal(map[string]string{"k": s})
		if err != nil {
			t.Fatal(err)
		}
		out := EscapeC1(js)
		var back map[string]string
		if err := json.Unmarshal(out, &back); err != nil || back["k"] != s {
			t.Errorf("%q -> %s -> %q (%v)", s, out, back["k"], err)
		}
		if hasControl(string(out)) {
			t.Errorf("%q -> %q keeps a control character", s, out)
		}
	}
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r >= 0x7f && r < 0xa0 })
}
