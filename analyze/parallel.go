package analyze

import (
	"context"
	"maps"
	"runtime"
	"slices"

	"github.com/rdbtool/rdbtool/rdb"
)

// alwaysPipeline makes scans use the parallel engine even with one
// worker, so that tests can compare it with the sequential scan.
var alwaysPipeline = false

// scanWorkers returns how many workers a scan with Options.Jobs = jobs
// runs beside its framing goroutine, 0 for the sequential scan.
func scanWorkers(jobs int) int {
	if jobs <= 0 {
		jobs = runtime.GOMAXPROCS(0)
	}
	if jobs == 1 && !alwaysPipeline {
		return 0
	}
	return jobs
}

// scanResult is what a worker makes of one record.
type scanResult struct {
	k         Key
	isKey     bool
	alloc     uint64 // for the load prediction
	sharedInt bool

	resize          bool // a resize-db hint (for the load prediction)
	dbSize, expSize uint64
}

// scanWorker is one worker's estimator and scratch shape.
type scanWorker struct {
	est   *estimator
	shape rdb.Shape
}

// scanFileParallel is scanFile on rdb.ReadParallel: keys are measured on
// workers, and fn, the load prediction and resize hints see them in file
// order on this goroutine, as in the sequential scan.
//
// meta is written only by the framing goroutine until the first key and
// only here after it: the framing goroutine keeps what it learns later in
// its own copy, which becomes meta at the end.
func scanFileParallel(ctx context.Context, r *rdb.Reader, o scanOptions, workers int, meta *FileMeta, fn func(*Key) error) error {
	var (
		framed  = FileMeta{Aux: map[string]string{}}
		first   *estimator // the file's estimator, fixed at its first key
		perWork = make([]*scanWorker, workers+1)
	)
	h := rdb.ParallelHandler[scanResult]{
		Framing: func(rec *rdb.Record) error {
			switch rec.Kind {
			case rdb.KindAux, rdb.KindFunction, rdb.KindModuleAux:
				framed.add(rec)
			case rdb.KindKey:
				if first == nil {
					first = newFileEstimator(r, o, &framed)
					*meta = framed
					meta.Aux = maps.Clone(framed.Aux)
					meta.ModuleAux = maps.Clone(framed.ModuleAux)
					meta.Functions = slices.Clone(framed.Functions)
				}
			}
			return nil
		},
		Work: func(w *rdb.Worker, rec *rdb.Record, res *scanResult) error {
			switch rec.Kind {
			case rdb.KindResizeDB:
				res.resize, res.k.DB, res.dbSize, res.expSize = true, rec.DB, rec.DBSize, rec.ExpiresSize
			case rdb.KindKey:
				if o.filter != nil && !o.filter(rec) {
					return nil
				}
				sw := perWork[w.ID]
				if sw == nil {
					// The model is read-only; each worker has its own
					// estimator state around it.
					e := newEstimator(first.m)
					e.compressDepth, e.zipNodes = first.compressDepth, first.zipNodes
					sw = &scanWorker{est: e}
					perWork[w.ID] = sw
				}
				mu, sharedInt, err := sw.est.measure(w.Reader, rec, &sw.shape, o.deep, o.gate, o.load != nil, &res.k)
				if err != nil {
					return err
				}
				res.k.Key = w.Keep(res.k.Key)
				if o.loaded {
					res.k.Bytes = uint64(int64(mu) + sw.est.loadDelta)
				}
				if res.k.Bytes < o.minBytes {
					return nil
				}
				res.isKey, res.alloc, res.sharedInt = true, sw.est.allocated(mu), sharedInt
			}
			return nil
		},
		Sink: func(res *scanResult) error {
			switch {
			case res.resize:
				if o.load != nil {
					o.load.resize(res.k.DB, res.dbSize, res.expSize)
				}
			case res.isKey:
				if o.load != nil {
					o.load.key(meta, &res.k, res.alloc, res.sharedInt)
				}
				return fn(&res.k)
			}
			return nil
		},
	}
	err := rdb.ReadParallel(ctx, r, rdb.ParallelOptions{Workers: workers}, h)
	if err == nil && first == nil {
		newFileEstimator(r, o, &framed)
	}
	*meta = framed
	if err != nil {
		return err
	}
	meta.Bytes = r.Offset()
	return nil
}
