package salvage

import (
	"bytes"
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
}

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

func (v *validator) fail(r *rdb.Reader, rec *rdb.Record, format string, args ...any) error {
	return &inconsistency{&rdb.Error{Name: v.name, Offset: r.Offset(), Key: append([]byte(nil), rec.Key...), What: fmt.Sprintf(format, args...), Err: rdb.ErrCorrupt}}
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
		return weak, rdb.DecodeValue(r)
	case rdb.TypeList:
		if _, err := r.NextElement(); err == io.EOF {
			v.noted(EmptyCollection, "empty list: Redis skips empty collections when it loads the file")
			return weak, nil
		} else if err != nil {
			return weak, err
		}
		return weak, rdb.DecodeValue(r)
	case rdb.TypeStream:
		if v.quick {
			return weak, rdb.DecodeValue(r)
		}
		return weak, v.stream(r, rec)
	}
	if v.quick {
		return weak, rdb.DecodeValue(r)
	}
	v.members.reset()
	if n, ok := r.Len(); ok && n > 64 {
		// The declared count may be damaged bytes: room for more grows as
		// members are read.
		v.members.reserve(int(min(n, reserveMax(v.trial))))
	}
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
			return weak, err
		}
		n++
		if !v.members.add(maphash.Bytes(v.seed, e.Member)) {
			what := map[rdb.Type]string{rdb.TypeSet: "set member", rdb.TypeZSet: "sorted set member", rdb.TypeHash: "hash field"}[rec.Type]
			return weak, v.fail(r, rec, "%s %q appears twice", what, trunc(e.Member))
		}
		if rec.Type == rdb.TypeZSet {
			if math.IsNaN(e.Score) {
				return weak, v.fail(r, rec, "sorted set member %q has a NaN score", trunc(e.Member))
			}
			if sorted {
				if e.Score < prevScore || (e.Score == prevScore && bytes.Compare(e.Member, v.prevMem) < 0) {
					return weak, v.fail(r, rec, "sorted set member %q (score %v) is out of order after score %v", trunc(e.Member), e.Score, prevScore)
				}
				prevScore = e.Score
				v.prevMem = append(v.prevMem[:0], e.Member...)
			}
		}
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
		if n > 0 && cmpID(e.ID, last) <= 0 {
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
	if n > 0 && cmpID(last, info.LastID) > 0 {
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

func cmpID(a, b rdb.StreamID) int {
	switch {
	case a.Ms != b.Ms:
		if a.Ms < b.Ms {
			return -1
		}
		return 1
	case a.Seq != b.Seq:
		if a.Seq < b.Seq {
			return -1
		}
		return 1
	}
	return 0
}

// trunc shortens long names in messages.
func trunc(b []byte) []byte {
	if len(b) > 64 {
		return append(append([]byte(nil), b[:64]...), "..."...)
	}
	return b
}
