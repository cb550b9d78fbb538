package s3src

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"

	"github.com/rdbtool/rdbtool/source"
)

// Kind classifies S3 failures.
type Kind int

const (
	KindOther        Kind = iota // none of the kinds below
	KindNoBucket                 // the bucket does not exist
	KindNoKey                    // the object does not exist
	KindAccessDenied             // credentials missing, rejected, or not allowed the operation
	KindWrongRegion              // the bucket lives in another region
)

// Error is a failed S3 operation, with a message that says what to fix.
// errors.Is(err, source.ErrNotFound) holds for missing buckets and keys.
type Error struct {
	Op     string // S3 operation, e.g. "GetObject"
	URL    string // s3://bucket/key (or s3://bucket/prefix)
	Kind   Kind
	Code   string // the service's error code, when it gave one
	Region string // KindWrongRegion: the bucket's region, when known
	signed string // KindWrongRegion: the region the request was signed for
	Err    error
}

func (e *Error) Error() string {
	bucket := ""
	if u, err := ParseURL(e.URL); err == nil {
		bucket = u.Bucket
	}
	switch e.Kind {
	case KindNoBucket:
		return fmt.Sprintf("%s: bucket %q does not exist (%s)", e.URL, bucket, e.Op)
	case KindNoKey:
		return fmt.Sprintf("%s: no such object (%s)", e.URL, e.Op)
	case KindAccessDenied:
		why := "not allowed by the credentials in use or the bucket policy"
		switch e.Code {
		case "InvalidAccessKeyId", "XAdminUserNotFound":
			why = "the server does not know the access key id"
		case "SignatureDoesNotMatch":
			why = "the secret access key does not match the access key id"
		case "ExpiredToken", "TokenRefreshRequired", "InvalidToken":
			why = "the session token is expired or invalid"
		case "NoCredentials":
			why = "no AWS credentials found (environment, shared config files, profile, or instance/container role)"
		}
		code := e.Code
		if code == "" {
			code = "403"
		}
		return fmt.Sprintf("%s: access denied for %s: %s (%s)", e.URL, e.Op, why, code)
	case KindWrongRegion:
		if e.Region != "" {
			return fmt.Sprintf("%s: bucket %q is in region %s, not %s: set AWS_REGION=%s or --s3-region %s (%s)",
				e.URL, bucket, e.Region, e.signed, e.Region, e.Region, e.Op)
		}
		return fmt.Sprintf("%s: bucket %q is in another region than %s: set AWS_REGION or --s3-region (%s)", e.URL, bucket, e.signed, e.Op)
	}
	return fmt.Sprintf("%s: %s: %v", e.URL, e.Op, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, source.ErrNotFound) true for missing objects and buckets.
func (e *Error) Is(target error) bool {
	return target == source.ErrNotFound && (e.Kind == KindNoBucket || e.Kind == KindNoKey)
}

// classify wraps an SDK error from op on url into an *Error.
func (s *Store) classify(op, url string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	e := &Error{Op: op, URL: url, Err: err, signed: s.region}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
		if re.Response != nil {
			e.Region = re.Response.Header.Get("X-Amz-Bucket-Region")
		}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		e.Code = api.ErrorCode()
	}
	switch e.Code {
	case "NoSuchBucket":
		e.Kind = KindNoBucket
	case "NoSuchKey", "NotFound":
		e.Kind = KindNoKey
	case "AccessDenied", "InvalidAccessKeyId", "XAdminUserNotFound", "SignatureDoesNotMatch", "ExpiredToken",
		"TokenRefreshRequired", "InvalidToken", "AllAccessDisabled", "AccountProblem":
		e.Kind = KindAccessDenied
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException":
		e.Kind = KindWrongRegion
		if e.Region == "" {
			e.Region = regionFromMessage(api)
		}
	default:
		switch {
		case status == 301 || (status == 400 && e.Region != "" && e.Region != s.region):
			e.Kind = KindWrongRegion
		case status == 403:
			e.Kind = KindAccessDenied
		case status == 404 && e.Code == "":
			e.Kind = KindNoKey
		case strings.Contains(err.Error(), "failed to retrieve credentials") ||
			strings.Contains(err.Error(), "no EC2 IMDS role found"):
			e.Kind, e.Code = KindAccessDenied, "NoCredentials"
		}
	}
	return e
}

// regionFromMessage digs "the region 'x' is wrong; expecting 'y'" out of
// an AuthorizationHeaderMalformed message.
func regionFromMessage(api smithy.APIError) string {
	if api == nil {
		return ""
	}
	msg := api.ErrorMessage()
	if i := strings.Index(msg, "expecting '"); i >= 0 {
		rest := msg[i+len("expecting '"):]
		if j := strings.IndexByte(rest, '\''); j > 0 {
			return rest[:j]
		}
	}
	return ""
}

// transient reports whether a failed transfer is worth resuming: network
// errors, truncated bodies, throttling and server errors.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var e *Error
	if errors.As(err, &e) && e.Kind != KindOther {
		return false
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		st := re.HTTPStatusCode()
		return st >= 500 || st == 429 || st == 408
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling", "RequestTimeTooSkewed":
			return true
		}
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// Bodies cut short, connections reset, and the SDK's own "retry
	// quota exceeded" or "failed to get response" all end up here.
	return true
}
