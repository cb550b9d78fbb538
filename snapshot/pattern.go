package snapshot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ExpandTime replaces strftime-like conversions in an output name with
// t's fields, so that scheduled snapshots get names of their own:
// %Y year, %m month, %d day, %H hour, %M minute, %S second (two digits
// each but the year), %y two-digit year, %j day of the year, %s Unix
// seconds, %% a percent sign. Other conversions are an error, so that a
// typo does not silently overwrite the previous snapshot.
func ExpandTime(pattern string, t time.Time) (string, error) {
	if !strings.Contains(pattern, "%") {
		return pattern, nil
	}
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 == len(pattern) {
			return "", fmt.Errorf("%q: a lone %% at the end (write %%%% for a percent sign)", pattern)
		}
		i++
		switch pattern[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 's':
			b.WriteString(strconv.FormatInt(t.Unix(), 10))
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("%q: unknown conversion %%%c (known: %%Y %%m %%d %%H %%M %%S %%y %%j %%s %%%%)", pattern, pattern[i])
		}
	}
	return b.String(), nil
}
