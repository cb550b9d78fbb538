package rdb

// Which record-starting bytes a file of a given format holds: the type
// bytes the servers writing it use for keys, and its opcodes. For code
// that looks for records in bytes without a Reader (salvage's search for
// where records resume after damage). The Reader itself reads every type
// it knows in any version.

// Opcode is a byte that introduces a record other than a key, or data
// before a key (expiry, LRU/LFU).
type Opcode = byte

// The opcodes, by what they introduce.
const (
	OpcodeKeyMeta      Opcode = opKeyMeta // Redis 8.6 key metadata; Valkey 9 slot import
	OpcodeSlotInfo     Opcode = opSlotInfo
	OpcodeFunction     Opcode = opFunction2
	OpcodeFunctionPre  Opcode = opFunctionPreGA
	OpcodeModuleAux    Opcode = opModuleAux
	OpcodeIdle         Opcode = opIdle // LRU idle time before a key
	OpcodeFreq         Opcode = opFreq // LFU frequency before a key
	OpcodeAux          Opcode = opAux
	OpcodeResizeDB     Opcode = opResizeDB
	OpcodeExpireTimeMS Opcode = opExpireTimeMS // 8-byte little-endian milliseconds before a key
	OpcodeExpireTime   Opcode = opExpireTime   // 4-byte little-endian seconds before a key
	OpcodeSelectDB     Opcode = opSelectDB
	OpcodeEOF          Opcode = opEOF
)

// KeyTypes returns the type bytes that servers writing RDB version of
// dialect d use for keys (newer versions than known: every type known).
func KeyTypes(d Dialect, version int) []byte {
	switch {
	case d == DialectValkey:
		return []byte{typeString, typeSet, typeHash, typeZSet2, typeModule2, typeSetIntset, typeStreamListpacks, typeHashListpack,
			typeZSetListpack, typeListQuicklist2, typeStreamListpacks2, typeSetListpack, typeStreamListpacks3, valkeyTypeHash2}
	case version <= 6:
		return []byte{typeString, typeList, typeSet, typeZSet, typeHash, typeHashZipmap, typeListZiplist, typeSetIntset, typeZSetZiplist, typeHashZiplist}
	case version == 7:
		return []byte{typeString, typeSet, typeZSet, typeHash, typeSetIntset, typeZSetZiplist, typeHashZiplist, typeListQuicklist}
	case version == 8:
		return []byte{typeString, typeSet, typeHash, typeZSet2, typeModulePreGA, typeModule2, typeSetIntset, typeZSetZiplist, typeHashZiplist, typeListQuicklist}
	case version == 9:
		return []byte{typeString, typeSet, typeHash, typeZSet2, typeModule2, typeSetIntset, typeZSetZiplist, typeHashZiplist, typeListQuicklist, typeStreamListpacks}
	case version == 10:
		return []byte{typeString, typeSet, typeHash, typeZSet2, typeModule2, typeSetIntset, typeHashListpack, typeZSetListpack, typeListQuicklist2, typeStreamListpacks2}
	case version == 11:
		return []byte{typeString, typeSet, typeHash, typeZSet2, typeModule2, typeSetIntset, typeHashListpack, typeZSetListpack, typeListQuicklist2,
			typeStreamListpacks2, typeSetListpack, typeStreamListpacks3}
	case version == 12:
		return []byte{typeString, typeSet, typeHash, typeZSet2, typeModule2, typeSetIntset, typeHashListpack, typeZSetListpack, typeListQuicklist2,
			typeStreamListpacks2, typeSetListpack, typeStreamListpacks3, typeHashMetadataPreGA, typeHashListpackExPreGA, typeHashMetadata, typeHashListpackEx}
	}
	ts := make([]byte, 0, typeStreamListpacks4+1)
	for t := byte(0); t <= typeStreamListpacks4; t++ {
		if t != 8 {
			ts = append(ts, t)
		}
	}
	return ts
}

// Opcodes returns the opcodes a file of RDB version of dialect d can hold.
func Opcodes(d Dialect, version int) []Opcode {
	ops := []Opcode{opFunction2, opFunctionPreGA, opModuleAux, opIdle, opFreq, opAux, opResizeDB, opExpireTimeMS, opExpireTime, opSelectDB, opEOF}
	if version >= 12 || d == DialectValkey {
		ops = append(ops, opKeyMeta, opSlotInfo)
	}
	return ops
}
