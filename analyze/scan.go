package analyze

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// Key is one key as the scanner reports it. Its byte slices are reused:
// copy what must outlive the callback.
type Key struct {
	DB       int
	Key      []byte
	Type     string // the TYPE reply: string, list, ... or the module type name
	Encoding string // OBJECT ENCODING
	// Bytes is the estimated MEMORY USAGE key SAMPLES 0.
	Bytes    uint64
	Elements uint64
	// Largest is the length of the largest element (hash: field or
	// value); LargestKnown is false when it was not measured (compact
	// encodings unless Options.Deep).
	Largest      uint64
	LargestKnown bool
	ExpireAt     int64 // Unix ms, 0 for none
	Freq         int   // LFU counter, -1 when absent
	Idle         int64 // LRU idle seconds, -1 when absent
	StoredBytes  int64 // bytes of the value in the file
	FieldTTLs    uint64
	Module       string // module type name for module values

	offset int64 // the key record's offset in the file
}

// FileMeta is what the scanner learned about a file besides its keys.
type FileMeta struct {
	Name        string
	Dialect     string
	RDBVersion  int
	Server      ServerVersion // the version the model used
	ServerFound bool          // from redis-ver/valkey-ver (else guessed or overridden)
	CTime       int64         // ctime aux, Unix seconds (0 when absent)
	Aux         map[string]string
	Functions   []string // function library names (first line of each)
	ModuleAux   map[string]int
	Bytes       int64 // bytes read
}

// scanOptions is the part of Options the scanner needs.
type scanOptions struct {
	allocator Allocator
	version   *ServerVersion
	deep      bool
	// gate, when set and deep is not, decides which compact blobs are
	// iterated for their largest element.
	gate *deepGate
	// listCompressDepth is the target's list-compress-depth.
	listCompressDepth int
	// load, when set, is given every key for the load prediction.
	load *loadPredictor
	// loaded estimates MEMORY USAGE as after a load of the file, rather
	// than on the server that wrote it.
	loaded bool
	// slot, when set, returns where to build the next key, so that a
	// caller batching keys gets them without a copy; fn is then called
	// with that pointer. The parallel scan does not use it.
	slot func() *Key
	// unslot gives back the last slot, for a key left out by minBytes.
	unslot func()
	// jobs is Options.Jobs.
	jobs int
	// filter and minBytes are Options.Filter and Options.MinBytes.
	filter   func(*rdb.Record) bool
	minBytes uint64
}

// sharedIntegers is OBJ_SHARED_INTEGERS: string values 0..9999 point to
// one shared object instead of an allocation of their own.
const sharedIntegers = 10000

// scanFile reads every record from r, calling fn for each key after its
// estimate is made. meta is filled as aux fields arrive.
func scanFile(ctx context.Context, r *rdb.Reader, o scanOptions, meta *FileMeta, fn func(*Key) error) error {
	if w := scanWorkers(o.jobs); w > 0 {
		return scanFileParallel(ctx, r, o, w, meta, fn)
	}
	var (
		est *estimator
		k   Key
		n   int
		s   = new(rdb.Shape) // reused for every key
	)
	meta.Aux = map[string]string{}
	ensure := func() {
		if est == nil {
			est = newFileEstimator(r, o, meta)
		}
	}
	for {
		if n++; n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			ensure()
			meta.Bytes = r.Offset()
			return nil
		}
		if err != nil {
			return err
		}
		switch rec.Kind {
		case rdb.KindAux, rdb.KindFunction, rdb.KindModuleAux:
			meta.add(rec)
		case rdb.KindResizeDB:
			if o.load != nil {
				o.load.resize(rec.DB, rec.DBSize, rec.ExpiresSize)
			}
		case rdb.KindKey:
			if o.filter != nil && !o.filter(rec) {
				continue
			}
			ensure()
			kp := &k
			if o.slot != nil {
				kp = o.slot()
			}
			mu, sharedInt, err := est.measure(r, rec, s, o.deep, o.gate, o.load != nil, kp)
			if err != nil {
				return err
			}
			if o.loaded {
				kp.Bytes = uint64(int64(mu) + est.loadDelta)
			}
			if kp.Bytes < o.minBytes {
				if o.unslot != nil {
					o.unslot()
				}
				continue
			}
			if o.load != nil {
				o.load.key(meta, kp, est.allocated(mu), sharedInt)
			}
			if err := fn(kp); err != nil {
				return err
			}
		}
	}
}

