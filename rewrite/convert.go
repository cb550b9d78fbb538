package rewrite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// ConvertOptions say which records Convert copies and where keys go.
type ConvertOptions struct {
	// Filter selects the keys copied (nil: all). Its MinBytes needs Big
	// set (FindBigKeys) before: Convert does not estimate sizes.
	Filter *KeyFilter
	// MapDB renumbers databases.
	MapDB DBMap
	// SkipModules leaves out module keys and module aux data, for servers
	// without the module.
	SkipModules bool
	// Repeats are the key records to leave out (FindRepeats), found for
	// OnDuplicate; nil: none, and the rdb.Writer refuses a key written
	// twice in one database (rdb.ErrDuplicateKey).
	Repeats     *Repeats
	OnDuplicate OnDuplicate // a key repeated in one database: refused (DuplicateFail, the default) or which record is kept
	// Jobs is how many goroutines re-encode keys beside the one reading
	// (0: one per CPU; 1: all on the caller's goroutine). The output is
	// byte for byte the same.
	Jobs int
}

// ConvertStats count what a Converter left out; the Writer's own Stats
// count what it wrote and dropped.
type ConvertStats struct {
	Filtered int64 // key records the filter (or SkipModules) left out
	Repeated int64 // key records left out as repeats (Repeats)
}

// Converter copies records from an rdb.Reader to an rdb.Writer: every
// key the options keep (re-encoded for the Writer's target, in its
// mapped database), function libraries and module aux data. Of the aux
// fields none is copied: the Writer's own (redis-ver of the target,
// ctime now; see Start) replace them, and the source server's
// replication ids and offsets, Lua scripts and slot info are about a
// server the new file does not come from. Database resize hints are kept
// when no key is left out or moved.
type Converter struct {
	w           *rdb.Writer
	wo          rdb.WriterOptions
	o           ConvertOptions
	curDB       int
	pendingSize *rdb.Record
	merges      map[int]bool
	stats       ConvertStats
}

// NewConverter returns a Converter writing a file for wo to out (through
// an rdb.Writer, which calls out from a goroutine of its own). With
// o.Repeats set, every repeat is known: the Writer does not look for
// them again (wo.AllowDuplicateKeys).
func NewConverter(out io.Writer, wo rdb.WriterOptions, o ConvertOptions) (*Converter, error) {
	if o.Repeats != nil {
		wo.AllowDuplicateKeys = true
	}
	if wo.KeyDigestMemory == 0 {
		wo.KeyDigestMemory = convertDigestMemory
	}
	w, err := rdb.NewWriter(out, wo)
	if err != nil {
		return nil, err
	}
	return &Converter{w: w, wo: wo, o: o, curDB: -1, merges: o.MapDB.Merges()}, nil
}

// Writer is the rdb.Writer the Converter writes with (for its Stats and
// Target).
func (c *Converter) Writer() *rdb.Writer { return c.w }

// Close finishes the file (the checksum trailer) and flushes it to out.
// A key repeated past the Writer's in-memory check is found here, as an
// *UnnamedRepeatError.
func (c *Converter) Close() error {
	err := c.w.Close()
	if errors.Is(err, rdb.ErrDuplicateKey) {
		return &UnnamedRepeatError{fmt.Errorf("%w; --on-duplicate keep-first or keep-last keeps one", err)}
	}
	return err
}

// UnnamedRepeatError is the error of a key the input holds twice in one
// database, found only as the output was completed: the Writer knows it
// by two output offsets, and the error does not name the key.
// FindRepeats, a second read of the input, does. It wraps
// rdb.ErrDuplicateKey.
type UnnamedRepeatError struct{ Err error }

func (e *UnnamedRepeatError) Error() string { return e.Err.Error() }

func (e *UnnamedRepeatError) Unwrap() error { return e.Err }

// Start writes the aux fields a new file begins with.
func (c *Converter) Start() error {
	return c.w.WriteDefaultAux("", time.Now().Unix(), 0)
}

// Stats returns the counts so far.
func (c *Converter) Stats() ConvertStats { return c.stats }

// Keeps reports whether a key record is copied (before repeats are
// considered). It only reads settings: goroutines may call it at once.
func (c *Converter) Keeps(rec *rdb.Record) bool {
	return c.o.Filter.Keep(rec) && !(c.o.SkipModules && rec.Type == rdb.TypeModule)
}

// ConvertPlacement is where a Converter with options o puts a key
// record, for FindRepeats.
func ConvertPlacement(o ConvertOptions) Placement {
	c := &Converter{o: o}
	return func(rec *rdb.Record) (int, bool) { return o.MapDB.DB(rec.DB), c.Keeps(rec) }
}

