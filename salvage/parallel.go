package salvage

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime"
	"sort"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb"
)

// errNotClean ends a parallel scan at the first problem: Scan reports it.
var errNotClean = errors.New("salvage: not clean")

// checkedRecord is what a worker of ScanParallel learnt about one record.
type checkedRecord struct {
	isKey, expires bool
	db             int
	size           int64
	hash           uint64 // digest of db and key
	offset         int64
}

// ScanParallel is Scan for a file that turns out intact, on every core:
// records are framed on one goroutine, with the CRC-64 checked as the file
// is read, and every value is decoded and validated as Scan validates it
// by workers goroutines (0: runtime.GOMAXPROCS), with rdb.ReadParallel.
// clean reports that the whole file read and validated without a single
// problem; the Result then holds Scan's figures for it (file, version,
// checksum status, keys and bytes per database). Otherwise clean is false
// and the Result nil: damage, a duplicate key, bytes after the trailer,
// anything at all, is for Scan to report, as only it resynchronises after
// damage and explains it. err is set only when ctx ended the scan or the
// file changed while it was read (rdb.ErrChanged).
// Options.Record and a forced Version are not supported (clean is false).
func ScanParallel(ctx context.Context, ra io.ReaderAt, size int64, opts Options, workers int) (res *Result, clean bool, err error) {
	if opts.Record != nil || opts.Version != 0 {
		return nil, false, nil
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ropts := []rdb.Option{rdb.WithName(opts.Name), rdb.WithSize(size)}
	if opts.AllowNewer {
		ropts = append(ropts, rdb.AllowNewerVersions())
	}
	if opts.SkipChecksum {
		ropts = append(ropts, rdb.WithoutChecksum())
	}
	if f, ok := ra.(*os.File); ok {
		// A local file: workers read their records themselves (a remote
		// object's ReaderAt would make a request per batch).
		ropts = append(ropts, rdb.WithReaderAt(f))
	}
	r := rdb.NewReader(io.NewSectionReader(ra, 0, size), ropts...)
	seed := hashSeed()
	validators := make([]*validator, workers+1) // by Worker.ID: one goroutine each
	res = &Result{Name: opts.Name, Size: size, HeaderOK: true, EOF: true}
	dbs := map[int]*DBSummary{}
	// Digest only reads the set's seed: the workers call it; Add is the
	// sink's.
	keys := keydigest.New(keydigest.Options{MemLimit: opts.MemLimit, TempDir: opts.TempDir})
	defer keys.Close()
	err = rdb.ReadParallel(ctx, r, rdb.ParallelOptions{Workers: workers}, rdb.ParallelHandler[checkedRecord]{
		Work: func(w *rdb.Worker, rec *rdb.Record, out *checkedRecord) error {
			out.db = rec.DB
			if rec.Kind != rdb.KindKey {
				return nil
			}
			v := validators[w.ID]
			if v == nil {
				v = &validator{name: opts.Name, quick: opts.Quick, seed: seed}
				validators[w.ID] = v
			}
			if _, err := v.check(w.Reader, rec); err != nil || v.note != 0 {
				return errNotClean // notes too are Scan's to give
			}
			if err := w.Reader.Skip(); err != nil {
				return errNotClean
			}
			if rec.Type == rdb.TypeString && len(rec.Key) == 0 && rec.Size <= 3 && rec.ExpireAt == 0 {
				return errNotClean // zeroed bytes, as Scan reports them
			}
			out.isKey, out.size, out.expires = true, rec.Size, rec.ExpireAt != 0
			out.hash = keys.Digest(rec.DB, rec.Key)
			out.offset = rec.Offset
			return nil
		},
		Sink: func(c *checkedRecord) error {
			res.Records++
			if !c.isKey {
				return nil
			}
			if _, dup, err := keys.Add(c.hash, c.offset); dup || err != nil {
				return errNotClean // a key read twice in one database, or a spill failed
			}
			res.Keys++
			res.KeyBytes += c.size
			d := dbs[c.db]
			if d == nil {
				d = &DBSummary{DB: c.db}
				dbs[c.db] = d
			}
			d.Keys++
			d.Bytes += c.size
			if c.expires {
				d.Expires++
			}
			return nil
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		if errors.Is(err, rdb.ErrChanged) {
			// Rewritten while it was read: what is damaged, if anything,
			// cannot be told from this read, nor from another one while
			// the writing may go on.
			return nil, false, err
		}
		return nil, false, nil
	}
	if r.Offset() != size {
		return nil, false, nil // bytes after the trailer
	}
	if keys.Finish(func(keydigest.Dup) error { return errNotClean }) != nil {
		return nil, false, nil // a repeat found among the spilled digests
	}
	res.Dialect, res.Version, res.KeyDB = r.Dialect(), r.Version(), r.KeyDB()
	res.Checksum, _ = r.Checksum()
	if opts.SkipChecksum {
		res.Checksum = rdb.ChecksumSkipped // as Scan says, even of a zero trailer
	}
	for _, d := range dbs {
		res.DBs = append(res.DBs, *d)
	}
	sort.Slice(res.DBs, func(i, j int) bool { return res.DBs[i].DB < res.DBs[j].DB })
	return res, true, nil
}
