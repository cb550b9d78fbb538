// Package display formats what rdbtool shows to people: data quoted so it
// cannot drive a terminal, sizes in binary units, times as UTC dates with
// their age. Machine formats (JSON, CSV) keep raw values and do not use it.
package display

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Quote returns s as it is when it is non-empty, valid UTF-8 and every rune
// prints, and Go-quoted otherwise: a key or aux value from a file must not
// reach a terminal as escape sequences (ESC, BEL, CSI, bidi overrides), and
// an empty name must still show.
func Quote(s string) string {
	if s == "" || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Bytes formats n in binary units named as such: "512 B", "2.13 GiB",
// "14.5 MiB" (three significant digits from 1 KiB on).
func Bytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	v := float64(n)
	for _, suffix := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v /= unit
		// 1023.96 KiB would print as "1024.0 KiB": move up a unit.
		if v < unit-0.05 || suffix == "PiB" {
			switch {
			case v < 10:
				return strconv.FormatFloat(v, 'f', 2, 64) + " " + suffix
			case v < 100:
				return strconv.FormatFloat(v, 'f', 1, 64) + " " + suffix
			}
			return strconv.FormatFloat(v, 'f', 0, 64) + " " + suffix
		}
	}
	return ""
}

// Count groups digits by thousands: 1234567 -> "1,234,567".
func Count(n uint64) string {
	s := strconv.FormatUint(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Time formats t as an ISO 8601 time in UTC with its age relative to now:
// "2026-12-05T03:00:00Z (2d 4h ago)", or "(in 3h)" for a time after now.
func Time(t, now time.Time) string {
	s := t.UTC().Format(time.RFC3339)
	d := now.Sub(t)
	if d < 0 {
		return s + " (in " + Duration(-d) + ")"
	}
	return s + " (" + Duration(d) + " ago)"
}

// Duration formats d with its two largest units: "45s", "3m 20s",
// "5h 2m", "2d 4h", "400d".
func Duration(d time.Duration) string {
	sec := int64(d / time.Second)
	switch {
	case sec < 60:
		return strconv.FormatInt(sec, 10) + "s"
	case sec < 3600:
		return two(sec/60, "m", sec%60, "s")
	case sec < 86400:
		return two(sec/3600, "h", sec%3600/60, "m")
	case sec < 100*86400:
		return two(sec/86400, "d", sec%86400/3600, "h")
	}
	return strconv.FormatInt(sec/86400, 10) + "d"
}

func two(a int64, ua string, b int64, ub string) string {
	s := strconv.FormatInt(a, 10) + ua
	if b > 0 {
		s += " " + strconv.FormatInt(b, 10) + ub
	}
	return s
}
