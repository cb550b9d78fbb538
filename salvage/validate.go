package salvage

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"math"

	"github.com/rdbtool/rdbtool/rdb"
)

// validator decodes a key's whole value and checks what the reader does
// not: unique members of sets, sorted sets and hash fields, sorted-set
// order in compact encodings, stream IDs in order and stream counters and
// consumer groups that agree with the entries.
type validator struct {
	name  string
	quick bool
	// trial: the value is read by a resynchronisation trial, where counts
	// are often damaged bytes: little room for members is reserved ahead.
	trial   bool
	seed    maphash.Seed
	members hashSet
	prevMem []byte
	// note: what the last check found that Redis accepts (an empty
	// collection, a stream length that differs from its entries); 0 none.
	note     ProblemKind
	noteWhat string

	// Members of a large collection waiting for their uniqueness check,
	// done in batches (see flushMembers); their names are in pendNames.
	pend      []pendingMember
	pendNames []byte
	sink      uint64
}

// pendingMember is a member read but not yet checked for uniqueness: its
// hash, the reader's offset after it, and its name in pendNames.
type pendingMember struct {
	h          uint64
	off        int64
	start, end int
}

// memberBatch is how many members of a large collection are checked for
// uniqueness together; batchFrom is the declared size from which they are.
const (
	memberBatch = 64
	batchFrom   = 1 << 12
)

// noted records a note about the value being checked.
func (v *validator) noted(k ProblemKind, format string, args ...any) {
	v.note, v.noteWhat = k, fmt.Sprintf(format, args...)
}

// reserveMax bounds the room reserved for a collection's members before
// reading them: a table that grows inserts every member again at each
// doubling, but the count may be damaged bytes, and in a trial it often is
// (each trial would pay for clearing the table).
func reserveMax(trial bool) uint64 {
	if trial {
		return 1 << 10
	}
	return 1 << 20 // a 16 MiB table, as a set that large grows to anyway
}

// inconsistency is a value that decodes but breaks a rule servers keep.
type inconsistency struct{ err *rdb.Error }

// asInconsistency returns the *inconsistency in err's chain, or nil. A
// function of its own: the target errors.As is given escapes to the heap,
// and a variable of the scanner's loop would then be allocated for every
// record, error or not (in the profile of checking mixed.rdb with 20 MiB
// zeroed, whose heap is large, 0.58 s; 0.07 s for the intact file).
func asInconsistency(err error) *inconsistency {
	if err == nil {
		return nil
	}
	var inc *inconsistency
	if errors.As(err, &inc) {
		return inc
	}
	return nil
}

func (v *validator) fail(r *rdb.Reader, rec *rdb.Record, format string, args ...any) error {
	return v.failAt(r.Offset(), rec, format, args...)
}

func (v *validator) failAt(off int64, rec *rdb.Record, format string, args ...any) error {
	return &inconsistency{&rdb.Error{Name: v.name, Offset: off, Key: append([]byte(nil), rec.Key...), What: fmt.Sprintf(format, args...), Err: rdb.ErrCorrupt}}
}

// memberWhat names a collection's members in messages.
func memberWhat(t rdb.Type) string {
	return map[rdb.Type]string{rdb.TypeSet: "set member", rdb.TypeZSet: "sorted set member", rdb.TypeHash: "hash field"}[t]
}

// flushMembers checks the pending members for uniqueness. In a large
// collection nearly every check misses the cache; touching all the
// batch's slots first lets those misses overlap instead of waiting for
// each in turn. The error is the one the first repeated member would have
// given when it was read.
func (v *validator) flushMembers(rec *rdb.Record) error {
	if len(v.pend) == 0 {
		return nil
	}
	var hs [memberBatch]uint64
	for i, p := range v.pend {
		hs[i] = p.h
	}
	v.sink ^= v.members.touch(hs[:len(v.pend)])
	for _, p := range v.pend {
		if !v.members.add(p.h) {
			name := v.pendNames[p.start:p.end]
			v.pend, v.pendNames = v.pend[:0], v.pendNames[:0]
			return v.failAt(p.off, rec, "%s %q appears twice", memberWhat(rec.Type), trunc(name))
		}
	}
	v.pend, v.pendNames = v.pend[:0], v.pendNames[:0]
	return nil
}

func (e *inconsistency) Error() string { return e.err.Error() }
func (e *inconsistency) Unwrap() error { return e.err }

// compactZSet: types whose members the server keeps in score order.
func compactZSet(t byte) bool { return t == 12 || t == 17 }

// strongType reports whether a value of this type byte confirms its own
// extent: compact blobs carry their total size and a terminator, so a
// wrong length in front of them does not decode.
func strongType(t byte) bool {
	switch t {
	case 9, 10, 11, 12, 13, 14, 16, 17, 18, 20, 23, 25:
		return true
	}
	return false
}