// newFileEstimator fixes the model for a file once its first key is
// reached (the aux fields come before): the version the caller or the aux
// fields give, else the one the RDB version implies.
func newFileEstimator(r *rdb.Reader, o scanOptions, meta *FileMeta) *estimator {
	var v ServerVersion
	switch {
	case o.version != nil:
		v = *o.version
	case meta.WrittenBy() != "":
		v, meta.ServerFound = ParseServerVersion(meta.WrittenBy())
	}
	if v.Major == 0 {
		v = versionFromRDB(r.Dialect(), r.Version())
	}
	meta.Server = v
	meta.Dialect = r.Dialect().String()
	meta.RDBVersion = r.Version()
	est := newEstimator(newModel(v, o.allocator))
	est.compressDepth = o.listCompressDepth
	est.zipNodes = r.Version() < 10
	return est
}

// add records what an aux field, function library or module aux record
// tells about the file.
func (meta *FileMeta) add(rec *rdb.Record) {
	switch rec.Kind {
	case rdb.KindAux:
		key := string(rec.AuxKey)
		if len(meta.Aux) < 256 {
			meta.Aux[key] = string(rec.AuxValue)
		}
		if key == "ctime" {
			if t, err := strconv.ParseInt(string(rec.AuxValue), 10, 64); err == nil {
				meta.CTime = t
			}
		}
	case rdb.KindFunction:
		meta.Functions = append(meta.Functions, functionName(rec))
	case rdb.KindModuleAux:
		if meta.ModuleAux == nil {
			meta.ModuleAux = map[string]int{}
		}
		meta.ModuleAux[rec.Module.Name]++
	}
}

// measure reads the value of rec (the current key of r) and fills kp with
// its estimate, returning the MEMORY USAGE figure and, when ints is set,
// whether the value is a shared integer object (which takes reading
// int-encoded strings).
func (est *estimator) measure(r *rdb.Reader, rec *rdb.Record, s *rdb.Shape, deep bool, gate *deepGate, ints bool, kp *Key) (mu uint64, sharedInt bool, err error) {
	if sharedInt, err = est.readShape(r, rec, s, deep, gate, ints); err != nil {
		return 0, false, err
	}
	return est.estimate(rec, s, kp), sharedInt, nil
}

// estimate fills kp from the key's record and shape, read by readShape
// (or a value's parts', summed up), and returns its MEMORY USAGE figure.
func (est *estimator) estimate(rec *rdb.Record, s *rdb.Shape, kp *Key) (mu uint64) {
	enc := rec.Encoding
	*kp = Key{
		DB: rec.DB, Key: rec.Key, Type: rec.Type.String(), Encoding: enc,
		Elements: s.Elements, Largest: s.Largest, LargestKnown: s.LargestKnown,
		ExpireAt: rec.ExpireAt, Freq: rec.Freq, Idle: rec.Idle,
		StoredBytes: s.StoredBytes, FieldTTLs: s.FieldTTLs, offset: rec.Offset,
	}
	if rec.Type == rdb.TypeModule {
		kp.Module = s.Module.Name
		kp.Type = s.Module.Name
	}
	mu = est.finish(rec, s)
	kp.Bytes = mu
	return mu
}

// readShape reads the value of rec into s, with the estimator's element
// and node callbacks; sharedInt as for measure.
func (est *estimator) readShape(r *rdb.Reader, rec *rdb.Record, s *rdb.Shape, deep bool, gate *deepGate, ints bool) (sharedInt bool, err error) {
	enc := rec.Encoding
	shapeOpts := est.begin(rec.Type, enc, deep)
	if !deep && gate != nil {
		if rec.Type == rdb.TypeList {
			// Lists are stored as quicklists of one or more nodes (a
			// "listpack" list too, in a file): the gate cannot judge the
			// key by one of them. Either every list is iterated, or none
			// and the scan's caller reads those in top lists again.
			shapeOpts.Deep = !gate.listsLater
		} else {
			est.gate, est.gateRec = gate, rec
			if est.deepIf == nil {
				est.deepIf = func(size, count uint64) bool { return est.gate.wants(est.gateRec, size, count) }
			}
			shapeOpts.DeepIf = est.deepIf
		}
	}
	if ints && enc == "int" && rec.Type == rdb.TypeString {
		// The load prediction needs the value: small integers share one
		// object.
		start := r.Offset()
		v, err := r.ReadString()
		if err != nil {
			return false, err
		}
		sharedInt = isSharedInt(v)
		*s = rdb.Shape{StringLen: uint64(len(v)), Elements: 1, Largest: uint64(len(v)), LargestKnown: true, StoredBytes: r.Offset() - start}
	} else if err := r.ReadShapeInto(s, &shapeOpts); err != nil {
		return false, err
	}
	return sharedInt, nil
}

