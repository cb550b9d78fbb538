package rdb

import (
	"encoding/binary"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

// logicalType maps a type byte of this file's dialect to a Type.
func (r *Reader) logicalType(t byte) (Type, bool) {
	switch t {
	case typeString:
		return TypeString, true
	case typeList, typeListZiplist, typeListQuicklist, typeListQuicklist2:
		return TypeList, true
	case typeSet, typeSetIntset, typeSetListpack:
		return TypeSet, true
	case typeZSet, typeZSet2, typeZSetZiplist, typeZSetListpack:
		return TypeZSet, true
	case typeHash, typeHashZipmap, typeHashZiplist, typeHashListpack:
		return TypeHash, true
	case typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3:
		return TypeStream, true
	case typeModulePreGA, typeModule2:
		return TypeModule, true
	}
	if r.dialect == DialectValkey {
		if t == valkeyTypeHash2 {
			return TypeHash, true
		}
		return 0, false
	}
	switch t {
	case typeHashMetadataPreGA, typeHashListpackExPreGA, typeHashMetadata, typeHashListpackEx:
		return TypeHash, r.version >= 12 || r.payload
	case typeStreamListpacks4:
		return TypeStream, r.version >= 13 || r.payload
	}
	return 0, false
}

// encodingOf names the in-memory encoding a server reports for the value
// after loading it. Strings and single-node lists need a look at the value.
func (r *Reader) encodingOf(t byte) (string, error) {
	switch t {
	case typeString:
		return r.stringEncoding()
	case typeList:
		return "linkedlist", nil
	case typeListZiplist, typeZSetZiplist, typeHashZiplist:
		return "ziplist", nil
	case typeListQuicklist:
		return "quicklist", nil
	case typeListQuicklist2:
		return r.quicklist2Encoding(), nil
	case typeSet, typeHash, typeHashMetadata, typeHashMetadataPreGA:
		return "hashtable", nil
	case typeZSet, typeZSet2:
		return "skiplist", nil
	case typeHashZipmap:
		return "zipmap", nil
	case typeSetIntset:
		return "intset", nil
	case typeHashListpack, typeZSetListpack, typeSetListpack:
		return "listpack", nil
	case typeHashListpackEx, typeHashListpackExPreGA:
		return "listpackex", nil
	case typeModule2, typeModulePreGA:
		return "raw", nil
	}
	if r.dialect == DialectValkey && t == valkeyTypeHash2 {
		return "hashtable", nil
	}
	return "stream", nil
}

// stringEncoding applies the rules a server uses when it loads a string:
// a canonical integer that fits 64 bits is "int", short strings are
// "embstr" (from Redis 3.0 on), the rest "raw".
func (r *Reader) stringEncoding() (string, error) {
	p := r.in.peek(22)
	if len(p) < 2 {
		if err := r.in.ioErr(); err != nil {
			return "", r.errorf(err, "reading the string value")
		}
	}
	if len(p) == 0 {
		return "", r.errorf(ErrTruncated, "input ended before the string value")
	}
	b := p[0]
	var n int
	switch b >> 6 {
	case 3:
		if b&0x3f != encLZF {
			return "int", nil
		}
		// LZF strings are longer than 20 bytes, never integers.
		ulen, ok := peekLZFLen(p)
		if !ok {
			return "raw", nil
		}
		return r.sizeEncoding(ulen), nil
	case 0:
		n = int(b)
		p = p[1:]
	case 1:
		if len(p) < 2 {
			return "", r.errorf(ErrTruncated, "input ended in a string length")
		}
		n = int(b&0x3f)<<8 | int(p[1])
		p = p[2:]
	default:
		return "raw", nil
	}
	if n <= 20 && n <= len(p) && isCanonicalInt(p[:n]) {
		return "int", nil
	}
	return r.sizeEncoding(uint64(n)), nil
}

func (r *Reader) sizeEncoding(n uint64) string {
	switch {
	case r.dialect == DialectValkey:
		// Valkey 9 embeds key, expiry and value in one allocation of up to
		// 128 bytes (shouldEmbedStringObject).
		if n < 256 && embeddedSize(len(r.rec.Key), r.rec.ExpireAt != 0, n) <= 128 {
			return "embstr"
		}
		return "raw"
	case r.valkeyVer == "" && r.serverMajor() >= 8:
		// Redis 8 embeds the key with the value object; a string is embstr
		// when object, key and value fit one 64-byte cache line. The writer
		// decided without the expiry (EXPIRE comes after SET).
		if n < 256 && embeddedSize(len(r.rec.Key), false, n) <= 64 {
			return "embstr"
		}
		return "raw"
	case r.version >= 7 && n <= 44:
		return "embstr"
	}
	return "raw"
}

// embeddedSize is the allocation of an object header with an embedded key
// (an sds with its header and one size byte), optional expiry and an
// sdshdr8 value.
func embeddedSize(keyLen int, expire bool, valLen uint64) uint64 {
	size := uint64(16) + sdsAllocSize(keyLen) + 1 + valLen + 4
	if expire {
		size += 8
	}
	return size
}

// sdsAllocSize is an sds string's header, bytes and terminator.
func sdsAllocSize(n int) uint64 {
	switch {
	case n < 32:
		return uint64(n) + 2
	case n < 256:
		return uint64(n) + 4
	case n < 65536:
		return uint64(n) + 6
	}
	return uint64(n) + 10
}

// serverMajor returns the major version from the redis-ver aux field, or 0.
func (r *Reader) serverMajor() int {
	n := 0
	for _, c := range r.redisVer {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// peekLZFLen decodes the uncompressed length of an LZF string header at p.
func peekLZFLen(p []byte) (uint64, bool) {
	p = p[1:]
	skip := func() (uint64, bool) {
		if len(p) == 0 {
			return 0, false
		}
		switch p[0] >> 6 {
		case 0:
			v := uint64(p[0] & 0x3f)
			p = p[1:]
			return v, true
		case 1:
			if len(p) < 2 {
				return 0, false
			}
			v := uint64(p[0]&0x3f)<<8 | uint64(p[1])
			p = p[2:]
			return v, true
		}
		if p[0] == 0x80 && len(p) >= 5 {
			v := uint64(binary.BigEndian.Uint32(p[1:]))
			p = p[5:]
			return v, true
		}
		if p[0] == 0x81 && len(p) >= 9 {
			v := binary.BigEndian.Uint64(p[1:])
			p = p[9:]
			return v, true
		}
		return 0, false
	}
	if _, ok := skip(); !ok {
		return 0, false
	}
	return skip()
}

// isCanonicalInt reports whether s is how Redis prints a 64-bit integer:
// optional '-', no leading zeros, no '+', not "-0".
func isCanonicalInt(s []byte) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	_, ok := compact.ParseRedisInt(s)
	return ok
}

// quicklist2Encoding: Redis 7.2 and later keep a list that fits one small
// listpack in a plain listpack, and save it as a one-node quicklist.
func (r *Reader) quicklist2Encoding() string {
	if r.version < 11 {
		return "quicklist"
	}
	p := r.in.peek(24)
	// node count 1, container PACKED (2), then the node's string header.
	if len(p) < 3 || p[0] != 1 || p[1] != 2 {
		return "quicklist"
	}
	var size uint64
	switch p[2] >> 6 {
	case 0:
		size = uint64(p[2])
	case 1:
		if len(p) < 4 {
			return "quicklist"
		}
		size = uint64(p[2]&0x3f)<<8 | uint64(p[3])
	case 3:
		if p[2]&0x3f != encLZF {
			return "quicklist"
		}
		n, ok := peekLZFLen(p[2:])
		if !ok {
			return "quicklist"
		}
		size = n
	default:
		return "quicklist"
	}
	// list-max-listpack-size -2 (the default) allows 8 KiB. A server checks
	// the limit against the listpack's size plus the raw length of what is
	// being added, so a listpack built by one big RPUSH can be larger than
	// 8 KiB on disk: then count as the server did, on the elements' lengths.
	if size <= 8192 {
		return "listpack"
	}
	if size > 3*8192 || p[2]>>6 == 3 {
		return "quicklist"
	}
	hdr := 1
	if p[2]>>6 == 1 {
		hdr = 2
	}
	r.in.grow(2 + hdr + int(size))
	node := r.in.peek(2 + hdr + int(size))
	if len(node) < 2+hdr+int(size) {
		return "quicklist"
	}
	it, err := compact.NewListpackIter(node[2+hdr:])
	if err != nil {
		return "quicklist"
	}
	raw := 7 // an empty listpack
	var num [20]byte
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		if e.IsInt {
			raw += len(appendInt(num[:0], e.Int))
		} else {
			raw += len(e.Str)
		}
	}
	if it.Err() == nil && raw <= 8192 {
		return "listpack"
	}
	return "quicklist"
}
