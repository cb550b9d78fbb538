package columnar

import (
	"time"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/diff"
)

// KeyRow is one key of a snapshot; the package documentation describes
// each column. Byte slices and pointers are the caller's: Writer.Write
// copies what it keeps. Timestamps are Unix milliseconds. Nullable
// columns are pointers, or nil slices, because parquet-go v0.32.1 does
// not reliably store the zero value of an optional non-pointer field as
// null.
type KeyRow struct {
	Source         string   `parquet:"source,dict"`
	Shard          *string  `parquet:"shard,optional,dict"`
	SnapshotTime   *int64   `parquet:"snapshot_time,optional,dict,timestamp(millisecond)"`
	ServerVersion  *string  `parquet:"server_version,optional,dict"`
	RDBVersion     int32    `parquet:"rdb_version,dict"`
	DB             int32    `parquet:"db,dict"`
	Key            []byte   `parquet:"key"`
	KeyUTF8        []byte   `parquet:"key_utf8,optional,string"` // nil: null
	Type           string   `parquet:"type,dict"`
	Encoding       string   `parquet:"encoding,dict"`
	EstimatedBytes int64    `parquet:"estimated_bytes"`
	Elements       int64    `parquet:"elements"`
	LargestElement *int64   `parquet:"largest_element,optional"`
	ExpireAt       *int64   `parquet:"expire_at,optional,timestamp(millisecond)"`
	TTLSeconds     *float64 `parquet:"ttl_seconds,optional"`
	IdleSeconds    *int64   `parquet:"idle_seconds,optional"`
	LFUFreq        *int32   `parquet:"lfu_freq,optional"`
	Prefix         []byte   `parquet:"prefix,optional,dict,string"` // nil: null
}

// DiffRow is one difference between two snapshots; the package
// documentation describes each column. Byte slices and pointers are the
// caller's: Writer.Write copies what it keeps. Timestamps are Unix
// milliseconds; nil pointers are null.
type DiffRow struct {
	Kind        string  `parquet:"kind,dict"`
	DB          int32   `parquet:"db,dict"`
	Key         []byte  `parquet:"key"`
	KeyUTF8     []byte  `parquet:"key_utf8,optional,string"`
	OldType     *string `parquet:"old_type,optional,dict"`
	NewType     *string `parquet:"new_type,optional,dict"`
	OldExpireAt *int64  `parquet:"old_expire_at,optional,timestamp(millisecond)"`
	NewExpireAt *int64  `parquet:"new_expire_at,optional,timestamp(millisecond)"`
	TTLChanged  bool    `parquet:"ttl_changed"`
	OldLen      *int64  `parquet:"old_len,optional"`
	NewLen      *int64  `parquet:"new_len,optional"`
	LenDelta    *int64  `parquet:"len_delta,optional"`
	Prefix      []byte  `parquet:"prefix,optional,dict,string"`
	OldSource   string  `parquet:"old_source,dict"`
	NewSource   string  `parquet:"new_source,dict"`
	// Estimated memory: nil where the key is absent, or where the side
	// is a live server; the delta counts an absent side as 0 bytes.
	OldEstimatedBytes   *int64 `parquet:"old_estimated_bytes,optional"`
	NewEstimatedBytes   *int64 `parquet:"new_estimated_bytes,optional"`
	EstimatedBytesDelta *int64 `parquet:"estimated_bytes_delta,optional"`
}

// textOrNull returns b when it is valid UTF-8 (the key_utf8 column) and
// nil, which the writer stores as null, when it is not.
func textOrNull(b []byte) []byte {
	if !utf8.Valid(b) {
		return nil
	}
	if b == nil {
		return []byte{}
	}
	return b
}

// FileInfo is what every row of one snapshot shares.
type FileInfo struct {
	Source        string
	Shard         string
	SnapshotTime  int64 // Unix ms of the ctime aux field, 0: none
	shardPtr      *string
	serverPtr     *string
	snapshotPtr   *int64
	ServerVersion string
	RDBVersion    int
	// RefMs is the reference time of ttl_seconds, Unix ms.
	RefMs int64
}

