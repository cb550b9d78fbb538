// Package columnar writes per-key reports and snapshot differences as
// Apache Parquet files, the columnar format DuckDB, Athena, Spark and
// Trino read directly: rdbtool turns each snapshot into rows, the engine
// aggregates across shards and days.
//
// KeyRow is one key of a snapshot ("rdbtool memory --format parquet"),
// DiffRow one difference between two snapshots ("rdbtool diff --format
// parquet"). Writer streams either kind into one file; Export reads
// snapshots (several at once) into one file or into a Hive-partitioned
// tree of files, snapshot_date=YYYY-MM-DD/shard=NNNN/part-NNNNN.parquet.
//
// # Key schema (stable: columns are only added)
//
//	source           STRING     the file or object name given as input
//	shard            STRING     shard number of a shard set's member, as written
//	                            (NAME-0003.rdb: "0003"); null outside shard-set naming
//	snapshot_time    TIMESTAMP(MILLIS, UTC)  the file's ctime aux field; null without one
//	server_version   STRING     the server that wrote the file, "redis-7.4.1" or
//	                            "valkey-8.0.1", from its aux fields; null without them
//	rdb_version      INT32      RDB format version
//	db               INT32      database number
//	key              BINARY     the key's bytes
//	key_utf8         STRING     the key as text; null when it is not valid UTF-8
//	type             STRING     what TYPE replies (string, list, set, zset, hash,
//	                            stream, or the module type's name)
//	encoding         STRING     what OBJECT ENCODING replies once loaded
//	estimated_bytes  INT64      estimated MEMORY USAGE (see package analyze)
//	elements         INT64      elements (hash: fields; stream: live entries; string: 1)
//	largest_element  INT64      bytes of the largest element (a string: its length);
//	                            null when not measured
//	expire_at        TIMESTAMP(MILLIS, UTC)  the key's expiry; null without one
//	ttl_seconds      DOUBLE     expire_at minus the snapshot reference time, in
//	                            seconds (millisecond precision); ≤ 0: expired at the
//	                            snapshot; null without expiry
//	idle_seconds     INT64      LRU idle time when the file has it, else null
//	lfu_freq         INT32      LFU counter when the file has it, else null
//	prefix           STRING     the key's prefix as "rdbtool analyze" counts it:
//	                            up to the depth-th separator ("" for a key without
//	                            one); null when prefixes are off (depth 0)
//
// The snapshot reference time of ttl_seconds is the one analyze uses:
// the end of the ctime second (keys that expired earlier in that second
// count as expired), or the time given with --now; files without ctime
// are measured from the time of the export.
//
// A prefix at level L of analyze's table is the first L separator-ended
// segments of a key, so the keys it counts are those whose prefix column
// starts with it; the level-1 row "" counts the keys without a separator:
//
//	WHERE starts_with(prefix, 'user:')  -- analyze's row "user:" (any level)
//	WHERE prefix = ''                   -- analyze's row ""
//
// # Difference schema (stable: columns are only added)
//
//	kind             STRING     removed, added, type_changed, value_changed, ttl_changed
//	db               INT32      database number
//	key              BINARY     the key's bytes
//	key_utf8         STRING     the key as text; null when not valid UTF-8
//	old_type         STRING     type in A; null when the key was added
//	new_type         STRING     type in B; null when the key was removed
//	old_expire_at    TIMESTAMP(MILLIS, UTC)  expiry in A; null for none
//	new_expire_at    TIMESTAMP(MILLIS, UTC)  expiry in B; null for none
//	ttl_changed      BOOLEAN    the expiry differs beyond the tolerance
//	old_len          INT64      value_changed: A's length (string bytes, elements,
//	                            stream entries); else null
//	new_len          INT64      value_changed: B's length; else null
//	len_delta        INT64      new_len - old_len; else null
//	prefix           STRING     as in the key schema
//	old_source       STRING     A's name
//	new_source       STRING     B's name
//	old_estimated_bytes    INT64  estimated MEMORY USAGE in A (as the key
//	                              schema's estimated_bytes); null when the key
//	                              was added, or A is a live server
//	new_estimated_bytes    INT64  the same in B; null when the key was removed,
//	                              or B is a live server
//	estimated_bytes_delta  INT64  new minus old, an absent side counting 0
//	                              (added: +new; removed: -old); null when a
//	                              side holding the key is a live server
//
// The estimates come from reading the snapshots once more after the
// comparison, for the keys reported only (see WriteDiff).
//
// # File layout
//
// Columns are zstd-compressed; columns with few distinct values (source,
// shard, type, encoding, prefix, kind) are dictionary-encoded, falling
// back to plain encoding past 1 MiB of dictionary per row group. Every
// page and column chunk carries min/max statistics, so engines skip row
// groups by db, type, estimated_bytes or expire_at. Row groups hold up to
// 1,048,576 rows (DuckDB reads a file in parallel by row group; Spark and
// Athena split files at row-group boundaries) and are cut early when
// their buffered data passes WriterOptions.RowGroupBytes, which bounds a
// writer's memory. A key writer with two encoders (WriterOptions.Encoders)
// encodes the key columns and the others at once and copies their pages
// into the file: the file is the one a single encoder writes but for the
// offsets of its pages.
package columnar