// check decodes the current key's value. weak reports that nothing in the
// value confirms where it ends (a raw string, a plain collection...).
// The error is an *rdb.Error from the reader when the value does not
// decode, or an *inconsistency when it decodes but breaks a rule.
func (v *validator) check(r *rdb.Reader, rec *rdb.Record) (weak bool, err error) {
	weak = !strongType(rec.RDBType)
	v.note = 0
	switch rec.Type {
	case rdb.TypeString:
		_, err = r.ReadString()
		return weak, err
	case rdb.TypeModule:
		return weak, r.VerifyValue()
	case rdb.TypeList:
		if _, err := r.NextElement(); err == io.EOF {
			v.noted(EmptyCollection, "empty list: Redis skips empty collections when it loads the file")
			return weak, nil
		} else if err != nil {
			return weak, err
		}
		return weak, r.VerifyValue()
	case rdb.TypeStream:
		if v.quick {
			return weak, r.VerifyValue()
		}
		return weak, v.stream(r, rec)
	}
	if v.quick {
		return weak, r.VerifyValue()
	}
	v.members.reset()
	batched := false
	if n, ok := r.Len(); ok && n > 64 {
		// The declared count may be damaged bytes: room for more grows as
		// members are read.
		v.members.reserve(int(min(n, reserveMax(v.trial))))
		batched = n >= batchFrom
	}
	v.pend, v.pendNames = v.pend[:0], v.pendNames[:0]
	sorted := rec.Type == rdb.TypeZSet && compactZSet(rec.RDBType)
	prevScore := math.Inf(-1)
	v.prevMem = v.prevMem[:0]
	n := 0
	for {
		e, err := r.NextElement()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ferr := v.flushMembers(rec); ferr != nil {
				return weak, ferr // found before the read error would have been
			}
			return weak, err
		}
		n++
		h := maphash.Bytes(v.seed, e.Member)
		if batched {
			start := len(v.pendNames)
			v.pendNames = append(v.pendNames, trunc(e.Member)...)
			v.pend = append(v.pend, pendingMember{h: h, off: r.Offset(), start: start, end: len(v.pendNames)})
			if len(v.pend) == memberBatch {
				if err := v.flushMembers(rec); err != nil {
					return weak, err
				}
			}
		} else if !v.members.add(h) {
			return weak, v.fail(r, rec, "%s %q appears twice", memberWhat(rec.Type), trunc(e.Member))
		}
		if rec.Type == rdb.TypeZSet {
			if math.IsNaN(e.Score) {
				if err := v.flushMembers(rec); err != nil {
					return weak, err
				}
				return weak, v.fail(r, rec, "sorted set member %q has a NaN score", trunc(e.Member))
			}
			if sorted {
				if e.Score < prevScore || (e.Score == prevScore && bytes.Compare(e.Member, v.prevMem) < 0) {
					if err := v.flushMembers(rec); err != nil {
						return weak, err
					}
					return weak, v.fail(r, rec, "sorted set member %q (score %v) is out of order after score %v", trunc(e.Member), e.Score, prevScore)
				}
				prevScore = e.Score
				v.prevMem = append(v.prevMem[:0], e.Member...)
			}
		}
	}
	if err := v.flushMembers(rec); err != nil {
		return weak, err
	}
	if n == 0 {
		v.noted(EmptyCollection, "empty %s: Redis skips empty collections when it loads the file", rec.Type)
	}
	return weak, nil
}

func (v *validator) stream(r *rdb.Reader, rec *rdb.Record) error {
	var first, last rdb.StreamID
	var n uint64
	for {
		e, err := r.NextStreamEntry()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n > 0 && e.ID.Compare(last) <= 0 {
			return v.fail(r, rec, "stream entry %s does not follow %s: IDs must increase", e.ID, last)
		}
		if n == 0 {
			first = e.ID
		}
		last = e.ID
		n++
	}
	info, err := r.Stream()
	if err != nil {
		return err
	}
	if info.Length != n {
		// Some Redis 7.0 releases wrote this after trims; Redis and
		// redis-check-rdb load it as it is.
		v.noted(StreamLength, "stream length is %d but it holds %d live entries (Redis loads it with length %d)", info.Length, n, info.Length)
	}
	if n > 0 && last.Compare(info.LastID) > 0 {
		return v.fail(r, rec, "stream entry %s is after the stream's last ID %s", last, info.LastID)
	}
	_ = first
	for gi := range info.Groups {
		g := &info.Groups[gi]
		v.members.reset()
		for _, p := range g.Pending {
			if !v.members.add(idHash(p.ID)) {
				return v.fail(r, rec, "group %q: pending entry %s listed twice", trunc(g.Name), p.ID)
			}
		}
		for _, c := range g.Consumers {
			for _, id := range c.Pending {
				if !v.members.has(idHash(id)) {
					return v.fail(r, rec, "group %q: consumer %q owns pending entry %s that the group does not list", trunc(g.Name), trunc(c.Name), id)
				}
			}
		}
	}
	return nil
}

func idHash(id rdb.StreamID) uint64 {
	h := id.Ms*0x9E3779B97F4A7C15 ^ id.Seq
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	return h ^ h>>32
}

// trunc shortens long names in messages.
func trunc(b []byte) []byte {
	if len(b) > 64 {
		return append(append([]byte(nil), b[:64]...), "..."...)
	}
	return b
}
