package s3src

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Delete removes the objects named by s3:// URLs, up to 1,000 per request
// (DeleteObjects). It returns the first failure; objects that did not
// exist count as deleted.
func (s *Store) Delete(ctx context.Context, urls []string) error {
	byBucket := map[string][]string{}
	var order []string
	for _, raw := range urls {
		u, err := ParseURL(raw)
		if err != nil {
			return err
		}
		if u.Key == "" {
			return fmt.Errorf("%s: an object name is needed, not a bucket", raw)
		}
		if _, ok := byBucket[u.Bucket]; !ok {
			order = append(order, u.Bucket)
		}
		byBucket[u.Bucket] = append(byBucket[u.Bucket], u.Key)
	}
	for _, bucket := range order {
		keys := byBucket[bucket]
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			var ids []types.ObjectIdentifier
			for _, k := range keys[:n] {
				ids = append(ids, types.ObjectIdentifier{Key: aws.String(k)})
			}
			out, err := s.cli.DeleteObjects(ctx, &s3.DeleteObjectsInput{
				Bucket: aws.String(bucket),
				Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
			})
			if err != nil {
				return s.classify("DeleteObjects", URL{bucket, keys[0]}.String(), err)
			}
			for _, e := range out.Errors {
				if aws.ToString(e.Code) == "NoSuchKey" {
					continue
				}
				return fmt.Errorf("%s: DeleteObjects: %s: %s", URL{bucket, aws.ToString(e.Key)}, aws.ToString(e.Code), aws.ToString(e.Message))
			}
			keys = keys[n:]
		}
	}
	return nil
}

// PendingUpload is a multipart upload that was started and neither
// completed nor aborted.
type PendingUpload struct {
	URL, UploadID string
}

// PendingUploads lists the multipart uploads in progress under a prefix:
// an interrupted writer that could not abort leaves one behind (and its
// parts cost storage until a lifecycle rule or an abort removes them).
func (s *Store) PendingUploads(ctx context.Context, prefixURL string) ([]PendingUpload, error) {
	u, err := ParseURL(prefixURL)
	if err != nil {
		return nil, err
	}
	var out []PendingUpload
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(u.Bucket), Prefix: aws.String(u.Key)}
	for {
		page, err := s.cli.ListMultipartUploads(ctx, in)
		if err != nil {
			return nil, s.classify("ListMultipartUploads", prefixURL, err)
		}
		for _, up := range page.Uploads {
			out = append(out, PendingUpload{URL: URL{u.Bucket, aws.ToString(up.Key)}.String(), UploadID: aws.ToString(up.UploadId)})
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		in.KeyMarker, in.UploadIdMarker = page.NextKeyMarker, page.NextUploadIdMarker
	}
}
