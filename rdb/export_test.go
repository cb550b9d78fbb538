package rdb

// SetCopyFastPaths switches CopyValue's fast paths (writer_copy_fast.go) on or
// off for tests, returning the previous setting.
func SetCopyFastPaths(on bool) bool {
	old := copyFastPaths
	copyFastPaths = on
	return old
}

// CRC16 is the key-slot CRC, for its reference-value test.
var CRC16 = crc16

// StatsSinceForTest and AddStatsForTest expose the WriterStats arithmetic
// of KeyEncoder and WriteEncoded.
func StatsSinceForTest(s, before WriterStats) WriterStats { return s.since(before) }
func AddStatsForTest(s *WriterStats, d WriterStats)       { s.add(d) }
