package restore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/rdbtool/rdbtool/rdb"
)

// VerifyReport is the outcome of comparing the target with the sources:
// per key, that it exists with the same type, the same value (a digest of
// the value DUMP returns, decoded, against the source's) and the same
// expiry.
type VerifyReport struct {
	Checked   int64
	Matched   int64
	Missing   int64
	Different int64
	Expired   int64 // expired between restore and check: not compared
	Issues    []KeyIssue
}

// OK reports whether every key matched.
func (v *VerifyReport) OK() bool { return v.Missing == 0 && v.Different == 0 }

// Print writes a summary.
func (v *VerifyReport) Print(w io.Writer) {
	fmt.Fprintf(w, "  verify: %d keys checked, %d match, %d missing, %d different", v.Checked, v.Matched, v.Missing, v.Different)
	if v.Expired > 0 {
		fmt.Fprintf(w, ", %d expired meanwhile", v.Expired)
	}
	fmt.Fprintln(w)
	for i, is := range v.Issues {
		if i == 50 {
			break
		}
		fmt.Fprintf(w, "    db %d %q: %s\n", is.DB, is.Key, is.Reason)
	}
}

type vitem struct {
	src    string
	db     int
	key    []byte
	digest [32]byte
	expire int64
}

// verify reads the sources again and checks each key they hold (after
// filters, expiry and database mapping) against the target, 512 keys to a
// round.
func (e *engine) verify(sources []Input) (*VerifyReport, error) {
	v := &VerifyReport{}
	var batch []vitem
	flush := func() error {
		rest := batch
		batch = batch[:0]
		for len(rest) > 0 {
			n := 1
			for n < len(rest) && (e.cluster || rest[n].db == rest[0].db) {
				n++
			}
			if err := e.verifyBatch(v, rest[:n]); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return nil
	}
	for idx, in := range sources {
		name := in.Name
		r, src, err := e.openReader(in)
		if err != nil {
			return v, err
		}
		_ = idx
		for {
			rec, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				src.Close()
				return v, err
			}
			if rec.Kind != rdb.KindKey || (e.o.Filter != nil && !e.o.Filter(rec)) || (e.o.SkipModules && rec.Type == rdb.TypeModule) {
				continue
			}
			if rec.ExpireAt != 0 && rec.ExpireAt <= time.Now().UnixMilli() {
				continue
			}
			db := e.targetDB(rec.DB)
			if (e.cluster && db != 0) || db >= e.ndb {
				continue
			}
			it := vitem{src: name, db: db, key: append([]byte(nil), rec.Key...), expire: rec.ExpireAt}
			val, err := r.ReadValue()
			if err != nil {
				src.Close()
				return v, err
			}
			if allFieldsExpired(val, e.now) {
				continue // the restore skipped it: a server would have deleted it
			}
			it.digest = e.valueDigest(val)
			batch = append(batch, it)
			if len(batch) >= 512 {
				if err := flush(); err != nil {
					src.Close()
					return v, err
				}
			}
		}
		src.Close()
	}
	return v, flush()
}

// verifyItem compares one key's DUMP and PTTL from the target with what
// the source holds, and counts the outcome in v.
func (e *engine) verifyItem(v *VerifyReport, it *vitem, dump *redis.StringCmd, pttl *redis.IntCmd, now int64) {
	v.Checked++
	bad := func(missing bool, reason string) {
		if missing {
			v.Missing++
		} else {
			v.Different++
		}
		if len(v.Issues) < 1000 {
			v.Issues = append(v.Issues, KeyIssue{Source: it.src, DB: it.db, Key: string(it.key), Reason: reason})
		}
	}
	d, err := dump.Bytes()
	if errors.Is(err, redis.Nil) {
		if it.expire != 0 && it.expire <= now+1000 {
			v.Expired++
			return
		}
		bad(true, "missing from the target")
		return
	}
	if err != nil {
		bad(false, "DUMP: "+err.Error())
		return
	}
	dg, err := payloadDigest(d, e.now, e.fieldTTLsKept())
	if err != nil {
		bad(false, "cannot decode the target's DUMP: "+err.Error())
		return
	}
	if dg != it.digest {
		bad(false, "value differs")
		return
	}
	pt := pttl.Val()
	switch {
	case it.expire == 0 && pt != -1:
		bad(false, fmt.Sprintf("has a TTL (%d ms) the source does not", pt))
		return
	case it.expire != 0 && (pt < 0 || math.Abs(float64(now+pt-it.expire)) > 5000):
		bad(false, fmt.Sprintf("expiry differs: PTTL %d, source expires at %d (in %d ms)", pt, it.expire, it.expire-now))
		return
	}
	v.Matched++
}

