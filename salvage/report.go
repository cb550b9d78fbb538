package salvage

import (
	"fmt"
	"io"
	"strconv"
)

// WriteReport writes a plain-text account of the result: the damaged byte
// ranges, every problem, the keys lost, and per-database counts.
func (r *Result) WriteReport(w io.Writer) error {
	ew := &errWriter{w: w}
	name := r.Name
	if name == "" {
		name = "input"
	}
	ew.printf("%s: %d bytes, %s RDB %d, checksum %s\n", name, r.Size, r.DialectName(), r.Version, r.checksumText())
	if r.Clean() {
		ew.printf("no problems: %d records, %d keys\n", r.Records, r.Keys)
	} else {
		ew.printf("%d problems; %d intact keys recovered, %d keys known lost, %d damaged bytes in %d ranges\n",
			r.ProblemCount, r.Keys, r.LostCount, r.DamagedBytes, len(r.Damaged))
		if r.DamagedBytes > 0 {
			ew.printf("keys lost: %d known by name (listed below); besides them, %s\n", r.LostCount, r.Hidden)
		}
	}
	if len(r.Damaged) > 0 {
		ew.printf("\ndamaged byte ranges:\n")
		for _, d := range r.Damaged {
			ew.printf("  [%d, %d)  %d bytes\n", d.Start, d.End, d.End-d.Start)
		}
	}
	if len(r.Problems) > 0 {
		ew.printf("\nproblems:\n")
		for _, p := range r.Problems {
			ew.printf("  %s\n", p)
		}
		if r.ProblemCount > len(r.Problems) {
			ew.printf("  ... and %d more\n", r.ProblemCount-len(r.Problems))
		}
	}
	if len(r.Notes) > 0 {
		ew.printf("\nnotes (Redis loads these as they are):\n")
		for _, p := range r.Notes {
			ew.printf("  %s\n", p)
		}
		if r.NoteCount > len(r.Notes) {
			ew.printf("  ... and %d more\n", r.NoteCount-len(r.Notes))
		}
	}
	if len(r.Lost) > 0 {
		ew.printf("\nkeys lost (not written):\n")
		for _, k := range r.Lost {
			ew.printf("  db %d  %s  at offset %d: %s\n", k.DB, strconv.Quote(string(trunc(k.Key))), k.Offset, k.Why)
		}
	}
	ew.printf("\nper database:\n")
	for _, d := range r.DBs {
		ew.printf("  db %d: %d keys intact (%d with expiry, %d bytes), %d lost\n", d.DB, d.Keys, d.Expires, d.Bytes, d.Lost)
	}
	if len(r.DBs) == 0 {
		ew.printf("  no keys\n")
	}
	return ew.err
}

// DialectName names the file's dialect as info does: "keydb" for a Redis
// format file with KeyDB's additions, else the Dialect.
func (r *Result) DialectName() string {
	if r.KeyDB {
		return "keydb"
	}
	return r.Dialect.String()
}

func (r *Result) checksumText() string {
	switch {
	case r.Repaired:
		return "mismatch (one changed byte, repaired)"
	case r.ChecksumMismatch:
		return "MISMATCH"
	}
	return r.Checksum.String()
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
