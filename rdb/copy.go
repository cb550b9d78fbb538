package rdb

import (
	"errors"
	"fmt"
	"io"
)

// CopyOptions configures Copy. The zero value copies everything the target
// can hold, with the aux fields chosen as Copy describes.
type CopyOptions struct {
	// Keep, when set, is asked about every key record (before its value is
	// read); false leaves the key out, its value skipped unread.
	Keep func(rec *Record) bool
	// MapDB, when set, gives the target database of each source database.
	MapDB func(db int) int
	// KeepAux, when set, replaces the default choice of the source's aux
	// fields to copy (see Copy). A kept redis-ver is still rewritten for
	// the target.
	KeepAux func(key []byte) bool
	// ServerVersion is the redis-ver written in place of the source's;
	// "" is DefaultServerVersion of the Writer's target.
	ServerVersion string
	// SkipModules leaves out module keys and module aux data, which a
	// server without the module refuses to load.
	SkipModules bool
}

// Copy transcodes every record of r, from the current position to the end
// of the input, into w, then closes w. It is the loop of "rdbtool
// convert": read with r, write with w, so that the output is what a
// server of w's target writes for the same data. Each record goes through
// CopyRecord, except as opts says (filters, database mapping, aux fields).
//
// Aux fields: a server reads redis-ver as the version that wrote the file,
// so redis-ver is rewritten to opts.ServerVersion (by default one that
// writes the target format). redis-bits, ctime and used-mem, facts about
// the snapshot, are kept; aof-base is written as 0, as the output is a
// standalone file; valkey-ver is kept for a Valkey target and left out
// otherwise. The rest (repl-id, repl-offset, repl-stream-db: the source
// server's replication position, wrong on any other server; lua; KeyDB's
// and other vendors' fields) is left out, except that KeyDB's member
// expiries (EXPIREMEMBER), which no target can hold, fail with
// ErrUnsupported: leaving them out would keep members that were to
// expire; a KeepAux that returns false for them does. A source without aux fields
// (RDB 6 and older) gives an output without them.
//
// Without Keep, MapDB and SkipModules, database selections, resize hints
// and cluster slot statistics are copied where they are. With any of
// them, databases are selected before their first copied key (a database
// all of whose keys are left out is not selected), and the hints and
// statistics are left out, as their counts would be wrong. Valkey slot import records,
// the state of a migration on the source cluster, are left out.
//
// Copy stops at the first error, which names the key when there is one;
// it then aborts w (Writer.Abort), so that the incomplete output does not
// end as a valid file would.
// Writer errors wrap ErrUnsupported when the target cannot hold something
// the Writer's Policy does not allow to leave out, ErrDuplicateKey when the
// input (or MapDB) puts a key twice in one database.
func Copy(w *Writer, r *Reader, opts CopyOptions) error {
	c := copier{w: w, o: opts, cur: -1, whole: opts.Keep == nil && opts.MapDB == nil && !opts.SkipModules}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return w.Close()
		}
		if err == nil {
			err = c.record(r, rec)
		}
		if err != nil {
			w.Abort()
			return err
		}
	}
}

// copier is the state of one Copy.
type copier struct {
	w     *Writer
	o     CopyOptions
	cur   int  // the target database selected, -1 before the first
	whole bool // every key is copied to its own database: hints stay true
}

func (c *copier) record(r *Reader, rec *Record) error {
	w := c.w
	switch rec.Kind {
	case KindKey:
		if c.o.Keep != nil && !c.o.Keep(rec) || c.o.SkipModules && rec.Type == TypeModule {
			return r.Skip()
		}
		if err := c.selectDB(rec.DB); err != nil {
			return err
		}
		return w.CopyKey(r, rec)
	case KindSelectDB:
		if c.whole {
			return c.selectDB(rec.DB)
		}
		return nil // selected before its first kept key
	case KindResizeDB, KindSlotInfo:
		if !c.whole {
			return nil
		}
	case KindModuleAux:
		if c.o.SkipModules {
			return nil
		}
	case KindAux:
		if c.o.KeepAux == nil {
			return w.copyAuxDefault(rec, c.o.ServerVersion)
		}
		if !c.o.KeepAux(rec.AuxKey) {
			return nil
		}
		return w.copyAux(rec, c.o.ServerVersion)
	}
	return w.CopyRecord(r, rec)
}

