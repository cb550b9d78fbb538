package analyze

import (
	"container/heap"
	"encoding/json"
	"sort"
	"unicode/utf8"
)

// SchemaVersion is the version of the JSON report schema. Fields are only
// added within a version; renames or removals bump it.
//
// Version 2: a key is "key_b64" with "key" (the key as text, absent when it
// is not UTF-8) beside it, as in every command's JSON; "key_text" is gone.
const SchemaVersion = 2

// Report is the result of analysing one or more files. Its JSON form is the
// documented, stable schema of "rdbtool analyze --format json".
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Allocator     string       `json:"allocator"`
	Files         []FileReport `json:"files"`
	Totals        Stats        `json:"totals"`
	// Load is the predicted INFO memory after loading, summed over the
	// files (each file loaded into a server of its own).
	Load  LoadPrediction `json:"load"`
	DBs   []DBStats      `json:"dbs"`
	Types []TypeStats    `json:"types"`
	// BiggestKeys are the keys taking the most memory, all types together.
	BiggestKeys []KeyRef     `json:"biggest_keys"`
	BigKeys     []BigKeys    `json:"big_keys"`
	TTL         TTLHist      `json:"ttl"`
	Prefixes    PrefixReport `json:"prefixes"`
	HotKeys     []KeyRef     `json:"hot_keys"` // by LFU counter; empty without LFU data
	Modules     []ModuleStat `json:"modules"`
	Functions   []string     `json:"functions"`
}

// FileReport is the per-file breakdown.
type FileReport struct {
	Name         string `json:"name"`
	Dialect      string `json:"dialect"`
	RDBVersion   int    `json:"rdb_version"`
	Server       string `json:"server"`        // the version the model used, e.g. "redis-7.4.1"
	ServerSource string `json:"server_source"` // "aux", "override" or "guessed"
	SnapshotTime int64  `json:"snapshot_time"` // Unix seconds used as "now" for TTLs
	Bytes        int64  `json:"bytes"`
	// UsedMemAux is the file's used-mem aux field: the used_memory of the
	// server that wrote it, at the time it saved (0 when absent). It counts
	// more than the keys (see the package doc), so it exceeds Memory.
	UsedMemAux uint64 `json:"used_mem_aux,omitempty"`
	Stats
	// Load is the memory a server reports once it has loaded this file.
	Load LoadPrediction `json:"load"`
}

// Stats are the counters every grouping carries.
type Stats struct {
	Keys        uint64 `json:"keys"`
	Memory      uint64 `json:"memory"` // estimated bytes (MEMORY USAGE)
	Elements    uint64 `json:"elements"`
	WithTTL     uint64 `json:"keys_with_ttl"`
	WithoutTTL  uint64 `json:"keys_without_ttl"`
	Expired     uint64 `json:"keys_expired"` // expired at snapshot time
	StoredBytes uint64 `json:"stored_bytes"` // bytes of the values in the file
}

func (s *Stats) add(o *Stats) {
	s.Keys += o.Keys
	s.Memory += o.Memory
	s.Elements += o.Elements
	s.WithTTL += o.WithTTL
	s.WithoutTTL += o.WithoutTTL
	s.Expired += o.Expired
	s.StoredBytes += o.StoredBytes
}

// DBStats is one database's totals.
type DBStats struct {
	DB int `json:"db"`
	Stats
}

// TypeStats is one type and encoding's totals.
type TypeStats struct {
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	Stats
}

// KeyRef describes one key in a top-N list.
type KeyRef struct {
	File string `json:"file,omitempty"`
	DB   int    `json:"db"`
	// Key is "key_b64" in JSON, with "key" beside it when it is UTF-8.
	Key      []byte `json:"key_b64"`
	Type     string `json:"type"`
	Encoding string `json:"encoding"`
	Memory   uint64 `json:"memory"`
	Elements uint64 `json:"elements"`
	// LargestElement is the length of the largest element, -1 when unknown.
	LargestElement int64 `json:"largest_element"`
	ExpireAt       int64 `json:"expire_at_ms,omitempty"`
	Freq           int   `json:"lfu_freq,omitempty"`

	offset int64 // the key record's offset in File, to read it again
}

