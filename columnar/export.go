package columnar

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

// ExportOptions configure Export and ExportPartitioned.
type ExportOptions struct {
	// Model holds the memory model (Allocator, ServerVersion, Deep), the
	// reference time of TTLs (Now), the prefix column's Separators and
	// Depth (NoPrefixes: no prefix column), and how many inputs are read
	// at once (Parallel, default GOMAXPROCS; at most 4, which keeps an
	// export within 256 MiB), as for analyze.
	Model analyze.Options
	// Keep, when set, selects the keys written.
	Keep func(*analyze.Key) bool
	// Shard names an input's shard ("" for none); the CLI uses
	// s3src.ShardNumber.
	Shard func(name string) string
	// Writer tunes the files; its RowGroupBytes is lowered to share
	// MemoryBudget between the writers running at once. Encoders, when
	// 0, is two on two or more CPUs for one file written at a time, one
	// per file when several are written at once (two encoders hold
	// more batches and parts: once, not per file, within 256 MiB).
	Writer WriterOptions
	// MemoryBudget bounds the row groups buffered by all writers
	// together (default 128 MiB).
	MemoryBudget int64
}

const (
	defaultMemoryBudget = 128 << 20
	maxParallel         = 4
)

// parallel is how many inputs are read at once: at most maxParallel,
// which keeps the writers and their readers within the memory bound.
func (o ExportOptions) parallel() int {
	p := o.Model.Parallel
	if p <= 0 {
		p = runtime.GOMAXPROCS(0)
	}
	return min(p, maxParallel)
}

// writerOptions are those of each of parallel writers running at once:
// a lone writer encodes its columns on two goroutines when there are
// two CPUs, and the row groups of all share MemoryBudget.
func (o ExportOptions) writerOptions(parallel int) WriterOptions {
	w := o.Writer
	budget := o.MemoryBudget
	if budget <= 0 {
		budget = defaultMemoryBudget
	}
	if w.Encoders <= 0 {
		w.Encoders = 1
		if parallel == 1 && runtime.GOMAXPROCS(0) >= 2 {
			w.Encoders = 2
		}
	}
	share := max(budget/int64(parallel), 4<<20)
	if w.RowGroupBytes <= 0 || w.RowGroupBytes > share {
		w.RowGroupBytes = min(share, defaultRowGroupBytes)
	}
	return w
}

// ExportStats counts what an export wrote.
type ExportStats struct {
	Files []ExportedFile
}

// ExportedFile is one file written.
type ExportedFile struct {
	Path   string // relative to the destination; "" for Export's single file
	Inputs []string
	Rows   int64
}

// Export writes the keys of every input, in input order, into one
// Parquet file on w.
func Export(ctx context.Context, inputs []analyze.Input, w io.Writer, opts ExportOptions) (ExportStats, error) {
	pw := NewWriter[KeyRow](w, opts.writerOptions(1))
	f := ExportedFile{}
	for _, in := range inputs {
		shard := ""
		if opts.Shard != nil {
			shard = opts.Shard(in.Name)
		}
		if err := exportInput(ctx, in, shard, opts, func(*analyze.FileMeta) (*Writer[KeyRow], error) { return pw, nil }); err != nil {
			return ExportStats{}, err
		}
		f.Inputs = append(f.Inputs, in.Name)
	}
	if err := pw.Close(); err != nil {
		return ExportStats{}, err
	}
	f.Rows = pw.Rows()
	return ExportStats{Files: []ExportedFile{f}}, nil
}

// Dest is where a partitioned export creates its files.
type Dest interface {
	// Create starts the file at path (slash-separated, relative). The
	// file must not be visible under path until Close succeeds, and Abort
	// must leave nothing behind. Create may be called concurrently.
	Create(ctx context.Context, path string) (DestFile, error)
}

// DestFile is a file being written to a Dest.
type DestFile interface {
	io.Writer
	Close() error
	Abort() error
}

// PartitionPath is the Hive-style path of an input's file:
// snapshot_date=YYYY-MM-DD/shard=NNNN/part-NNNNN.parquet. A snapshot
// without a shard number goes under shard=__HIVE_DEFAULT_PARTITION__,
// which Hive, Athena, Spark and Trino read as null.
func PartitionPath(snapshot time.Time, shard string, part int) string {
	if shard == "" {
		shard = hiveNull
	}
	return fmt.Sprintf("snapshot_date=%s/shard=%s/part-%05d.parquet", snapshot.UTC().Format(time.DateOnly), shard, part)
}

