package rdb

// Object type codes as they appear before a key in an RDB file (and as the
// first byte of a DUMP payload). Codes 22 and above mean different things
// in Redis and in Valkey files; the Reader decides by the file's magic.
const (
	typeString           = 0
	typeList             = 1
	typeSet              = 2
	typeZSet             = 3
	typeHash             = 4
	typeZSet2            = 5 // binary double scores (RDB 8+)
	typeModulePreGA      = 6 // Redis 4.0 release candidates; not self-describing
	typeModule2          = 7
	typeHashZipmap       = 9
	typeListZiplist      = 10
	typeSetIntset        = 11
	typeZSetZiplist      = 12
	typeHashZiplist      = 13
	typeListQuicklist    = 14
	typeStreamListpacks  = 15
	typeHashListpack     = 16
	typeZSetListpack     = 17
	typeListQuicklist2   = 18
	typeStreamListpacks2 = 19
	typeSetListpack      = 20
	typeStreamListpacks3 = 21
	// Redis 7.4+ hashes with field TTLs.
	typeHashMetadataPreGA   = 22
	typeHashListpackExPreGA = 23
	typeHashMetadata        = 24
	typeHashListpackEx      = 25
	// Redis 8.6 streams with idempotent-producer state.
	typeStreamListpacks4 = 26
)

// Opcodes: bytes that introduce something other than a key.
const (
	opKeyMeta  = 243 // Redis 8.6: module key metadata before a key; Valkey 9: slot import
	opSlotInfo = 244

	// keydbTypeCron is KeyDB's RDB_TYPE_CRON, a scheduled script.
	keydbTypeCron   = 64
	opFunction2     = 245
	opFunctionPreGA = 246
	opModuleAux     = 247
	opIdle          = 248
	opFreq          = 249
	opAux           = 250
	opResizeDB      = 251
	opExpireTimeMS  = 252
	opExpireTime    = 253
	opSelectDB      = 254
	opEOF           = 255
)

// Type is the logical type of a key, as the TYPE command names it.
type Type uint8

// The logical types; Type.String gives the name TYPE reports (a module
// key's is "module" here: the module names its own type).
const (
	TypeString Type = iota + 1
	TypeList
	TypeSet
	TypeZSet
	TypeHash
	TypeStream
	TypeModule
)

func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeList:
		return "list"
	case TypeSet:
		return "set"
	case TypeZSet:
		return "zset"
	case TypeHash:
		return "hash"
	case TypeStream:
		return "stream"
	case TypeModule:
		return "module"
	}
	return "unknown"
}

// RecordKind says what a Record describes.
type RecordKind uint8

const (
	KindKey        RecordKind = iota + 1 // a key and its value
	KindAux                              // an auxiliary field (redis-ver, ctime, used-mem, ...)
	KindSelectDB                         // the following keys belong to database DB
	KindResizeDB                         // size hints for the current database
	KindFunction                         // a function library (Redis 7.0+)
	KindModuleAux                        // module auxiliary data
	KindSlotInfo                         // cluster slot statistics (Redis 7.4+)
	KindSlotImport                       // Valkey 9 slot import state
)

func (k RecordKind) String() string {
	switch k {
	case KindKey:
		return "key"
	case KindAux:
		return "aux"
	case KindSelectDB:
		return "selectdb"
	case KindResizeDB:
		return "resizedb"
	case KindFunction:
		return "function"
	case KindModuleAux:
		return "module-aux"
	case KindSlotInfo:
		return "slot-info"
	case KindSlotImport:
		return "slot-import"
	}
	return "unknown"
}

// Valkey's hash type with per-field TTLs shares code 22 with Redis 7.4's
// pre-release hash-metadata type; the magic decides.
const valkeyTypeHash2 = 22

// typeValkeyHash2 is how valueState tells Valkey's 22 from Redis's 22.
const typeValkeyHash2 = 1000 + valkeyTypeHash2

// Redis Enterprise opcodes in the type range (see redis/librdb).
const (
	opEnterpriseRAMLRU  = 107
	opEnterpriseSlotNum = 121
)

// TypeByteHasFieldTTLs reports whether a value stored under type byte b
// (a DUMP payload's first byte, or Reader.RawValue's) is a hash whose
// fields carry TTLs, in any dialect: Redis 7.4+ codes 22-25 (22 is also
// Valkey 9's hash with field TTLs).
func TypeByteHasFieldTTLs(b byte) bool {
	switch b {
	case typeHashMetadataPreGA, typeHashListpackExPreGA, typeHashMetadata, typeHashListpackEx:
		return true
	}
	return false
}
