package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rdbtool/rdbtool/rdb"
)

// mutateStats counts what mutate changed.
type mutateStats struct {
	Keys, Dropped, ChangedValues, ChangedTTLs int64
}

func (s mutateStats) String() string {
	return fmt.Sprintf("%d keys in: %d dropped, %d string values changed, %d TTLs changed",
		s.Keys, s.Dropped, s.ChangedValues, s.ChangedTTLs)
}

// mutate writes a copy of src to dst for the diff benchmark, in src's own
// RDB version, with about 1% of the keys dropped, 1% of the string keys
// given another value and 1% of the keys another TTL (an hour later, or
// 30 days from now for keys without one). Which keys is fixed by their
// position in the file, so two runs on the same file make the same
// changes. Everything else is copied with rdb.Writer.CopyKey, including the
// source's aux fields (so ctime, which decides what diff counts as
// expired, is the source's).
func mutate(src, dst string) (st mutateStats, err error) {
	in, err := os.Open(src)
	if err != nil {
		return st, err
	}
	defer in.Close()
	r := rdb.NewReader(in, rdb.WithName(filepath.Base(src)))
	rec, err := r.Next()
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%s: no records", src)
		}
		return st, err
	}
	target, err := rdb.TargetOf(r)
	if err != nil {
		return st, err
	}
	out, err := os.Create(dst)
	if err != nil {
		return st, err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dst)
		}
	}()
	bw := bufio.NewWriterSize(out, 1<<20)
	w, err := rdb.NewWriter(bw, rdb.WriterOptions{Target: target})
	if err != nil {
		return st, err
	}
	newTTL := time.Now().Add(30 * 24 * time.Hour).UnixMilli()
	var strs int64
	for {
		switch rec.Kind {
		case rdb.KindAux:
			err = w.WriteAux(rec.AuxKey, rec.AuxValue)
		case rdb.KindSelectDB:
			err = w.SelectDB(rec.DB)
		case rdb.KindResizeDB:
			err = w.ResizeDB(rec.DBSize, rec.ExpiresSize)
		case rdb.KindFunction:
			err = w.WriteFunction(rec.Function)
		case rdb.KindModuleAux:
			err = w.WriteModuleAux(rec.ModuleAux)
		case rdb.KindSlotInfo:
			err = w.WriteSlotInfo(rec.Slot, rec.SlotKeys, rec.SlotExpires)
		case rdb.KindKey:
			n := st.Keys
			st.Keys++
			isStr := rec.Type == rdb.TypeString
			if isStr {
				strs++
			}
			switch {
			case n%100 == 50: // dropped: Next skips the value
				st.Dropped++
			case n%100 == 51:
				h := rec.KeyHeader()
				if h.ExpireAt != 0 {
					h.ExpireAt += time.Hour.Milliseconds()
				} else {
					h.ExpireAt = newTTL
				}
				st.ChangedTTLs++
				err = w.CopyValue(r, rec, h)
			case isStr && strs%100 == 7:
				var v []byte
				if v, err = r.ReadString(); err == nil {
					nv := append(append([]byte(nil), v...), "~mutated"...)
					st.ChangedValues++
					err = w.WriteString(rec.KeyHeader(), nv)
				}
			default:
				err = w.CopyKey(r, rec)
			}
			if err != nil {
				err = fmt.Errorf("key %q: %w", rec.Key, err)
			}
		}
		if err != nil {
			return st, err
		}
		if rec, err = r.Next(); err == io.EOF {
			break
		} else if err != nil {
			return st, err
		}
	}
	if err = w.Close(); err != nil {
		return st, err
	}
	err = bw.Flush()
	return st, err
}