// verifyBatch checks items (of one database when standalone) in one
// pipeline.
func (e *engine) verifyBatch(v *VerifyReport, items []vitem) error {
	p := e.pipeliner(items[0].db).Pipeline()
	dumps := make([]*redis.StringCmd, len(items))
	pttls := make([]*redis.IntCmd, len(items))
	for i := range items {
		dumps[i] = redis.NewStringCmd(e.ctx, "DUMP", items[i].key)
		pttls[i] = redis.NewIntCmd(e.ctx, "PTTL", items[i].key)
		p.Process(e.ctx, dumps[i])
		p.Process(e.ctx, pttls[i])
	}
	p.Exec(e.ctx)
	now := time.Now().UnixMilli()
	for i := range items {
		for _, err := range []error{dumps[i].Err(), pttls[i].Err()} {
			if _, isReply := redisErr(err); err != nil && !isReply {
				return err
			}
		}
		e.verifyItem(v, &items[i], dumps[i], pttls[i], now)
	}
	return nil
}

// allFieldsExpired reports a hash every field of which has expired by now.
func allFieldsExpired(v *rdb.Value, now int64) bool {
	if v.Type != rdb.TypeHash || len(v.Hash) == 0 {
		return false
	}
	for _, f := range v.Hash {
		if f.ExpireAt == 0 || f.ExpireAt > now {
			return false
		}
	}
	return true
}

// valueDigest digests a source value as the target should hold it.
func (e *engine) valueDigest(v *rdb.Value) [32]byte {
	return digestValue(v, e.now, e.fieldTTLsKept())
}

// fieldTTLsKept: the target holds hash field TTLs (and they are compared).
func (e *engine) fieldTTLsKept() bool { return e.tgtVer >= 12 }

func payloadDigest(p []byte, now int64, fieldTTLs bool) ([32]byte, error) {
	r, err := rdb.NewDumpReader(p, rdb.AllowNewerVersions())
	if err != nil {
		return [32]byte{}, err
	}
	if _, err := r.Next(); err != nil {
		return [32]byte{}, err
	}
	v, err := r.ReadValue()
	if err != nil {
		return [32]byte{}, err
	}
	return digestValue(v, now, fieldTTLs), nil
}

// digestValue is a canonical digest: element order only where the type
// has one, hash fields without expired ones, stream entries and groups.
func digestValue(v *rdb.Value, now int64, fieldTTLs bool) [32]byte {
	h := sha256.New()
	var num [8]byte
	put := func(b []byte) {
		binary.LittleEndian.PutUint64(num[:], uint64(len(b)))
		h.Write(num[:])
		h.Write(b)
	}
	putN := func(n uint64) {
		binary.LittleEndian.PutUint64(num[:], n)
		h.Write(num[:])
	}
	putN(uint64(v.Type))
	switch v.Type {
	case rdb.TypeString:
		put(v.String)
	case rdb.TypeList:
		for _, it := range v.Items {
			put(it)
		}
	case rdb.TypeSet:
		items := append([][]byte(nil), v.Items...)
		sort.Slice(items, func(i, j int) bool { return bytes.Compare(items[i], items[j]) < 0 })
		for _, it := range items {
			put(it)
		}
	case rdb.TypeZSet:
		z := append([]rdb.ScoredMember(nil), v.ZSet...)
		sort.Slice(z, func(i, j int) bool { return bytes.Compare(z[i].Member, z[j].Member) < 0 })
		for _, m := range z {
			put(m.Member)
			putN(math.Float64bits(m.Score))
		}
	case rdb.TypeHash:
		f := make([]rdb.HashField, 0, len(v.Hash))
		for _, x := range v.Hash {
			if x.ExpireAt != 0 && x.ExpireAt <= now {
				continue
			}
			f = append(f, x)
		}
		sort.Slice(f, func(i, j int) bool { return bytes.Compare(f[i].Field, f[j].Field) < 0 })
		for _, x := range f {
			put(x.Field)
			put(x.Value)
			if fieldTTLs {
				putN(uint64(x.ExpireAt))
			}
		}
	case rdb.TypeStream:
		s := v.Stream
		for _, en := range s.Entries {
			putN(en.ID.Ms)
			putN(en.ID.Seq)
			for _, f := range en.Fields {
				put(f)
			}
		}
		putN(s.LastID.Ms)
		putN(s.LastID.Seq)
		for _, g := range s.Groups {
			put(g.Name)
			putN(g.LastID.Ms)
			putN(g.LastID.Seq)
			for _, p := range g.Pending {
				putN(p.ID.Ms)
				putN(p.ID.Seq)
				put(p.Consumer)
				putN(p.DeliveryCount)
			}
		}
	case rdb.TypeModule:
		putN(v.Module.ID)
		put(v.Module.Raw)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