// beforeKey decides, in file order, whether a kept key is written (not a
// repeat left out) and writes what precedes it (a database selection,
// the resize hint); only rec.DB and rec.Offset are used.
func (c *Converter) beforeKey(rec *rdb.Record) (bool, error) {
	if c.o.Repeats.Skip(rec.Offset) {
		c.stats.Repeated++
		return false, nil
	}
	if db := c.o.MapDB.DB(rec.DB); db != c.curDB {
		if err := c.w.SelectDB(db); err != nil {
			return false, err
		}
		c.curDB = db
		if c.pendingSize != nil && c.pendingSize.DB == rec.DB && !c.o.Filter.Filtering() && len(c.o.MapDB) == 0 {
			if err := c.w.ResizeDB(c.pendingSize.DBSize, c.pendingSize.ExpiresSize); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// keyError names the flag for a key the target file cannot hold twice.
func (c *Converter) keyError(rec *rdb.Record, err error) error {
	if errors.Is(err, rdb.ErrDuplicateKey) {
		db := c.o.MapDB.DB(rec.DB)
		if c.merges[db] {
			return fmt.Errorf("--map-db: a key named %q is already in target db %d (it comes again from db %d): a server refuses a file with a key twice in one database; --on-duplicate keep-first or keep-last keeps one", rec.Key, db, rec.DB)
		}
		return fmt.Errorf("the input holds key %q twice in database %d: a server refuses such a file; --on-duplicate keep-first or keep-last keeps one", rec.Key, rec.DB)
	}
	return err
}

// Record copies one record whose value (for a key) r is positioned at.
func (c *Converter) Record(r *rdb.Reader, rec *rdb.Record) error {
	switch rec.Kind {
	case rdb.KindKey:
		if !c.Keeps(rec) {
			c.stats.Filtered++
			return nil
		}
		if ok, err := c.beforeKey(rec); !ok || err != nil {
			return err
		}
		return c.keyError(rec, c.w.CopyKey(r, rec))
	case rdb.KindResizeDB:
		cp := *rec
		c.pendingSize = &cp
	case rdb.KindFunction:
		return c.w.WriteFunction(rec.Function)
	case rdb.KindModuleAux:
		if !c.o.SkipModules {
			return c.w.WriteModuleAux(rec.ModuleAux)
		}
	}
	return nil
}

// Convert copies first (the record r returned last, not yet copied; nil
// when r is at the start) and every record after it through c. The
// caller closes the Writer. Content the target cannot hold stops the
// copy: with Jobs 1, the rest of r is then read and everything the
// target cannot hold is returned as an *Error (each kind with its count
// and the flag that leaves it out); with more Jobs the error wraps
// rdb.ErrUnsupported, and converting again with Jobs 1 lists it all.
func (c *Converter) Convert(ctx context.Context, r *rdb.Reader, first *rdb.Record) error {
	rec := first
	var err error
	if rec == nil {
		if rec, err = r.Next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
	if jobs := resolveJobs(c.o.Jobs); jobs > 1 {
		return c.convertParallel(ctx, r, rec, jobs)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.Record(r, rec); err != nil {
			if errors.Is(err, rdb.ErrUnsupported) {
				// List everything else the target cannot hold too, so
				// that one run tells every flag needed.
				var found Findings
				found.Add(Classify(rec, c.wo), rec.DB, keyOf(rec))
				if err := c.CheckAll(r, nil, &found); err != nil {
					return err
				}
				return found.Err()
			}
			if rec.Kind == rdb.KindKey {
				return fmt.Errorf("key %q (db %d): %w", rec.Key, rec.DB, err)
			}
			return err
		}
		rec, err = r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// CheckAll reads first (nil: none) and the rest of r, tallying in found
// what the target cannot hold of the records c would copy, writing
// nothing.
func (c *Converter) CheckAll(r *rdb.Reader, first *rdb.Record, found *Findings) error {
	chk := &Checker{Opts: c.wo}
	rec := first
	for {
		if rec != nil {
			if err := c.check(chk, r, rec, found); err != nil {
				return err
			}
		}
		var err error
		rec, err = r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (c *Converter) check(chk *Checker, r *rdb.Reader, rec *rdb.Record, found *Findings) error {
	var why Reason
	var bad bool
	var err error
	switch rec.Kind {
	case rdb.KindKey:
		if !c.Keeps(rec) {
			return nil
		}
		why, bad, err = chk.Key(r, rec)
	case rdb.KindModuleAux:
		if c.o.SkipModules {
			return nil
		}
		why, bad, err = chk.Record(rec)
	case rdb.KindFunction:
		why, bad, err = chk.Record(rec)
	}
	if bad {
		found.Add(why, rec.DB, keyOf(rec))
	}
	return err
}

// keyOf is the key of a key record, nil for other records.
func keyOf(rec *rdb.Record) []byte {
	if rec.Kind == rdb.KindKey {
		return rec.Key
	}
	return nil
}
