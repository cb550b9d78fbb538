package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/columnar"
	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/s3src"
)

// parquetMemoryLimit holds the Go heap of a Parquet export well inside
// the 256 MiB the export promises (row groups take at most 128 MiB; an
// S3 upload 16 MiB per file; the rest is readers and the runtime).
const parquetMemoryLimit = 200 << 20

// parquetOutput is where "--format parquet -o OUT" writes: one file (a
// local path, an s3:// object, or "-"), or a directory or s3:// prefix
// (ending in "/") that gets a Hive-partitioned tree.
type parquetOutput struct {
	out       string
	overwrite bool
}

// partitioned tells whether OUT names a directory or prefix.
func (o parquetOutput) partitioned() bool {
	if strings.HasSuffix(o.out, "/") {
		return true
	}
	if s3src.IsURL(o.out) || o.out == "-" {
		return false
	}
	fi, err := os.Stat(o.out)
	return err == nil && fi.IsDir()
}

// s3Store returns a Store for writing Parquet: two 8 MiB parts in flight
// per file, so that parallel uploads stay within the memory bound.
func s3Store(ctx context.Context) (*s3src.Store, error) {
	if _, err := s3src.Default(ctx); err != nil { // applies the --s3-* flags
		return nil, err
	}
	o := s3src.DefaultOptions()
	o.PartSize, o.UploadConcurrency = 8<<20, 2
	return s3src.New(ctx, o)
}

// dest returns the destination of a partitioned export.
func (o parquetOutput) dest(ctx context.Context) (columnar.Dest, error) {
	if s3src.IsURL(o.out) {
		st, err := s3Store(ctx)
		if err != nil {
			return nil, err
		}
		return &s3Dest{store: st, base: o.out, overwrite: o.overwrite}, nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	return &localDest{dir: o.out, overwrite: o.overwrite}, nil
}

// file opens the single output file.
func (o parquetOutput) file(cmd *cobra.Command) (columnar.DestFile, error) {
	ctx := cmd.Context()
	if o.out == "-" {
		w := cmd.OutOrStdout()
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return nil, fmt.Errorf("refusing to write Parquet to a terminal: give -o FILE")
		}
		return nopDestFile{w}, nil
	}
	if s3src.IsURL(o.out) {
		st, err := s3Store(ctx)
		if err != nil {
			return nil, err
		}
		return (&s3Dest{store: st, overwrite: o.overwrite}).create(ctx, o.out)
	}
	return (&localDest{overwrite: o.overwrite}).create(o.out)
}

type nopDestFile struct{ io.Writer }

func (nopDestFile) Close() error { return nil }
func (nopDestFile) Abort() error { return nil }

// localDest writes under a directory. A file is written beside its final
// name and renamed into place when complete, so that a failed or
// interrupted export leaves no partial file an engine would read.
type localDest struct {
	dir       string
	overwrite bool
}

func (d *localDest) Create(ctx context.Context, path string) (columnar.DestFile, error) {
	return d.create(filepath.Join(d.dir, filepath.FromSlash(path)))
}

func (d *localDest) create(name string) (columnar.DestFile, error) {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return nil, err
	}
	if !d.overwrite {
		if _, err := os.Stat(name); err == nil {
			return nil, fmt.Errorf("%s exists (--overwrite replaces it)", name)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp makes the file private; the export is data to share.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &localFile{File: f, name: name, overwrite: d.overwrite}, nil
}

type localFile struct {
	*os.File
	name      string
	overwrite bool
}

func (f *localFile) Close() error {
	if err := f.File.Sync(); err != nil {
		f.Abort()
		return err
	}
	if err := f.File.Close(); err != nil {
		os.Remove(f.File.Name())
		return err
	}
	if !f.overwrite {
		// Link fails when the name appeared meanwhile; rename would not.
		err := os.Link(f.File.Name(), f.name)
		os.Remove(f.File.Name())
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists (--overwrite replaces it)", f.name)
		}
		return err
	}
	return os.Rename(f.File.Name(), f.name)
}

func (f *localFile) Abort() error {
	f.File.Close()
	return os.Remove(f.File.Name())
}

// s3Dest writes objects under an s3:// prefix; an object appears only
// when its upload completes.
type s3Dest struct {
	store     *s3src.Store
	base      string // s3://bucket/prefix/
	overwrite bool
}

func (d *s3Dest) Create(ctx context.Context, path string) (columnar.DestFile, error) {
	return d.create(ctx, d.base+path)
}

func (d *s3Dest) create(ctx context.Context, url string) (columnar.DestFile, error) {
	if !d.overwrite {
		u, err := s3src.ParseURL(url)
		if err != nil {
			return nil, err
		}
		_, err = d.store.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(u.Bucket), Key: aws.String(u.Key)})
		if err == nil {
			return nil, fmt.Errorf("%s exists (--overwrite replaces it)", url)
		}
		var re *awshttp.ResponseError
		if !errors.As(err, &re) || re.HTTPStatusCode() != 404 {
			return nil, fmt.Errorf("%s: checking whether it exists: %w", url, err)
		}
	}
	return d.store.Create(ctx, url)
}