const hiveNull = "__HIVE_DEFAULT_PARTITION__"

// ErrNoSnapshotTime is returned by ExportPartitioned for an input whose
// date is unknown: it has no ctime aux field and ExportOptions.Model.Now
// is not set.
var ErrNoSnapshotTime = errors.New("no ctime aux field to date the snapshot")

// ExportPartitioned writes one file per input under dest, Hive-style
// partitioned by the snapshot's date (its ctime, UTC; Model.Now when
// set) and shard, reading several inputs at once. Files of inputs with
// the same shard are numbered part-00000, part-00001, ... in input
// order. On error, files not yet complete are aborted; complete ones
// stay, and the stats list them.
func ExportPartitioned(ctx context.Context, inputs []analyze.Input, dest Dest, opts ExportOptions) (ExportStats, error) {
	parallel := opts.parallel()
	wopts := opts.writerOptions(min(parallel, max(len(inputs), 1)))
	shards := make([]string, len(inputs))
	parts := make([]int, len(inputs))
	seen := map[string]int{}
	for i, in := range inputs {
		if opts.Shard != nil {
			shards[i] = opts.Shard(in.Name)
		}
		parts[i] = seen[shards[i]]
		seen[shards[i]]++
	}
	files := make([]ExportedFile, len(inputs))
	errs := make([]error, len(inputs))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, in := range inputs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			var (
				df DestFile
				pw *Writer[KeyRow]
			)
			open := func(meta *analyze.FileMeta) (*Writer[KeyRow], error) {
				if pw != nil {
					return pw, nil
				}
				at := opts.Model.Now
				if at.IsZero() {
					if meta.CTime == 0 {
						return nil, fmt.Errorf("%s: %w; pass --now to date it", in.Name, ErrNoSnapshotTime)
					}
					at = time.Unix(meta.CTime, 0)
				}
				path := PartitionPath(at, shards[i], parts[i])
				var err error
				if df, err = dest.Create(ctx, path); err != nil {
					return nil, err
				}
				files[i] = ExportedFile{Path: path, Inputs: []string{in.Name}}
				pw = NewWriter[KeyRow](df, wopts)
				return pw, nil
			}
			err := exportInput(ctx, in, shards[i], opts, open)
			if err == nil {
				err = pw.Close()
			}
			if err == nil {
				files[i].Rows = pw.Rows()
				err = df.Close()
			}
			if err != nil {
				if df != nil {
					df.Abort()
				}
				files[i] = ExportedFile{}
				errs[i] = err
				cancel()
			}
		}()
	}
	wg.Wait()
	var stats ExportStats
	for _, f := range files {
		if f.Path != "" {
			stats.Files = append(stats.Files, f)
		}
	}
	// The first error that is not the cancellation it caused.
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return stats, err
		}
	}
	for _, err := range errs {
		if err != nil {
			return stats, err
		}
	}
	return stats, nil
}

// exportInput reads one input and writes its keys to the writer open
// returns; open is called once the file's aux fields are known (at the
// first key, or at the end of a file without keys).
func exportInput(ctx context.Context, in analyze.Input, shard string, opts ExportOptions, open func(*analyze.FileMeta) (*Writer[KeyRow], error)) error {
	r, closer, err := in.Open(ctx)
	if err != nil {
		return err
	}
	err = scanInto(ctx, in.Name, shard, r, opts, open)
	if closer != nil {
		if cerr := closer(); err == nil {
			err = cerr
		}
	}
	return err
}

func scanInto(ctx context.Context, name, shard string, r *rdb.Reader, opts ExportOptions, open func(*analyze.FileMeta) (*Writer[KeyRow], error)) error {
	var (
		meta   analyze.FileMeta
		info   FileInfo
		pw     *Writer[KeyRow]
		row    KeyRow
		scalar keyScalars
	)
	prefixer := analyze.NewPrefixer(opts.Model)
	err := analyze.ScanFile(ctx, r, opts.Model, &meta, func(k *analyze.Key) error {
		if pw == nil {
			var err error
			if pw, err = open(&meta); err != nil {
				return err
			}
			info = NewFileInfo(name, shard, &meta, opts.Model.Now)
		}
		if opts.Keep != nil && !opts.Keep(k) {
			return nil
		}
		fillKeyRow(&row, &scalar, &info, k, prefixer)
		return pw.Write(&row)
	})
	if err != nil {
		return err
	}
	if pw == nil {
		_, err = open(&meta) // an empty snapshot still gets its (empty) file
	}
	return err
}
