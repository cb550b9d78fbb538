package restore

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/rdb"
	"github.com/rdbtool/rdbtool/rewrite"
)

// precheck reads every source once before anything is written and
// tallies all the target cannot hold (report.Incompatible), with the flag
// that leaves each out: the run is then refused as a whole instead of
// stopping, or refusing keys, one kind at a time after writing some. It
// applies the rules the key-by-key path applies (key): values the target
// loads as stored are not decoded; others are re-encoded for the target
// only when their type could hold something it lacks (hashes, streams,
// module values and metadata).
func (e *engine) precheck(sources []Input) error {
	e.databases()
	modules, err := e.targetModules()
	if err != nil {
		return err
	}
	var found rewrite.Findings
	chk := &rewrite.Checker{Opts: rdb.WriterOptions{Target: e.target, Policy: e.o.Policy}}
	for _, in := range sources {
		if err := e.precheckSource(in, chk, modules, &found); err != nil {
			return err
		}
	}
	e.rep.Incompatible = found.List()
	return nil
}

func (e *engine) precheckSource(in Input, chk *rewrite.Checker, modules map[string]bool, found *rewrite.Findings) error {
	r, src, err := e.openReader(in)
	if err != nil {
		return err
	}
	defer src.Close()
	raw, started := false, false
	// A key held twice in one database: a server refuses such a file, and
	// restoring it would keep one occurrence or the other by chance.
	repeats := rewrite.NewRepeatFinder(0, "")
	defer repeats.Close()
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return e.precheckRepeats(in, repeats, found)
		}
		if err != nil {
			return err
		}
		if err := e.ctx.Err(); err != nil {
			return context.Cause(e.ctx)
		}
		if !started {
			started = true
			raw = e.rawCompatible(r.Dialect(), r.Version())
		}
		switch rec.Kind {
		case rdb.KindFunction:
			if !e.hasFunctions() && e.o.Policy&rdb.DropFunctions == 0 {
				found.Add(rewrite.Functions(e.target), 0, nil)
			}
		case rdb.KindKey:
			if e.o.Filter != nil && !e.o.Filter(rec) || rec.ExpireAt != 0 && rec.ExpireAt <= e.now {
				continue
			}
			if rec.Type == rdb.TypeModule && e.o.SkipModules {
				continue
			}
			db := e.targetDB(rec.DB)
			switch {
			case e.cluster && db != 0:
				found.Add(rewrite.Reason{What: fmt.Sprintf("keys of database %d: a cluster has only database 0", db),
					Flag: "--map-db", Hint: fmt.Sprintf("--map-db %d:0 moves them, --db leaves other databases out", rec.DB)}, rec.DB, rec.Key)
				continue
			case db >= e.ndb:
				found.Add(rewrite.Reason{What: fmt.Sprintf("keys of database %d: the target has %d databases", db, e.ndb),
					Flag: "--map-db", Hint: fmt.Sprintf("--map-db %d:N (N below %d) moves them, --db leaves other databases out", rec.DB, e.ndb)}, rec.DB, rec.Key)
				continue
			}
			if err := repeats.Add(db, rec.Key, rec.Offset); err != nil {
				return err
			}
			if rec.Type == rdb.TypeModule {
				m, err := r.Module()
				if err != nil {
					return err
				}
				// A module's type names differ from its name in MODULE
				// LIST (ReJSON-RL is ReJSON's): only a target without
				// any module is known not to hold them.
				if len(modules) == 0 {
					found.Add(rewrite.Modules(fmt.Sprintf("module values (type %s): the target has no modules loaded", m.Name)), rec.DB, rec.Key)
					continue
				}
				if len(rec.KeyMeta) == 0 || raw {
					continue
				}
			}
			if raw && len(rec.KeyMeta) == 0 {
				continue
			}
			if why, bad, err := chk.Key(r, rec); err != nil {
				return err
			} else if bad {
				found.Add(why, rec.DB, rec.Key)
			}
		}
	}
}

// precheckRepeats finishes the search for keys a source holds twice in
// one database.
func (e *engine) precheckRepeats(in Input, f *rewrite.RepeatFinder, found *rewrite.Findings) error {
	open := func() (*rdb.Reader, io.Closer, error) {
		return e.openReader(in)
	}
	place := func(rec *rdb.Record) (int, bool) { return e.targetDB(rec.DB), true }
	rep, err := f.Finish(e.ctx, open, place, rewrite.KeepFirst)
	if err != nil {
		return err
	}
	found.AddN(rewrite.Reason{What: fmt.Sprintf("keys met more than once in one target database in %q (repeated in the file, or brought together by --map-db): which one the target keeps would be chance", in.Name),
		Hint: "leave some out (--db, --match), or have rdbtool convert --on-duplicate keep-first or keep-last write a file that keeps one"}, rep.Keys, rep.Examples)
	return nil
}

// targetDB is where a key of source database db goes.
func (e *engine) targetDB(db int) int {
	if e.o.MapDB != nil {
		return e.o.MapDB(db)
	}
	if db == 0 {
		return e.ep.DB
	}
	return db
}

// hasFunctions: the target loads function libraries (Redis 7.0+, Valkey).
func (e *engine) hasFunctions() bool { return e.tgtMajor >= 7 || e.valkey }

// targetModules is the set of module names and type names loaded on
// every master (MODULE LIST), lower case.
func (e *engine) targetModules() (map[string]bool, error) {
	var all map[string]bool
	err := e.eachMaster(func(addr string, c *redis.Client) error {
		l, err := c.Do(e.ctx, "MODULE", "LIST").Slice()
		if err != nil {
			if _, reply := redisErr(err); reply {
				l = nil // no MODULE command (renamed, ACL): as if none
			} else {
				return fmt.Errorf("%s: MODULE LIST: %v", addr, err)
			}
		}
		here := map[string]bool{}
		for _, m := range l {
			fields, _ := m.([]any)
			for i := 0; i+1 < len(fields); i += 2 {
				if k, _ := fields[i].(string); k == "name" {
					if v, ok := fields[i+1].(string); ok {
						here[strings.ToLower(v)] = true
					}
				}
			}
		}
		if all == nil {
			all = here
			return nil
		}
		for k := range all {
			if !here[k] {
				delete(all, k)
			}
		}
		return nil
	})
	return all, err
}