// NewFileInfo describes a snapshot from what analyze learned of it;
// now overrides the reference time of TTLs as analyze.Options.Now does.
func NewFileInfo(source, shard string, meta *analyze.FileMeta, now time.Time) FileInfo {
	return FileInfo{
		Source: source, Shard: shard, SnapshotTime: meta.CTime * 1000,
		ServerVersion: meta.WrittenBy(), RDBVersion: meta.RDBVersion,
		RefMs: meta.SnapshotTime(now).UnixMilli(),
	}
}

// keyScalars holds the values a KeyRow's pointer fields point at, so
// that filling a row allocates nothing.
type keyScalars struct {
	largest, idle, expire int64
	ttl                   float64
	freq                  int32
}

// KeyRowOf converts one scanned key of the file f describes, with the
// prefix p cuts (nil: no prefix column). The row shares k's bytes.
func KeyRowOf(f *FileInfo, k *analyze.Key, p *analyze.Prefixer) KeyRow {
	var row KeyRow
	fillKeyRow(&row, new(keyScalars), f, k, p)
	return row
}

// fillKeyRow sets row from one scanned key of the file f describes, with the
// prefix p cuts (nil: no prefix column). The row's slices share k's
// bytes and its pointers point into s.
func fillKeyRow(row *KeyRow, s *keyScalars, f *FileInfo, k *analyze.Key, p *analyze.Prefixer) {
	f.pointers()
	*row = KeyRow{
		Source: f.Source, Shard: f.shardPtr, SnapshotTime: f.snapshotPtr, ServerVersion: f.serverPtr,
		RDBVersion: int32(f.RDBVersion), DB: int32(k.DB), Key: k.Key, KeyUTF8: textOrNull(k.Key),
		Type: k.Type, Encoding: k.Encoding, EstimatedBytes: int64(k.Bytes), Elements: int64(k.Elements),
	}
	if k.LargestKnown {
		s.largest = int64(k.Largest)
		row.LargestElement = &s.largest
	}
	if k.ExpireAt != 0 {
		s.expire = k.ExpireAt
		row.ExpireAt = &s.expire
		s.ttl = float64(k.ExpireAt-f.RefMs) / 1000
		row.TTLSeconds = &s.ttl
	}
	if k.Idle >= 0 {
		s.idle = k.Idle
		row.IdleSeconds = &s.idle
	}
	if k.Freq >= 0 {
		s.freq = int32(k.Freq)
		row.LFUFreq = &s.freq
	}
	if p != nil {
		row.Prefix = p.Prefix(k.Key)
	}
}

// DiffRowOf converts one difference of a comparison between the
// snapshots named oldSource and newSource, with the prefix p cuts (nil:
// no prefix column). The row shares kd's bytes.
func DiffRowOf(kd *diff.KeyDiff, oldSource, newSource string, p *analyze.Prefixer) DiffRow {
	row := DiffRow{
		Kind: string(kd.Kind), DB: int32(kd.DB), Key: kd.Key, KeyUTF8: textOrNull(kd.Key),
		OldType: stringOrNull(kd.OldType), NewType: stringOrNull(kd.NewType),
		OldExpireAt: msOrNull(kd.OldExpireAt), NewExpireAt: msOrNull(kd.NewExpireAt),
		TTLChanged: kd.TTL != nil, OldSource: oldSource, NewSource: newSource,
	}
	if d := kd.Details; d != nil && kd.Kind == diff.ValueChanged {
		o, n := d.OldLen, d.NewLen
		delta := n - o
		row.OldLen, row.NewLen, row.LenDelta = &o, &n, &delta
	}
	if p != nil {
		row.Prefix = p.Prefix(kd.Key)
	}
	return row
}

// pointers sets the pointers the rows of the file share.
func (f *FileInfo) pointers() {
	if f.shardPtr == nil && f.Shard != "" {
		f.shardPtr = &f.Shard
	}
	if f.serverPtr == nil && f.ServerVersion != "" {
		f.serverPtr = &f.ServerVersion
	}
	if f.snapshotPtr == nil && f.SnapshotTime != 0 {
		f.snapshotPtr = &f.SnapshotTime
	}
}

func stringOrNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func msOrNull(ms int64) *int64 {
	if ms == 0 {
		return nil
	}
	return &ms
}
