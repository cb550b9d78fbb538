package display

import (
	"testing"
	"time"
)

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"user:1":           "user:1",
		"café ☕":           "café ☕",
		"":                 `""`,
		"k\x1b[31m":        `"k\x1b[31m"`,
		"bell\a":           `"bell\a"`,
		"c1\u009b2J":       `"c1\u009b2J"`,
		"bad\xff":          `"bad\xff"`,
		"rtl\u202eevil":    `"rtl\u202eevil"`,
		"tab\tand newline": `"tab\tand newline"`,
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[uint64]string{
		0:          "0 B",
		1023:       "1023 B",
		1024:       "1.00 KiB",
		1536:       "1.50 KiB",
		1048575:    "1.00 MiB",
		15 << 20:   "15.0 MiB",
		150 << 20:  "150 MiB",
		2287104000: "2.13 GiB",
		3 << 40:    "3.00 TiB",
		1<<64 - 1:  "16384 PiB",
		1023949:    "1000 KiB",
		1048525:    "1.00 MiB",
	} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestTime(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{now.Add(-30 * time.Second), "2026-12-05T11:59:30Z (30s ago)"},
		{now.Add(-(2*24*time.Hour + 4*time.Hour)), "2026-12-03T08:00:00Z (2d 4h ago)"},
		{now.Add(-3 * time.Hour), "2026-12-05T09:00:00Z (3h ago)"},
		{now.Add(90 * time.Minute), "2026-12-05T13:30:00Z (in 1h 30m)"},
		{now.Add(-400 * 24 * time.Hour), "2025-10-31T12:00:00Z (400d ago)"},
	} {
		if got := Time(c.t.In(time.FixedZone("X", 3600)), now); got != c.want {
			t.Errorf("Time(%v) = %q, want %q", c.t, got, c.want)
		}
	}
}