// functionName returns a library's name: the name= of its shebang line,
// or the stored name for the 7.0 release-candidate format.
func functionName(rec *rdb.Record) string {
	if len(rec.FunctionName) > 0 {
		return string(rec.FunctionName)
	}
	src := rec.Function
	line := src
	for i, c := range src {
		if c == '\n' {
			line = src[:i]
			break
		}
	}
	const tag = "name="
	for i := 0; i+len(tag) <= len(line); i++ {
		if string(line[i:i+len(tag)]) == tag {
			rest := line[i+len(tag):]
			end := len(rest)
			for j, c := range rest {
				if c == ' ' || c == '\t' || c == '\r' {
					end = j
					break
				}
			}
			return string(rest[:end])
		}
	}
	if len(line) > 64 {
		line = line[:64]
	}
	return string(line)
}

// WrittenBy returns the server that wrote the file as its aux fields
// name it ("valkey-8.0.1", "redis-7.4.1"; Valkey files carry a redis-ver
// too, for compatibility), or "" when they do not.
func (m *FileMeta) WrittenBy() string {
	if v := m.Aux["valkey-ver"]; v != "" {
		return "valkey-" + v
	}
	if v := m.Aux["redis-ver"]; v != "" {
		return "redis-" + v
	}
	return ""
}

// SnapshotTime is the reference time TTLs are measured from, as analyze
// uses it: override when set, else the end of the file's ctime second,
// else now.
func (m *FileMeta) SnapshotTime(override time.Time) time.Time { return snapshotTime(override, m) }

// ScanFile calls fn with every key of r and its estimate, as ScanKeys
// does, filling meta as the file is read: aux fields come before the
// keys, so by the first call meta holds the dialect, the versions, the
// ctime and the aux fields.
func ScanFile(ctx context.Context, r *rdb.Reader, opts Options, meta *FileMeta, fn func(*Key) error) error {
	return scanFile(ctx, r, scanOptions{allocator: opts.Allocator, version: opts.ServerVersion, deep: opts.Deep, listCompressDepth: opts.ListCompressDepth, jobs: opts.Jobs, filter: opts.Filter, minBytes: opts.MinBytes}, meta, fn)
}

// snapshotTime returns the reference time for TTLs: the override, the
// file's ctime, or now. ctime has whole seconds; the end of that second is
// used, so keys that expired earlier in the same second count as expired.
func snapshotTime(override time.Time, meta *FileMeta) time.Time {
	if !override.IsZero() {
		return override
	}
	if meta.CTime > 0 {
		return time.Unix(meta.CTime, 999e6)
	}
	return time.Now()
}

// ScanKeys calls fn with every key of r and its estimate (Options.Top,
// prefixes and TTL settings are not used). It is what "rdbtool memory"
// runs.
func ScanKeys(ctx context.Context, r *rdb.Reader, opts Options, fn func(*Key) error) (*FileMeta, error) {
	var meta FileMeta
	err := scanFile(ctx, r, scanOptions{allocator: opts.Allocator, version: opts.ServerVersion, deep: opts.Deep, listCompressDepth: opts.ListCompressDepth, jobs: opts.Jobs, filter: opts.Filter, minBytes: opts.MinBytes}, &meta, fn)
	return &meta, err
}

// isSharedInt reports whether v, the text of an int-encoded string (so
// canonical decimal), is one of the integers a server keeps shared
// objects for: 0 to sharedIntegers-1.
func isSharedInt(v []byte) bool {
	if len(v) == 0 || len(v) > 5 || v[0] == '-' {
		return false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n < sharedIntegers
}
