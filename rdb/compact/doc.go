// Package compact decodes and encodes the compact in-memory encodings that
// Redis and Valkey store as opaque string blobs inside RDB files and DUMP
// payloads, plus the LZF compression applied to RDB strings.
//
// # Encodings
//
// Listpack (Redis 5.0+ for stream nodes; 7.0+ for small hashes, sorted sets
// and list nodes; 7.2+ for small sets; also Valkey 7.2+): a 6-byte header
// (total bytes as uint32 LE, element count as uint16 LE, 65535 meaning
// "unknown"), entries, and a 0xFF terminator. Each entry is an encoding byte
// (7-bit uint, 6/12/32-bit-length string, 13/16/24/32/64-bit int), its data,
// and a "backlen" of 1 to 5 bytes holding the size of encoding plus data so the
// list can be walked backwards. RDB types: 16 hash, 17 zset, 18 quicklist2
// nodes, 20 set, 25 hash with field TTLs, and 15/19/21 stream nodes.
//
// Ziplist (Redis 2.6 to 6.2 for small hashes, sorted sets and lists; 3.2 to
// 6.2 inside quicklist nodes): a 10-byte header (zlbytes uint32 LE, zltail
// offset of the last entry uint32 LE, zllen uint16 LE with 65535 meaning
// "unknown"), entries and a 0xFF end byte. Each entry starts with the size of
// the previous entry (1 byte, or 0xFE plus a uint32 LE when it is 254 or
// more), then an encoding: strings with 6-bit, 14-bit (big endian) or 32-bit
// (big endian) lengths, or integers of 8, 16, 24, 32 or 64 bits (little
// endian), or an immediate 0..12 in the encoding byte itself (0xF1..0xFD).
// RDB types: 10 list, 12 zset, 13 hash, 14 quicklist nodes. Redis 7.0+ still
// loads ziplists and converts them to listpacks.
//
// Intset (all versions, sets of integers): encoding width (2, 4 or 8) as
// uint32 LE, member count as uint32 LE, then the members sorted strictly
// increasing, little endian, all of the same width (the smallest that fits
// every member). RDB type 11.
//
// Zipmap (Redis before 2.6, small hashes; RDB type 9): a count byte (254 or
// more meaning "unknown"), then field/value pairs, each string prefixed with a
// length byte (or 254 plus a uint32 LE), the value also with a "free" byte
// giving the number of unused padding bytes after it, and a 0xFF end byte.
// Later versions only load it and convert it.
//
// LZF (all versions): RDB strings longer than 20 bytes are stored compressed
// when liblzf can save at least 4 bytes; compressed quicklist nodes
// (list-compress-depth) use the same format. LZFCompress reproduces Redis's
// bundled liblzf 3.6 bit for bit, so DUMP payloads built with it match the
// server's.
//
// # Decoding
//
// The iterators (ListpackIter, ZiplistIter, IntsetIter, ZipmapIter) are plain
// values that return views into the blob and never allocate per entry. They
// validate as they go (header sizes and counts, terminators, backlen/prevlen
// consistency, ordering of intset members) and report problems through Err as
// *Error, which carries the encoding name and the byte offset. No input makes
// them panic, and no length field is trusted before it is checked against the
// blob.
//
// # Encoding
//
// ListpackBuilder, ZiplistBuilder, BuildIntset and ZipmapBuilder produce the
// bytes Redis produces when the same elements are appended in order; Append
// converts strings to integers under the same rules as Redis (ParseRedisInt).
package compact
