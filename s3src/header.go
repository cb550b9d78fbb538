package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/source"
)

// HeaderBytes is how much of an object Header reads: enough for the magic,
// the version and the aux fields of any real snapshot.
const HeaderBytes = 64 << 10

// Header is what a snapshot's first bytes tell.
type Header struct {
	Dialect     string            // "redis" or "valkey"
	Version     int               // RDB format version
	Aux         map[string]string // redis-ver, ctime, used-mem, ...
	Compression string            // "", "gzip", "zstd", "lz4"
}

// ServerVersion returns the redis-ver (or valkey-ver) aux field.
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
	return h.Dialect
}

// ReadHeader reads the header and aux fields of s3://bucket/key with one
// ranged GET of its first HeaderBytes, decompressing when needed.
func (s *Store) ReadHeader(ctx context.Context, url string) (Header, error) {
	u, err := ParseURL(url)
	if err != nil {
		return Header{}, err
	}
	out, err := s.cli.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(u.Bucket), Key: aws.String(u.Key),
		Range: aws.String(fmt.Sprintf("bytes=0-%d", HeaderBytes-1)),
	})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidRange" {
			return Header{}, fmt.Errorf("%s: empty object", url)
		}
		return Header{}, s.classify("GetObject", url, err)
	}
	defer out.Body.Close()
	return parseHeader(url, io.LimitReader(out.Body, HeaderBytes))
}

// parseHeader reads the header and leading aux fields from r.
func parseHeader(name string, r io.Reader) (Header, error) {
	dr, comp, closeFn, err := source.Decompress(r)
	if err != nil {
		return Header{}, fmt.Errorf("%s: %w", name, err)
	}
	defer closeFn()
	h := Header{Aux: map[string]string{}, Compression: comp}
	rr := rdb.NewReader(dr, rdb.WithName(name), rdb.WithoutChecksum(), rdb.AllowNewerVersions(), rdb.WithBufferSize(HeaderBytes))
	for {
		rec, err := rr.Next()
		if rr.Version() != 0 {
			h.Dialect, h.Version = rr.Dialect().String(), rr.Version()
		}
		if err != nil {
			if h.Version != 0 {
				return h, nil // e.g. aux fields beyond the bytes read
			}
			return h, err
		}
		if rec.Kind != rdb.KindAux {
			return h, nil
		}
		h.Aux[string(rec.AuxKey)] = string(rec.AuxValue)
	}
}
