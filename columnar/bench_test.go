package columnar

import (
	"fmt"
	"io"
	"testing"
)

// BenchmarkWriterKeyRows writes key rows like those of an export (keys of
// a few shapes, most with a TTL) to io.Discard: the encoding and
// compression without the scan.
func BenchmarkWriterKeyRows(b *testing.B) {
	const n = 1 << 16
	rows := make([]KeyRow, n)
	shard, server, snap := "0001", "redis-7.4.1", int64(1764892800000)
	for i := range rows {
		key := fmt.Appendf(nil, "%s:%d:%x", []string{"user", "session", "cart", "feed"}[i%4], i*7919, i)
		exp, ttl, largest := snap+int64(i%86400)*1000, float64(i%86400), int64(i%300)
		rows[i] = KeyRow{Source: "cache-0001.rdb", Shard: &shard, SnapshotTime: &snap, ServerVersion: &server,
			RDBVersion: 12, DB: int32(i % 4), Key: key, KeyUTF8: key, Type: "hash", Encoding: "listpack",
			EstimatedBytes: int64(100 + i%5000), Elements: int64(i % 64), LargestElement: &largest, Prefix: key[:5]}
		if i%5 != 0 {
			rows[i].ExpireAt, rows[i].TTLSeconds = &exp, &ttl
		}
	}
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		w := NewWriter[KeyRow](io.Discard, WriterOptions{})
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
