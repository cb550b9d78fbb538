package s3src

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Writer streams an object to S3 through a multipart upload (a single
// PutObject when it ends up smaller than one part). The object appears
// only when Close succeeds; Abort, CloseWithError or any failure leaves
// no object and no pending upload behind.
//
// Memory: the uploader holds Options.UploadConcurrency parts of
// Options.PartSize bytes. S3 allows 10,000 parts, so the default 16 MiB
// parts cap an object at about 156 GiB; raise PartSize for more.
type Writer struct {
	url  string
	ctx  context.Context // cancelled: Close fails and nothing is created
	pw   *io.PipeWriter
	done chan struct{}
	err  error // the upload's result, once done is closed
	// cleanup is set when a failed upload's parts could not be deleted.
	cleanup error
	once    sync.Once
	res     error // what Close/Abort return
}

// Create starts writing s3://bucket/key on the default Store.
func Create(ctx context.Context, url string) (*Writer, error) {
	s, err := Default(ctx)
	if err != nil {
		return nil, err
	}
	return s.Create(ctx, url)
}

// Create starts an upload to s3://bucket/key. Write the content, then
// Close to complete it, or Abort to discard it.
func (s *Store) Create(ctx context.Context, url string) (*Writer, error) {
	u, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if u.Key == "" || strings.HasSuffix(u.Key, "/") {
		return nil, fmt.Errorf("%s: an object name is needed, not a prefix", url)
	}
	pr, pw := io.Pipe()
	w := &Writer{url: url, ctx: ctx, pw: pw, done: make(chan struct{})}
	up := manager.NewUploader(s.cli, func(m *manager.Uploader) {
		m.PartSize = s.opts.PartSize
		m.Concurrency = s.opts.UploadConcurrency
		// Aborting is done here, with a context that outlives a
		// cancelled one, so an interrupted upload leaves nothing behind.
		m.LeavePartsOnError = true
	})
	// The caller's cancellation stops the upload by failing its body, not
	// by cancelling requests in flight: a CreateMultipartUpload cancelled
	// after the server acted on it leaves an upload whose ID the client
	// never learns, and so can never abort. Requests are cancelled only
	// if the upload has not wound down a while later.
	upCtx, stopUpload := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer stopUpload()
		select {
		case <-ctx.Done():
			pw.CloseWithError(&abortError{ctx.Err()})
			select {
			case <-w.done:
			case <-time.After(30 * time.Second):
			}
		case <-w.done:
		}
	}()
	go func() {
		defer close(w.done)
		_, err := up.Upload(upCtx, &s3.PutObjectInput{
			Bucket: aws.String(u.Bucket),
			Key:    aws.String(u.Key),
			Body:   pr,
		})
		if err != nil {
			var mf manager.MultiUploadFailure
			if errors.As(err, &mf) && mf.UploadID() != "" {
				actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				_, aerr := s.cli.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{
					Bucket: aws.String(u.Bucket), Key: aws.String(u.Key), UploadId: aws.String(mf.UploadID()),
				})
				cancel()
				if aerr != nil {
					w.cleanup = fmt.Errorf("%s: aborting multipart upload %s failed, its parts remain: %w", url, mf.UploadID(), s.classify("AbortMultipartUpload", url, aerr))
					err = fmt.Errorf("%w; %v", err, w.cleanup)
				}
			}
			var ae *abortError
			if !errors.As(err, &ae) {
				err = s.classify(uploadOp(err), url, unwrapUpload(err))
			}
		}
		w.err = err
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.Close()
		}
	}()
	return w, nil
}

// abortError marks an upload stopped by the writer's side.
type abortError struct{ err error }

func (e *abortError) Error() string { return "upload aborted: " + e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

// uploadOp names the S3 operation an upload error came from.
func uploadOp(err error) string {
	msg := err.Error()
	for _, op := range []string{"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload", "PutObject"} {
		if strings.Contains(msg, op) {
			return op
		}
	}
	return "upload"
}

// unwrapUpload returns the SDK error inside the uploader's wrapping.
func unwrapUpload(err error) error {
	var mf manager.MultiUploadFailure
	if errors.As(err, &mf) {
		if inner := errors.Unwrap(mf); inner != nil {
			return inner
		}
	}
	return err
}

// Write sends p on its way. An error means the upload has failed.
func (w *Writer) Write(p []byte) (int, error) {
	n, err := w.pw.Write(p)
	if err != nil {
		<-w.done
		if w.err != nil {
			return n, w.err
		}
	}
	return n, err
}

// Close completes the upload; the object exists once it returns nil.
func (w *Writer) Close() error {
	w.once.Do(func() {
		if err := w.ctx.Err(); err != nil {
			// Cancelled before Close: never complete the upload, even if
			// the watcher has not failed its body yet.
			w.pw.CloseWithError(&abortError{err})
		} else {
			w.pw.Close()
		}
		<-w.done
		w.res = w.err
	})
	return w.res
}

// CloseWithError abandons the upload because of err: no object is
// created and the parts sent so far are deleted. It returns nil once the
// upload is cleaned up, or the error that prevented it.
func (w *Writer) CloseWithError(err error) error {
	if err == nil {
		err = errors.New("aborted")
	}
	w.once.Do(func() {
		w.pw.CloseWithError(&abortError{err})
		<-w.done
		w.res = w.cleanup
		if w.err == nil {
			// The upload completed before the abort reached it.
			w.res = fmt.Errorf("%s: upload completed before it could be aborted", w.url)
		}
	})
	return w.res
}

// Abort is CloseWithError with a generic reason.
func (w *Writer) Abort() error { return w.CloseWithError(errors.New("aborted by caller")) }
