package rewrite

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/rdb"
)

// SlotRanges divides the cluster's slots, 0 to 16383, into ranges of n
// slots (the last may be shorter).
func SlotRanges(n int) ([]SlotRange, error) {
	if n < 1 || n > 16384 {
		return nil, fmt.Errorf("--slots-per-file %d: use 1 to 16384", n)
	}
	var out []SlotRange
	for lo := 0; lo < 16384; lo += n {
		out = append(out, SlotRange{lo, min(lo+n-1, 16383)})
	}
	return out, nil
}

// Split writes the keys of r that o keeps to one file per slot range, as
// the nodes of a cluster owning those slots would hold them: ranges[i]'s
// to outs[i], all in database 0, function libraries and module aux data
// in every file. ranges must be consecutive and of one length but for
// the last (SlotRanges, or a run of its result). first is the record r
// returned last, not yet copied (nil: none). A key whose database o does
// not send to 0 (o.Filter's DBs, o.MapDB) is an error naming the flags,
// since a cluster node has only database 0. The files are complete when
// Split returns nil; on an error the caller discards every out.
func Split(ctx context.Context, r *rdb.Reader, first *rdb.Record, wo rdb.WriterOptions, o ConvertOptions, ranges []SlotRange, outs []io.Writer) ([]*Converter, error) {
	if len(ranges) == 0 || len(ranges) != len(outs) {
		return nil, errors.New("rewrite.Split: one output per slot range")
	}
	convs := make([]*Converter, len(ranges))
	for i := range ranges {
		co := o
		f := KeyFilter{Slots: &ranges[i]}
		if o.Filter != nil {
			f = *o.Filter
			f.Slots = &ranges[i]
		}
		co.Filter = &f
		c, err := NewConverter(outs[i], wo, co)
		if err != nil {
			return nil, err
		}
		convs[i] = c
		if err := c.Start(); err != nil {
			return nil, err
		}
	}
	all := &Converter{o: o} // only its Keeps: the command's filters
	lo, per := ranges[0].First, ranges[0].Last-ranges[0].First+1
	rec := first
	for {
		if rec == nil {
			var err error
			if rec, err = r.Next(); err == io.EOF {
				break
			} else if err != nil {
				return nil, err
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var err error
		switch rec.Kind {
		case rdb.KindKey:
			if !all.Keeps(rec) {
				break
			}
			if err = splitDB(o, rec); err != nil {
				return nil, err
			}
			slot := rdb.KeySlot(rec.Key)
			if i := (slot - lo) / per; slot >= lo && i < len(convs) && slot <= ranges[i].Last {
				err = convs[i].Record(r, rec)
			}
		case rdb.KindFunction, rdb.KindModuleAux:
			for _, c := range convs {
				if err = c.Record(r, rec); err != nil {
					break
				}
			}
		}
		if err != nil {
			if errors.Is(err, rdb.ErrUnsupported) {
				// List everything else the target cannot hold too.
				var found Findings
				found.Add(Classify(rec, convs[0].wo), rec.DB, keyOf(rec))
				if err := convs[0].CheckAll(r, nil, &found); err != nil {
					return nil, err
				}
				return nil, found.Err()
			}
			if rec.Kind == rdb.KindKey {
				return nil, fmt.Errorf("key %q: %w", rec.Key, err)
			}
			return nil, err
		}
		rec = nil
	}
	for i, c := range convs {
		if err := c.Close(); err != nil {
			return nil, fmt.Errorf("slots %d-%d: %w", ranges[i].First, ranges[i].Last, err)
		}
	}
	return convs, nil
}

// SplitPlacement is where Split puts a key record, for FindRepeats: 0,
// when o keeps it and sends its database there.
func SplitPlacement(o ConvertOptions) Placement {
	all := &Converter{o: o}
	return func(rec *rdb.Record) (int, bool) {
		return 0, all.Keeps(rec) && o.MapDB.DB(rec.DB) == 0
	}
}

// splitDB refuses a key record whose database is neither chosen (--db)
// nor mapped to 0 (--map-db).
func splitDB(o ConvertOptions, rec *rdb.Record) error {
	db := o.MapDB.DB(rec.DB)
	if db == 0 {
		return nil
	}
	if len(o.MapDB) == 0 && (o.Filter == nil || o.Filter.DBs == nil) {
		return fmt.Errorf("the input has keys in database %d (e.g. %q): a cluster node has only database 0; choose with --db N (keep one database) or --map-db %d:0 (merge it into database 0)", rec.DB, rec.Key, rec.DB)
	}
	return fmt.Errorf("key %q of database %d: a cluster node has only database 0 and --db/--map-db do not send database %d there (add --map-db %d:0, or leave it out with --db)", rec.Key, rec.DB, rec.DB, rec.DB)
}
