package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// OpenPrefix opens the first n bytes of s3://bucket/key with one ranged
// GET: what a listing reads to describe each object without fetching it.
func (s *Store) OpenPrefix(ctx context.Context, url string, n int64) (io.ReadCloser, error) {
	u, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	out, err := s.cli.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(u.Bucket), Key: aws.String(u.Key),
		Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1)),
	})
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && api.ErrorCode() == "InvalidRange" {
			return nil, fmt.Errorf("%s: empty object", url)
		}
		return nil, s.classify("GetObject", url, err)
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(out.Body, n), out.Body}, nil
}
