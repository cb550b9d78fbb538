package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rdbtool/rdbtool/s3src"
)

// Take snapshots the server at sourceURL into out, a local path or an
// s3://bucket/key URL, and returns what it took. The snapshot appears under
// out only once it has fully arrived and been verified: a local file is
// written under a temporary name in the same directory, synced and renamed;
// an S3 object is written by a multipart upload that is completed only
// then, and aborted (no object, no parts left) on any failure.
func Take(ctx context.Context, sourceURL, out string, o Options) (Info, error) {
	r, err := Open(ctx, sourceURL, o)
	if err != nil {
		return Info{}, err
	}
	defer r.Close()
	if err := Save(ctx, r, out); err != nil {
		return r.Info(), err
	}
	return r.Info(), nil
}

// Save copies an RDB from src to out (a local path or an s3:// URL) so that
// out exists only if src ends with io.EOF: a Reader's verified end.
func Save(ctx context.Context, src io.Reader, out string) error {
	if s3src.IsURL(out) {
		return saveS3(ctx, src, out)
	}
	return saveFile(src, out)
}

func saveS3(ctx context.Context, src io.Reader, out string) error {
	w, err := s3src.Create(ctx, out)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		if aerr := w.CloseWithError(err); aerr != nil {
			return fmt.Errorf("%w; %v", err, aerr)
		}
		return err
	}
	return w.Close()
}

func saveFile(src io.Reader, out string) error {
	dir := filepath.Dir(out)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(out)+".partial-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("%s: %v", out, err))
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return err
	}
	// The rename is durable once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// remove deletes a saved snapshot (a shard of a set that failed as a
// whole).
func remove(ctx context.Context, name string) error {
	if s3src.IsURL(name) {
		st, err := s3src.Default(ctx)
		if err != nil {
			return err
		}
		return st.Delete(ctx, []string{name})
	}
	err := os.Remove(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
