package columnar

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/diff"
	"github.com/rdbtool/rdbtool/rdb"
)

// Opener opens a snapshot for one more pass, as diff.Input.Open does.
type Opener func(ctx context.Context) (*rdb.Reader, func() error, error)

// DiffOptions configure WriteDiff.
type DiffOptions struct {
	// OldSource and NewSource name the compared snapshots (the
	// old_source and new_source columns).
	OldSource, NewSource string
	// Prefixer cuts the prefix column (nil: no prefix column).
	Prefixer *analyze.Prefixer
	// Old and New open the compared snapshots once more, to estimate the
	// memory of the keys reported (the estimated_bytes columns); nil for
	// a side that is a live server, whose column is then null.
	Old, New Opener
	// Model is the memory model of the estimates, as for analyze and
	// "rdbtool memory" (the zero value: their defaults).
	Model analyze.Options
	// MemoryBudget bounds the differences held while their estimates are
	// looked up (default 64 MiB). When more differences than fit are
	// reported, the snapshots are read once per budget's worth.
	MemoryBudget int64
	// Writer tunes the file.
	Writer WriterOptions
}

// pendingDiff is a row waiting for the estimates of its key.
type pendingDiff struct {
	row                DiffRow
	oldBytes, newBytes int64
	delta              int64
	haveOld, haveNew   bool
}

// pendingDiffCost is what a pending row is reckoned to take besides its
// key, which it holds twice (the row's, and the copy that is the key of
// the lookup map): the row in a slice that grows by doubling, the small
// values its pointers point to, its map entry.
const pendingDiffCost = 400

// WriteDiff writes every difference of res, one DiffRow each, as a
// Parquet file on w, and returns the rows written. The estimated memory
// of each key reported, on the sides that hold it, comes from reading
// the snapshots again (see DiffOptions.Old): the comparison itself keeps
// no sizes, so that its memory stays with the keys it must pair.
func WriteDiff(ctx context.Context, w io.Writer, res *diff.Result, o DiffOptions) (int64, error) {
	budget := o.MemoryBudget
	if budget <= 0 {
		budget = 64 << 20
	}
	pw := NewWriter[DiffRow](w, o.Writer)
	var (
		pend []pendingDiff
		mem  int64
	)
	flush := func() error {
		if err := o.estimate(ctx, pend); err != nil {
			return err
		}
		for i := range pend {
			if err := pw.Write(&pend[i].row); err != nil {
				return err
			}
		}
		clear(pend)
		pend, mem = pend[:0], 0
		return nil
	}
	err := res.Each(func(kd *diff.KeyDiff) error {
		pend = append(pend, pendingDiff{row: DiffRowOf(kd, o.OldSource, o.NewSource, o.Prefixer)})
		if mem += 2*int64(len(kd.Key)) + pendingDiffCost; mem > budget {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		pw.Close()
		return 0, err
	}
	if err := pw.Close(); err != nil {
		return 0, err
	}
	return pw.Rows(), nil
}

// estimate sets the estimated_bytes columns of pend: each side holding a
// row's key is read once for all of them.
func (o *DiffOptions) estimate(ctx context.Context, pend []pendingDiff) error {
	if len(pend) == 0 {
		return nil
	}
	for side, open := range []Opener{o.Old, o.New} {
		if open == nil {
			continue
		}
		name := [2]string{o.OldSource, o.NewSource}[side]
		want := map[string]int{} // db and key → row
		var buf []byte
		for i := range pend {
			r := &pend[i].row
			if (side == 0 && r.OldType == nil) || (side == 1 && r.NewType == nil) {
				continue // the key is not on this side
			}
			buf = lookupKey(buf[:0], int(r.DB), r.Key)
			want[string(buf)] = i
		}
		if len(want) == 0 {
			continue
		}
		r, closer, err := open(ctx)
		if err != nil {
			return err
		}
		_, err = analyze.ScanKeys(ctx, r, o.Model, func(k *analyze.Key) error {
			buf = lookupKey(buf[:0], k.DB, k.Key)
			i, ok := want[string(buf)]
			if !ok {
				return nil
			}
			delete(want, string(buf))
			if side == 0 {
				pend[i].oldBytes, pend[i].haveOld = int64(k.Bytes), true
			} else {
				pend[i].newBytes, pend[i].haveNew = int64(k.Bytes), true
			}
			return nil
		})
		if closer != nil {
			if cerr := closer(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("%s: estimating the memory of the keys that differ: %w", name, err)
		}
		for _, i := range want {
			r := &pend[i].row
			return fmt.Errorf("%s: key %q of db %d was compared but is not in the file when read again to estimate its memory (did the file change?)",
				name, r.Key, r.DB)
		}
	}
	for i := range pend {
		p := &pend[i]
		r := &p.row
		oldKnown := r.OldType == nil || p.haveOld // absent: 0 bytes
		newKnown := r.NewType == nil || p.haveNew
		if p.haveOld {
			r.OldEstimatedBytes = &p.oldBytes
		}
		if p.haveNew {
			r.NewEstimatedBytes = &p.newBytes
		}
		if oldKnown && newKnown {
			p.delta = p.newBytes - p.oldBytes
			r.EstimatedBytesDelta = &p.delta
		}
	}
	return nil
}

// lookupKey appends a key's database and bytes, the lookup key of the
// estimate pass.
func lookupKey(b []byte, db int, key []byte) []byte {
	b = binary.AppendUvarint(b, uint64(db))
	return append(b, key...)
}
