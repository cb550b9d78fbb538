package keyglob

import (
	"strings"
	"testing"
	"time"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"user:*", "user:1", true},
		{"user:*", "session:1", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hallo", true}, // reversed ranges work, as in Redis
		{"h[a-b]llo", "hcllo", false},
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{"*a*a*b", "aaaab", true},
		{"*a*a*b", "aaaa", false},
		{"{user:1}*", "{user:1}:cart", true},
		{"a*", "", false},
		{"", "", true},
		{"", "x", false},
		{"**", "x", true},
		{"x[", "x[", false}, // an unterminated set needs a byte to match
	} {
		if got := Match([]byte(tc.pattern), []byte(tc.key)); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
	}
}

func TestMatchIsNotExponential(t *testing.T) {
	pattern := []byte(strings.Repeat("*a", 30) + "b")
	key := []byte(strings.Repeat("a", 5000))
	start := time.Now()
	if Match(pattern, key) {
		t.Fatal("matched")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}
