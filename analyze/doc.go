// Package analyze estimates the memory every key of an RDB snapshot takes
// on the server that wrote it, and aggregates the estimates into a report:
// totals per database, type and encoding, big keys, TTL distribution, key
// prefixes, LFU hot keys, module types and function libraries. Several
// files (the shards of one backup) are read in parallel and merged.
//
// # The memory model
//
// For each key the estimate is what MEMORY USAGE key SAMPLES 0 reports:
// objectComputeSize of the value with every element visited, plus the
// key's sds and the keyspace dict entry. The server version comes from the
// redis-ver / valkey-ver aux field (Options.ServerVersion overrides it;
// files without aux fields get a version guessed from the RDB version).
// Allocations are rounded as the allocator would: jemalloc size classes
// by default (8-byte spacing up to 64, then four classes per doubling, as
// Redis builds jemalloc), JemallocSystem for a distribution's shared
// libjemalloc (16-byte spacing up to 128: Debian's and Ubuntu's
// redis-server; a 15-byte key's sds takes 32 bytes there, not 24), or
// glibc malloc_usable_size (request + 8 rounded up to 16, at least 24
// usable) with Libc. With Options.ServerVersion naming a newer server
// than the file's, the estimate is for the file loaded into it: ziplists
// and zipmaps become listpacks (4 bytes shorter), linked lists and
// ziplist lists quicklists, short raw strings embstr. What is counted:
//
//   - Every value: the 16-byte robj. Key: sds (header by length: 1, 3, 5,
//     9 or 17 bytes, plus the terminator) + a 24-byte dictEntry. Redis 4.0
//     counts the key argument's sds unrounded (embstr header up to 44
//     bytes), 5.0 the keyspace sds unrounded, 6.0+ rounded. Valkey 8.0
//     embeds the key in a dictEntryEmbedded (17 bytes + sdshdr8 key).
//     Redis 8 embeds key (and expiry) in the object (kvobj).
//   - Strings: int 16; embstr one allocation of robj + sdshdr8 + value
//     (before 7.0: length + 18, unrounded); raw robj + sds.
//   - Listpack, ziplist, intset (and single-listpack lists): the blob's
//     uncompressed size, rounded from 7.0 on (before 7.0, and in Redis
//     8.6, unrounded). listpackex (7.4 field TTLs) adds the 32-byte
//     listpackEx struct.
//   - Quicklists: 40 bytes + 32 per node + each node's blob, each node
//     rounded on its own (rdb.ShapeOptions.Node reports every node).
//     With Options.ListCompressDepth (the target's list-compress-depth)
//     the nodes beyond that depth from both ends count at their LZF size
//     when the file holds them compressed (as 7.0+ servers save nodes
//     they keep compressed); nodes stored raw count raw.
//   - Hashtables (set, hash): sizeof(dict) (96 before 7.0, 56 after) +
//     8 bytes per bucket, buckets = next power of two ≥ elements (at least
//     4) + per element sds sizes and a 24-byte entry. Valkey 8.0 and Redis
//     8 sets store lone members in the bucket: the expected share of
//     chained entries (16 bytes) is added from the load factor.
//   - Skiplists: zset + zskiplist + dict + buckets + the 32-level header
//     node + per member sds, dict entry and a node whose level count is
//     random (p = 1/4): its expected allocation is used.
//   - Streams: stream struct, streamRadixTreeMemoryUsage (16 bytes per ID
//     and 244 per rax node, with nodes taken as IDs + 1), node listpacks
//     (6.2+: the last node keeps its 4096-byte preallocation), consumer
//     groups, NACKs (24 bytes each) and consumers with their PELs.
//   - Module values: 0 (the module's mem_usage callback cannot be run).
//
// Redis 8.6 figures (kvobj, requested rather than allocated listpack
// sizes, streams, hashes with one allocation per field/value) were fitted
// against the 8.6.3 corpus, not taken from its source.
//
// # Accuracy and known limits
//
// Against the ground-truth corpus (MEMORY USAGE from live servers 4.0 to
// 8.6 and Valkey 7.2/8.0, glibc and jemalloc builds), 99-100% of keys of
// the "mixed" files are within ±10% and their totals within ±3%, except
// Redis 8.6 (about 94-97% of keys). Known misses, because the file does
// not carry the fact:
//
//   - list-compress-depth is not in the file: without
//     Options.ListCompressDepth, in-memory LZF-compressed quicklist nodes
//     are counted uncompressed (up to 3× too high for such lists).
//   - Strings grown by APPEND/SETRANGE carry spare capacity; the file
//     holds only the bytes.
//   - Dicts caught mid-rehash (both tables counted by the server), and
//     dicts that shrank after deletions.
//   - Module values (module mem_usage callbacks), vector sets.
//   - Valkey 8.1+ (new hashtable) and Redis 8.x before 8.6 are modelled as
//     their nearest measured relatives.
//
// # After a load: INFO memory
//
// Report.Load (per file in FileReport.Load) and PredictLoad predict what
// INFO memory shows once a server of the target version has loaded the
// file: used_memory, split as the server splits it into
// used_memory_overhead (an empty server with one client, the keyspace
// and expires dicts: 8 bytes a bucket, buckets sized by the file's
// RESIZEDB hint to a power of two and shrunk by serverCron below 10%
// fill, 24 bytes an entry, and the 16 bytes a key getMemoryOverheadData
// adds) and used_memory_dataset (the keys, with dict entries and structs
// at their allocated size where MEMORY USAGE takes their C size, integers
// 0..9999 shared unless maxmemory evicts by LRU/LFU, stream radix trees
// at their allocated size, no stream-node preallocation). Keys expired
// at Options.Now are dropped as a master drops them. Measured by loading
// every corpus file Redis 7.0 reads and the 520,020-key benchmark
// snapshot into Debian's redis-server 7.0.15: used_memory within ±0.5%,
// the keys' MEMORY USAGE within ±10% for 98.7-100% of keys. The empty
// server's share was measured only there; for other versions it is taken
// as the same (LoadPrediction.Accuracy says ±10%). CheckCapacity
// compares the upper bound with a maxmemory limit. LoadPredictor gives
// the same prediction one key at a time, for callers that read records
// or DUMP payloads themselves.
//
// Expiry is judged against the snapshot time: the ctime aux field (the end
// of that second) unless Options.Now is set.
//
// # Report schema
//
// Report's JSON form (schema_version 2) is stable: fields are only added.
// A key is key_b64 (base64), with key (the key as text) beside it when it
// is valid UTF-8, as in every rdbtool JSON output; version 2 replaced
// version 1's base64 "key" and "key_text". Memory is in bytes (the
// estimate). biggest_keys are the top keys by memory across types. TTL
// histograms are arrays in TTLBuckets order, and labelled in
// ttl.buckets. A file's used_mem_aux is its used-mem aux field: the
// writing server's used_memory when it saved, which also counts the
// keyspace tables, clients, buffers and replication backlog, so it is
// above the estimate, which counts the keys only.
// Prefix rows carry level 1..depth; collapsed says how much of the long
// tail was folded away to keep the table bounded.
//
// Tables, the HTML page and the per-key CSV and JSON Lines rows are
// written by the analyze/render package, so that a program that wants the
// Report alone does not pull in their dependencies.
//
// Memory stays constant in the size of the input: keys are streamed,
// values are measured without decoding them (ReadShape), top-N lists are
// heaps, and the prefix table is pruned to Options.PrefixLimit rows.
package analyze
