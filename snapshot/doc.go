// Package snapshot takes RDB snapshots of live Redis and Valkey servers
// the way a replica receives its master's data, verifies them while they
// stream, stores them on disk or in S3, and decides which old ones to
// keep.
//
// Open performs the replica handshake (AUTH, PING, REPLCONF capa eof capa
// psync2, REPLCONF rdb-only 1, then PSYNC ? -1, or SYNC for servers that do
// not know PSYNC or when Options.Sync asks for it) and returns a Reader:
// an io.Reader of the RDB the server sends for a full sync, in either
// transfer form (a "$<length>" bulk, or the diskless "$EOF:<40-byte mark>"
// stream ended by the mark). Newlines the master sends while it prepares
// the RDB keep the connection alive. The Reader checks every record's
// framing and the CRC-64 trailer with rdb.Reader, in a goroutine beside
// the transfer, and returns io.EOF only for a complete, verified RDB. The
// connection is closed after the RDB: the Reader never becomes a replica,
// and with rdb-only (Redis 7.0+) the master keeps no replication buffer
// for it. No REPLCONF ACK is sent: a master expects none while the RDB is
// in flight, and after a diskless transfer an older master waits for the
// first ACK before it streams commands, so nothing follows the RDB.
//
// Take and Save store a snapshot so that nothing partial or unverified is
// ever under the final name: a local file goes through a temporary name,
// fsync and rename; an s3:// object through a multipart upload that is
// completed only after verification and aborted on any failure.
// TakeCluster snapshots every shard of a Redis Cluster concurrently into
// a shard set named like an ElastiCache export (NAME-0001.rdb, ...) with a
// JSON Manifest.
//
// Policy and Apply implement retention in the manner of restic's forget
// (keep the last N, and the newest of each of the last D days, W weeks,
// M months); ListUnits and DeleteUnit find snapshots and shard sets under a
// directory or S3 prefix and delete one as a unit.
//
// The server's ACL user needs only what a replica needs:
// +psync +replconf +ping (+sync for SYNC, +cluster|nodes for TakeCluster).
package snapshot
