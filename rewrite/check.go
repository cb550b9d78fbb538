package rewrite

import (
	"errors"
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/rdb"
)

// The reasons a target cannot hold something, each with the flag that
// leaves it out.

// FieldTTLs: hash fields with TTLs for a target before Redis 7.4.
func FieldTTLs(t rdb.Target) Reason {
	return Reason{What: fmt.Sprintf("hash field TTLs: the target (%v) has none (Redis 7.4+)", t), Flag: "--drop-field-ttls"}
}

// Streams: stream metadata the target's stream layout lacks.
func Streams(t rdb.Target) Reason {
	return Reason{What: fmt.Sprintf("stream metadata the target's stream layout (%v) lacks", t), Flag: "--downgrade-streams"}
}

// KeyMeta: module key metadata for a target before Redis 8.6.
func KeyMeta(t rdb.Target) Reason {
	return Reason{What: fmt.Sprintf("module key metadata: the target (%v) has none (Redis 8.6+)", t), Flag: "--drop-key-meta"}
}

// Functions: function libraries for a target before Redis 7.0.
func Functions(t rdb.Target) Reason {
	return Reason{What: fmt.Sprintf("function libraries: the target (%v) has none (Redis 7.0+)", t), Flag: "--drop-functions"}
}

// Modules: module values or module aux data the target cannot hold.
func Modules(what string) Reason {
	return Reason{What: what, Flag: "--skip-modules"}
}

// Checker finds, without writing anything, whether a target can hold a
// record, by the same rules the rdb.Writer applies when it writes one:
// it reads a value only when its type could hold something the target
// lacks (hashes, streams, module values, keys with module metadata).
type Checker struct {
	Opts rdb.WriterOptions // the target and policy the records are for
	w    *rdb.Writer
}

// Key checks a key record whose value r is positioned at (the value may
// be consumed). It returns the reason when the target cannot hold it.
func (c *Checker) Key(r *rdb.Reader, rec *rdb.Record) (Reason, bool, error) {
	switch rec.Type {
	case rdb.TypeString, rdb.TypeList, rdb.TypeSet, rdb.TypeZSet:
		if len(rec.KeyMeta) == 0 {
			return Reason{}, false, nil
		}
	}
	o := c.Opts
	o.NoCompression = true
	_, err := rdb.EncodeDumpFrom(r, rec, o)
	switch {
	case err == nil, errors.Is(err, rdb.ErrAllFieldsExpired), errors.Is(err, rdb.ErrEmptyCollection):
		return Reason{}, false, nil
	case errors.Is(err, rdb.ErrUnsupported):
		return Classify(rec, o), true, nil
	}
	return Reason{}, false, err
}

// Classify names the reason of an rdb.ErrUnsupported error met writing
// rec for opts.
func Classify(rec *rdb.Record, opts rdb.WriterOptions) Reason {
	t := opts.Target
	switch {
	case rec.Kind == rdb.KindFunction:
		return Functions(t)
	case rec.Kind == rdb.KindModuleAux:
		return Modules(fmt.Sprintf("module aux data: the target (%v) has no place for it (RDB 9+)", t))
	case len(rec.KeyMeta) > 0 && opts.Policy&rdb.DropKeyMeta == 0:
		return KeyMeta(t)
	case rec.Type == rdb.TypeModule:
		return Modules(fmt.Sprintf("module values: the target (%v) has no module types (RDB 8+)", t))
	case rec.Type == rdb.TypeHash:
		return FieldTTLs(t)
	case rec.Type == rdb.TypeStream && t.Dialect == rdb.DialectRedis && t.Version < 9:
		return Reason{What: fmt.Sprintf("streams: the target (%v) has none (Redis 5.0+)", t), Flag: ""}
	case rec.Type == rdb.TypeStream:
		return Streams(t)
	}
	return Reason{What: fmt.Sprintf("%s values the target (%v) cannot hold", rec.Type, t), Flag: ""}
}

// Record checks a function library or module aux data record.
func (c *Checker) Record(rec *rdb.Record) (Reason, bool, error) {
	if c.w == nil {
		w, err := rdb.NewWriter(io.Discard, c.Opts)
		if err != nil {
			return Reason{}, false, err
		}
		c.w = w
	}
	var err error
	switch rec.Kind {
	case rdb.KindFunction:
		err = c.w.WriteFunction(rec.Function)
	case rdb.KindModuleAux:
		err = c.w.WriteModuleAux(rec.ModuleAux)
	default:
		return Reason{}, false, nil
	}
	if errors.Is(err, rdb.ErrUnsupported) {
		return Classify(rec, c.Opts), true, nil
	}
	return Reason{}, false, err
}
