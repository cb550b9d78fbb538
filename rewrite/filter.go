package rewrite

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rdbtool/rdbtool/internal/keyglob"
	"github.com/rdbtool/rdbtool/rdb"
)

// KeyFilter selects key records by database, name, type, expiry, cluster
// slot and size: the --db, --match, --regex, --type, --drop-expired,
// --slots and --min-bytes flags of every command that reads keys. The
// zero value, and a nil *KeyFilter, keep every key. Keep may be called
// from several goroutines at once.
type KeyFilter struct {
	// DBs keeps only keys of these databases (nil: all).
	DBs []int
	// Match keeps keys matching a glob in Redis KEYS / SCAN MATCH syntax
	// ("" : all): '*', '?', '[a-z]', '[^a]', '\' escapes; by bytes.
	Match string
	// Regex keeps keys it matches anywhere (nil: all).
	Regex *regexp.Regexp
	// Types keeps only keys of these types (nil: all).
	Types []rdb.Type
	// ExpiredAt, when not 0, leaves out keys whose expiry (Unix
	// milliseconds) is at or before it.
	ExpiredAt int64
	// Slots, when not nil, keeps keys whose cluster slot is in the range.
	Slots *SlotRange
	// MinBytes keeps keys whose estimated memory (what "rdbtool memory"
	// reports, the analyze package's estimate of MEMORY USAGE) is at
	// least this. The size of a value is known only once it has been
	// read: a consumer that estimates sizes itself checks KeepSize; for
	// others Big, found by FindBigKeys in a pass before, answers for Keep.
	// With MinBytes set and Big nil, Keep ignores size.
	MinBytes uint64
	Big      *KeySet
}

// SlotRange is an inclusive range of cluster slots, 0 to 16383.
type SlotRange struct{ First, Last int }

// Keep reports whether the filter keeps the key record rec.
func (f *KeyFilter) Keep(rec *rdb.Record) bool {
	if f == nil {
		return true
	}
	if !f.KeepKey(rec.DB, rec.Key, rec.Type, rec.ExpireAt) {
		return false
	}
	return f.MinBytes == 0 || f.Big == nil || f.Big.Has(rec.DB, rec.Key)
}

// KeepKey is Keep for a key known by its parts, without the size test.
func (f *KeyFilter) KeepKey(db int, key []byte, t rdb.Type, expireAt int64) bool {
	if f == nil {
		return true
	}
	if f.DBs != nil && !slices.Contains(f.DBs, db) {
		return false
	}
	if f.Types != nil && !slices.Contains(f.Types, t) {
		return false
	}
	if f.ExpiredAt != 0 && expireAt != 0 && expireAt <= f.ExpiredAt {
		return false
	}
	if f.Slots != nil {
		if s := rdb.KeySlot(key); s < f.Slots.First || s > f.Slots.Last {
			return false
		}
	}
	if f.Match != "" && !keyglob.Match([]byte(f.Match), key) {
		return false
	}
	return f.Regex == nil || f.Regex.Match(key)
}

// KeepSize reports whether a key estimated at bytes passes MinBytes.
func (f *KeyFilter) KeepSize(bytes uint64) bool {
	return f == nil || bytes >= f.MinBytes
}

// Filtering reports whether the filter may leave any key out.
func (f *KeyFilter) Filtering() bool {
	return f != nil && (f.DBs != nil || f.Match != "" || f.Regex != nil || f.Types != nil ||
		f.ExpiredAt != 0 || f.Slots != nil || f.MinBytes > 0)
}

// NeedsSizes reports whether Keep cannot apply MinBytes yet: a consumer
// that does not estimate sizes itself must set Big first (FindBigKeys).
func (f *KeyFilter) NeedsSizes() bool {
	return f != nil && f.MinBytes > 0 && f.Big == nil
}

// TypeNames are the values --type takes, as the TYPE command names them.
var TypeNames = []string{"string", "list", "set", "zset", "hash", "stream", "module"}

// ParseTypes parses the values of --type (each may hold a comma-separated
// list), case-insensitively; nil for none.
func ParseTypes(values []string) ([]rdb.Type, error) {
	var out []rdb.Type
	for _, v := range splitList(values) {
		i := slices.Index(TypeNames, strings.ToLower(v))
		if i < 0 {
			return nil, fmt.Errorf("--type %q: use %s", v, strings.Join(TypeNames, ", "))
		}
		out = append(out, rdb.Type(i+1)) // TypeNames follows rdb's Type order
	}
	return out, nil
}

// ParseDBs parses the values of --db (each may hold a comma-separated
// list); nil for none.
func ParseDBs(values []string) ([]int, error) {
	var out []int
	for _, v := range splitList(values) {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--db %q: use database numbers, 0 or more (--db 0,3 or --db 0 --db 3)", v)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseRegex compiles the value of --regex (RE2 syntax); nil for "".
func ParseRegex(s string) (*regexp.Regexp, error) {
	if s == "" {
		return nil, nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("--regex %q: %v (RE2 syntax: https://github.com/google/re2/wiki/Syntax)", s, err)
	}
	return re, nil
}

// ParseSlots parses --slots: "A-B" or a single slot, within 0-16383.
func ParseSlots(s string) (*SlotRange, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 0 || hi > 16383 || lo > hi {
		return nil, fmt.Errorf("--slots %q: use A-B (or one slot) within 0-16383", s)
	}
	return &SlotRange{lo, hi}, nil
}

func splitList(values []string) []string {
	var out []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// DBMap renumbers databases (--map-db FROM:TO): a database it does not
// name keeps its number. A nil DBMap renumbers nothing.
type DBMap map[int]int

// ParseDBMap parses the values of --map-db, FROM:TO each.
func ParseDBMap(values []string) (DBMap, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := DBMap{}
	for _, v := range splitList(values) {
		a, b, ok := strings.Cut(v, ":")
		from, err1 := strconv.Atoi(a)
		to, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || from < 0 || to < 0 {
			return nil, fmt.Errorf("--map-db %q: use FROM:TO, database numbers 0 or more (--map-db 3:0)", v)
		}
		if prev, dup := m[from]; dup && prev != to {
			return nil, fmt.Errorf("--map-db: database %d is mapped to both %d and %d", from, prev, to)
		}
		m[from] = to
	}
	return m, nil
}

// DB is the database src is written to.
func (m DBMap) DB(src int) int {
	if d, ok := m[src]; ok {
		return d
	}
	return src
}

// Merges returns the target databases that receive keys from more than
// one source database: a mapped source and, unless it is itself mapped
// away, the target's own keys.
func (m DBMap) Merges() map[int]bool {
	feeds := map[int]int{}
	for _, to := range m {
		feeds[to]++
	}
	var out map[int]bool
	for to, n := range feeds {
		if _, moved := m[to]; !moved {
			n++
		}
		if n > 1 {
			if out == nil {
				out = map[int]bool{}
			}
			out[to] = true
		}
	}
	return out
}
