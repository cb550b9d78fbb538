package rdb

import (
	"errors"
	"io"
)

// HeaderBytes is enough of a file for its magic, version and leading aux
// fields in any real snapshot: what a listing reads of each object.
const HeaderBytes = 64 << 10

// Header is what a snapshot's first bytes tell: the magic's dialect, the
// RDB version and the aux fields that lead the file (redis-ver, ctime,
// used-mem, ...).
type Header struct {
	Dialect Dialect
	Version int
	Aux     map[string]string
}

// ServerVersion returns the valkey-ver or redis-ver aux field.
func (h Header) ServerVersion() string {
	if v := h.Aux["valkey-ver"]; v != "" {
		return v
	}
	return h.Aux["redis-ver"]
}

// ServerName returns "valkey" when the file has a valkey-ver aux field
// (Valkey 7.2 and 8.0 still write the REDIS magic), else the dialect.
func (h Header) ServerName() string {
	if h.Aux["valkey-ver"] != "" {
		return "valkey"
	}
	return h.Dialect.String()
}

// ReadHeader reads the magic, the version and the leading aux fields from
// r (an uncompressed RDB stream), stopping at the first other record. Its
// checksum is not verified and newer versions are accepted, since only
// the header is read. Input that ends after the version, as a ranged read
// of the first HeaderBytes may, gives the fields read so far and no error.
func ReadHeader(r io.Reader, opts ...Option) (Header, error) {
	h := Header{Aux: map[string]string{}}
	opts = append([]Option{WithBufferSize(HeaderBytes)}, opts...)
	rr := NewReader(r, append(opts, WithoutChecksum(), AllowNewerVersions())...)
	for {
		rec, err := rr.Next()
		if rr.Version() != 0 {
			h.Dialect, h.Version = rr.Dialect(), rr.Version()
		}
		if err != nil {
			if h.Version != 0 && !errors.Is(err, ErrUnsupportedVersion) {
				return h, nil
			}
			return h, err
		}
		if rec.Kind != KindAux {
			return h, nil
		}
		h.Aux[string(rec.AuxKey)] = string(rec.AuxValue)
	}
}
