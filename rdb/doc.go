// Package rdb reads Redis and Valkey RDB snapshot files and DUMP payloads.
//
// # Reading
//
// A Reader is a pull reader in the manner of archive/tar. Each call to Next
// returns the next Record: an aux field, a database selection, a resize
// hint, a function library, module aux data, cluster slot information, a
// Valkey slot import, or a key. Next returns io.EOF after the end-of-file
// opcode once the CRC-64 trailer has been verified.
//
// A key's value is streamed. Depending on Record.Type, read it with
// ReadString (strings), NextElement or Elements (lists, sets, sorted sets,
// hashes), NextStreamEntry then Stream (streams), or Module (module
// values). ReadValue reads any value into memory at once; VerifyValue
// decodes all of it and keeps nothing (an integrity check); ReadShape
// describes its storage (counts, sizes) without decoding it; RawValue
// returns its bytes as stored, the body of a DUMP payload. Whatever part
// of a value the caller does not read is skipped by the next call to
// Next, without decompressing or decoding it. A list of any length is
// read in the memory of its largest element.
//
// Counting elements, cheapest first: Reader.Len when the file states the
// count before the elements (plain encodings, most compact headers) reads
// nothing; ReadShape's Shape.Elements reads the headers of compact blobs
// and quicklist nodes and decompresses only what a count needs; iterating
// with NextElement decodes every element.
//
// Slices handed out (keys, elements, aux values) point into buffers the
// Reader reuses: they are valid until the next call that reads from the
// Reader. Copy what must be kept.
//
// # Writing
//
// A Writer writes a file for a Target (an RDB version and server family;
// ParseTarget takes "redis-7.0" or "valkey-8.0"), in the encodings that
// target's server would choose under its default thresholds (Limits), and
// refuses what the server would refuse to load: a key twice in one
// database, a member twice in a collection. Write aux fields
// (WriteDefaultAux), SelectDB, then keys: WriteString, WriteModule,
// WriteValue for a Value in memory, or BeginList, BeginSet, BeginZSet,
// BeginHash (BeginHashWithFieldTTLs for fields with TTLs) and BeginStream
// for a value streamed element by element; Close ends the file. Give a
// collection's element count when it is known: a count that already rules
// out the compact encoding lets elements go straight to the output, where
// -1 (unknown) spools them first. When transcoding, Reader.Len is that
// count at no cost.
//
// What a target cannot hold (field TTLs before RDB 12, stream metadata,
// module key metadata, functions) fails with ErrUnsupported unless
// WriterOptions.Policy allows leaving it out; WriterStats counts what was
// left out.
//
// Transcoding: Copy reads every record of a Reader and writes it for the
// Writer's target (redis-ver rewritten, the source server's state left
// out; see Copy); Writer.CopyRecord does one record and Writer.CopyKey one
// key, copying strings in their stored form where that gives the same
// bytes. DUMP payloads: EncodeDump encodes a Value held in memory,
// EncodeDumpFrom the current value of a Reader, and NewDumpReader reads a
// payload back.
//
// # Reading on every core
//
// ReadParallel reads one file with a Reader that frames records (and keeps
// the CRC-64) on one goroutine and workers that decode them from copies of
// their bytes (or, given WithReaderAt, from the file, each reading its own
// records), each with a Reader of its own, handing results to a sink in
// file order. Records, offsets and errors are those the sequential path
// gives; a record too large to batch is streamed on the framing goroutine,
// or, when the handler's Split allows, a large list, set, sorted set or
// hash goes to the workers in parts (runs of its elements) that the sink
// puts together.
// KeyEncoder and Writer.WriteEncoded let workers re-encode keys for a
// Writer that writes them in order.
//
// # Formats
//
// Files start with "REDIS" and a 4-digit version (1 to 13: Redis 1.x to
// 8.6) or "VALKEY" and a 3-digit version (80: Valkey 9). Codes that mean
// different things in the two families (type 22, opcode 243) are decoded
// by the family the magic names. Newer versions are refused with
// ErrUnsupportedVersion unless AllowNewerVersions is given.
//
// Record.Encoding names the in-memory encoding a server reports with
// OBJECT ENCODING for the value. It follows from the stored type except for
// strings (int, embstr or raw by each server version's rule) and for
// one-node lists of Redis 7.2 and later (listpack when small).
//
// # Errors
//
// Bad input never panics. Every problem is an *Error that names the input
// (WithName), the byte offset, the key when known and what was expected,
// and wraps ErrTruncated, ErrCorrupt, ErrChecksum or ErrUnsupportedVersion.
// Lengths are checked against what can remain in the input before anything
// is allocated for them; when the input's size is unknown, memory grows
// only as data actually arrives.
package rdb
