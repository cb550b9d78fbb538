package salvage

import (
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/rdb"
)

func (s *scanner) header(hdr []byte) error {
	digits := func(p []byte) (int, bool) {
		v := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, len(p) > 0
	}
	if len(hdr) == 9 {
		switch {
		case string(hdr[:5]) == "REDIS":
			if v, ok := digits(hdr[5:9]); ok && v >= 1 && (v <= rdb.MaxRedisVersion || s.opts.AllowNewer) {
				s.dialect, s.version, s.res.HeaderOK = rdb.DialectRedis, v, true
				return nil
			}
		case string(hdr[:6]) == "VALKEY":
			if v, ok := digits(hdr[6:9]); ok && v >= 80 && (v <= rdb.MaxValkeyVersion || s.opts.AllowNewer) {
				s.dialect, s.version, s.res.HeaderOK = rdb.DialectValkey, v, true
				return nil
			}
		}
	}
	// Damaged or unknown header: take what can be inferred.
	var what string
	switch {
	case len(hdr) < 9:
		what = fmt.Sprintf("file is %d bytes, too short for an RDB header", len(hdr))
	default:
		what = fmt.Sprintf("header %q is not \"REDIS\" + 4 digits or \"VALKEY\" + 3 digits of a known version", hdr)
	}
	if s.opts.Version != 0 {
		s.dialect, s.version = s.opts.Dialect, s.opts.Version
		if s.dialect == 0 {
			s.dialect = rdb.DialectRedis
		}
	} else if len(hdr) == 9 && countDiff(hdr[:5], "REDIS") <= 1 {
		if v, ok := digits(hdr[5:9]); ok && v >= 1 && v <= rdb.MaxRedisVersion {
			s.dialect, s.version = rdb.DialectRedis, v
		}
	} else if len(hdr) == 9 && countDiff(hdr[:6], "VALKEY") <= 1 {
		if v, ok := digits(hdr[6:9]); ok && v == rdb.MaxValkeyVersion {
			s.dialect, s.version = rdb.DialectValkey, v
		}
	}
	if s.version == 0 {
		s.problem(Problem{Kind: Header, Offset: 0, DB: -1, What: what})
		return fmt.Errorf("%w: %s", ErrNoHeader, what)
	}
	s.problem(Problem{Kind: Header, Offset: 0, End: int64(len(hdr)), DB: -1, What: what + fmt.Sprintf("; reading on as %s RDB %d", s.dialect, s.version)})
	return nil
}

// mayHaveChecksum reports whether the file can end with a CRC-64 trailer:
// RDB 5 and later. Before, the last 9 bytes are records, and one of them
// being 0xFF must not make the 8 after it a checksum.
func mayHaveChecksum(r io.ReaderAt, opts Options) bool {
	var hdr [9]byte
	if n, _ := r.ReadAt(hdr[:], 0); n == 9 && string(hdr[:5]) == "REDIS" {
		v := 0
		for _, c := range hdr[5:] {
			if c < '0' || c > '9' {
				return true
			}
			v = v*10 + int(c-'0')
		}
		return v >= 5
	}
	return opts.Version == 0 || opts.Version >= 5 || opts.Dialect == rdb.DialectValkey
}

// PlausibleHeader reports whether b, a file's first bytes, can be an RDB
// header, damaged in at most one byte of its magic: what Scan reads on
// from. Callers use it to refuse other data before reading all of it.
func PlausibleHeader(b []byte) bool {
	if len(b) < 9 {
		return false
	}
	return countDiff(b[:5], "REDIS") <= 1 || countDiff(b[:6], "VALKEY") <= 1
}

func countDiff(a []byte, b string) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// setTypes decides which bytes can start a record in this file: the
// opcodes, and the type bytes servers writing this version use.
func (s *scanner) setTypes() {
	for _, t := range rdb.KeyTypes(s.dialect, s.version) {
		s.types[t] = true
		s.start[t] = true
	}
	for _, op := range rdb.Opcodes(s.dialect, s.version) {
		s.start[op] = true
	}
}