// runParquetExport is "memory --format parquet".
func runParquetExport(cmd *cobra.Command, rf *readerFlags, names []string, out parquetOutput, opts columnar.ExportOptions) error {
	debug.SetMemoryLimit(parquetMemoryLimit)
	ctx := cmd.Context()
	opts.Shard = s3src.ShardNumber
	if out.partitioned() {
		dest, err := out.dest(ctx)
		if err != nil {
			return &exitError{2, err}
		}
		stats, err := columnar.ExportPartitioned(ctx, rf.inputs(names), dest, opts)
		if err != nil {
			return &exitError{2, err}
		}
		for _, f := range stats.Files {
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d keys from %s\n", f.Path, f.Rows, strings.Join(f.Inputs, ", "))
		}
		return nil
	}
	f, err := out.file(cmd)
	if err != nil {
		return &exitError{2, err}
	}
	if _, err := columnar.Export(ctx, rf.inputs(names), f, opts); err != nil {
		f.Abort()
		return &exitError{2, err}
	}
	if err := f.Close(); err != nil {
		return &exitError{2, err}
	}
	return nil
}

// inputs opens each name with the reader flags, for the library calls
// that read several files.
func (f *readerFlags) inputs(names []string) []analyze.Input {
	inputs := make([]analyze.Input, len(names))
	for i, name := range names {
		inputs[i] = analyze.Input{Name: name, Open: func(ctx context.Context) (*rdb.Reader, func() error, error) {
			src, r, err := f.open(ctx, name)
			if err != nil {
				return nil, nil, err
			}
			return r, src.Close, nil
		}}
	}
	return inputs
}

// parquetFlags are memory's flags for --format parquet.
type parquetFlags struct {
	out       string
	overwrite bool
	seps      string
	depth     int
	now       int64
	parallel  int
}

func (f *parquetFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "output", "o", "", "write the result to FILE instead of standard output, complete or not at all; parquet: a file, a directory or s3://bucket/prefix/ (ending in /: Hive-partitioned by snapshot_date and shard), or - for standard output")
	fl.BoolVar(&f.overwrite, "overwrite", false, "replace the -o FILE (parquet: files) if it exists")
	fl.StringVar(&f.seps, "separators", ":", "parquet: characters that separate key prefix segments (as analyze)")
	fl.IntVar(&f.depth, "depth", 2, "parquet: prefix levels of the prefix column (as analyze; 0: none)")
	fl.Int64Var(&f.now, "now", 0, "parquet: snapshot time for TTLs and partitions, Unix seconds (default: each file's ctime)")
	fl.IntVar(&f.parallel, "parallel", 0, "parquet: files read at once into a partitioned output (default: number of CPUs; at most 4, to stay within 256 MiB)")
}

// used tells whether a Parquet-only flag was given.
func (f *parquetFlags) used(cmd *cobra.Command) bool {
	for _, name := range []string{"separators", "depth", "now", "parallel"} {
		if cmd.Flags().Changed(name) {
			return true
		}
	}
	return false
}

func (f *parquetFlags) run(cmd *cobra.Command, rf *readerFlags, names []string, model analyze.Options, keep func(*analyze.Key) bool) error {
	if f.out == "" {
		return &exitError{2, fmt.Errorf("--format parquet needs -o FILE, -o DIR/ or -o s3://bucket/prefix/")}
	}
	if f.depth < 0 {
		return &exitError{2, fmt.Errorf("--depth must be 0 or more")}
	}
	model.Separators, model.Depth, model.NoPrefixes, model.Parallel = f.seps, f.depth, f.depth == 0, f.parallel
	if f.now > 0 {
		model.Now = time.Unix(f.now, 0)
	}
	opts := columnar.ExportOptions{Model: model, Keep: keep}
	return runParquetExport(cmd, rf, names, parquetOutput{out: f.out, overwrite: f.overwrite}, opts)
}

// writeDiffParquet is "diff --format parquet". The inputs are read once
// more for the estimated memory of the keys reported (a live server's
// column stays null), holding a quarter of --mem-limit of rows at a time,
// and row groups are cut at another quarter: the comparison's tables are
// gone by then.
func writeDiffParquet(cmd *cobra.Command, res *diff.Result, inputs [2]diff.Input, out parquetOutput, seps string, depth int, memLimit int64) error {
	if strings.HasSuffix(out.out, "/") {
		return fmt.Errorf("diff writes one Parquet file: -o names a file, not the directory %s", out.out)
	}
	f, err := out.file(cmd)
	if err != nil {
		return err
	}
	o := columnar.DiffOptions{
		OldSource: inputs[0].Name, NewSource: inputs[1].Name,
		Prefixer:     analyze.NewPrefixer(analyze.Options{Separators: seps, Depth: depth, NoPrefixes: depth <= 0}),
		MemoryBudget: memLimit / 4,
		Writer:       columnar.WriterOptions{RowGroupBytes: max(memLimit/4, 4<<20)},
	}
	openers := [2]*columnar.Opener{&o.Old, &o.New}
	for i, in := range inputs {
		*openers[i] = in.Open // nil for a server or a shard set: no estimates
	}
	if _, err := columnar.WriteDiff(cmd.Context(), f, res, o); err != nil {
		f.Abort()
		return err
	}
	return f.Close()
}