// MarshalJSON adds "key", the key as text, beside "key_b64" when the key is
// valid UTF-8.
func (k KeyRef) MarshalJSON() ([]byte, error) {
	type fields KeyRef // the same fields without this method
	var text *string
	if utf8.Valid(k.Key) {
		s := string(k.Key)
		text = &s
	}
	return json.Marshal(struct {
		Text *string `json:"key,omitempty"`
		fields
	}{text, fields(k)})
}

// BigKeys are the top keys of one type.
type BigKeys struct {
	Type       string   `json:"type"`
	ByMemory   []KeyRef `json:"by_memory"`
	ByElements []KeyRef `json:"by_elements"`
}

// TTL buckets, relative to the snapshot time.
var TTLBuckets = []string{"expired", "<1m", "<1h", "<1d", "<1w", "longer", "never"}

// TTLHist counts keys (and their memory) per TTL bucket, in TTLBuckets order.
// Buckets holds the same figures labelled, for readers of the JSON.
type TTLHist struct {
	Keys    [7]uint64   `json:"keys"`
	Memory  [7]uint64   `json:"memory"`
	Buckets []TTLBucket `json:"buckets"`
}

// TTLBucket is one labelled bucket of a TTLHist.
type TTLBucket struct {
	TTL    string `json:"ttl"` // a TTLBuckets label
	Keys   uint64 `json:"keys"`
	Memory uint64 `json:"memory"`
}

// labelled fills h.Buckets from the counters.
func (h *TTLHist) labelled() {
	h.Buckets = make([]TTLBucket, len(TTLBuckets))
	for i, name := range TTLBuckets {
		h.Buckets[i] = TTLBucket{TTL: name, Keys: h.Keys[i], Memory: h.Memory[i]}
	}
}

func (h *TTLHist) add(o *TTLHist) {
	for i := range h.Keys {
		h.Keys[i] += o.Keys[i]
		h.Memory[i] += o.Memory[i]
	}
}

func ttlBucket(expireAt, nowMs int64) int {
	if expireAt == 0 {
		return 6
	}
	d := expireAt - nowMs
	switch {
	case d <= 0:
		return 0
	case d < 60_000:
		return 1
	case d < 3_600_000:
		return 2
	case d < 86_400_000:
		return 3
	case d < 7*86_400_000:
		return 4
	}
	return 5
}

// ModuleStat counts keys of one module type.
type ModuleStat struct {
	Name       string `json:"name"`
	Keys       uint64 `json:"keys"`
	Memory     uint64 `json:"memory"`
	AuxRecords uint64 `json:"aux_records"`
}

// keyHeap keeps the N largest KeyRefs by a score.
type keyHeap struct {
	n     int
	score func(*KeyRef) uint64
	items []KeyRef
}

func (h *keyHeap) Len() int           { return len(h.items) }
func (h *keyHeap) Less(i, j int) bool { return h.score(&h.items[i]) < h.score(&h.items[j]) }
func (h *keyHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *keyHeap) Push(x any)         { h.items = append(h.items, x.(KeyRef)) }
func (h *keyHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// wants reports whether a key with this score would enter the heap.
func (h *keyHeap) wants(s uint64) bool {
	return h.n > 0 && (len(h.items) < h.n || s > h.score(&h.items[0]))
}

// offer adds k (whose Key must already be a private copy).
func (h *keyHeap) offer(k KeyRef) {
	if len(h.items) < h.n {
		heap.Push(h, k)
		return
	}
	if h.score(&k) > h.score(&h.items[0]) {
		h.items[0] = k
		heap.Fix(h, 0)
	}
}

// sorted returns the items, largest first.
func (h *keyHeap) sorted() []KeyRef {
	out := append([]KeyRef(nil), h.items...)
	sort.SliceStable(out, func(i, j int) bool {
		si, sj := h.score(&out[i]), h.score(&out[j])
		if si != sj {
			return si > sj
		}
		return string(out[i].Key) < string(out[j].Key)
	})
	return out
}

func byMemory(k *KeyRef) uint64   { return k.Memory }
func byElements(k *KeyRef) uint64 { return k.Elements }
func byFreq(k *KeyRef) uint64     { return uint64(k.Freq) }