// selectDB selects the target database of source database db, if not
// selected already.
func (c *copier) selectDB(db int) error {
	to := db
	if c.o.MapDB != nil {
		to = c.o.MapDB(db)
	}
	if to == c.cur {
		return nil
	}
	if err := c.w.SelectDB(to); err != nil {
		return err
	}
	c.cur = to
	return nil
}

// CopyRecord writes one record that r.Next returned, transcoded for the
// target as Copy does without options:
//
//   - a key (with its expiry, LRU/LFU data and module key metadata) by
//     CopyKey; empty collections are left out, as a server skips them;
//   - a database selection, resize hint, function library, module aux
//     record or cluster slot statistics by the Writer method of that name,
//     each under the target's rules (a target without functions fails
//     unless Policy has DropFunctions; slot statistics exist only in Redis
//     RDB 12 and later, and are left out otherwise);
//   - an aux field as Copy describes: redis-ver rewritten for the target,
//     the snapshot's own facts kept, the source server's state left out,
//     KeyDB member expiries refused;
//   - a Valkey slot import record is left out.
//
// It returns nil for a record it leaves out.
func (w *Writer) CopyRecord(r *Reader, rec *Record) error {
	switch rec.Kind {
	case KindKey:
		return w.CopyKey(r, rec)
	case KindSelectDB:
		return w.SelectDB(rec.DB)
	case KindResizeDB:
		return w.ResizeDB(rec.DBSize, rec.ExpiresSize)
	case KindAux:
		return w.copyAuxDefault(rec, "")
	case KindFunction:
		return w.WriteFunction(rec.FunctionCode())
	case KindModuleAux:
		return w.WriteModuleAux(rec.ModuleAux)
	case KindSlotInfo:
		return w.WriteSlotInfo(rec.Slot, rec.SlotKeys, rec.SlotExpires)
	case KindSlotImport:
		return nil
	}
	return errors.New("rdb: CopyRecord of a " + rec.Kind.String() + " record")
}

// copyAuxDefault writes an aux field as Copy does without KeepAux. KeyDB's
// member expiries (EXPIREMEMBER, stored as aux fields after their key) are
// refused: no Redis or Valkey file can hold them, and leaving them out
// would make members that were to expire live on.
func (w *Writer) copyAuxDefault(rec *Record, serverVersion string) error {
	switch string(rec.AuxKey) {
	case "keydb-subexpire-key", "keydb-subexpire-when":
		return fmt.Errorf("rdb: %w: KeyDB member expiry (aux field %s=%q), which no Redis or Valkey file can hold; CopyOptions.KeepAux can leave it out", ErrUnsupported, rec.AuxKey, rec.AuxValue)
	}
	if !w.defaultAuxKept(rec.AuxKey) {
		return nil
	}
	return w.copyAux(rec, serverVersion)
}

// defaultAuxKept reports whether Copy keeps a source aux field by default.
func (w *Writer) defaultAuxKept(key []byte) bool {
	switch string(key) {
	case "redis-ver", "redis-bits", "ctime", "used-mem", "aof-base":
		return true
	case "valkey-ver":
		return w.t.valkey()
	}
	return false
}

// copyAux writes a kept aux field, rewritten where the source's value is
// not true of the output.
func (w *Writer) copyAux(rec *Record, serverVersion string) error {
	switch string(rec.AuxKey) {
	case "redis-ver":
		if serverVersion == "" {
			serverVersion = DefaultServerVersion(w.t)
		}
		return w.WriteAux(rec.AuxKey, []byte(serverVersion))
	case "aof-base":
		return w.WriteAux(rec.AuxKey, []byte("0"))
	}
	return w.WriteAux(rec.AuxKey, rec.AuxValue)
}

// FunctionCode returns the source of the function library of a
// KindFunction record in the form FUNCTION LOAD takes and RDB 10 and
// later store: for libraries of the Redis 7.0 release candidates, which
// stored the name and engine apart, the "#!<engine> name=<name>" line is
// put back in front of the code.
func (rec *Record) FunctionCode() []byte {
	if len(rec.FunctionName) == 0 || (len(rec.Function) > 2 && string(rec.Function[:2]) == "#!") {
		return rec.Function
	}
	eng := []byte("lua")
	if len(rec.FunctionEngine) > 0 {
		eng = append([]byte(nil), rec.FunctionEngine...)
		for i, c := range eng {
			if c >= 'A' && c <= 'Z' {
				eng[i] = c + 32
			}
		}
	}
	out := append([]byte("#!"), eng...)
	out = append(out, " name="...)
	out = append(out, rec.FunctionName...)
	out = append(out, '\n')
	return append(out, rec.Function...)
}
