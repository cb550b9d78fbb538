package rdb

import "encoding/binary"

// readKeyMeta reads Redis 8.6's opcode 243: a count of metadata classes,
// then for each a 4-byte class spec (little-endian) and a module opcode
// stream ending in EOF.
func (r *Reader) readKeyMeta(rec *Record) error {
	n, err := r.readLen("the key metadata class count")
	if err != nil {
		return err
	}
	if n == 0 || n > 64 {
		return r.errorf(ErrCorrupt, "key metadata with %d classes (servers write 1 to 7)", n)
	}
	for i := uint64(0); i < n; i++ {
		b, err := r.in.next(4)
		if err != nil {
			return r.truncOrErr(err, "a key metadata class spec")
		}
		m := KeyMeta{Class: binary.LittleEndian.Uint32(b)}
		r.in.startTee()
		err = r.skipModuleOpcodes(uint64(m.Class), "key metadata")
		m.Raw = r.in.stopTee(nil)
		if err != nil {
			return err
		}
		rec.KeyMeta = append(rec.KeyMeta, m)
	}
	r.metaBuf = rec.KeyMeta
	return nil
}

// readFunctionPreGA reads opcode 246, written only by Redis 7.0 release
// candidates: name, engine, an optional description, then the code.
func (r *Reader) readFunctionPreGA(rec *Record) error {
	var err error
	rec.Kind = KindFunction
	if rec.FunctionName, err = r.readStringAppend(nil, "a function name"); err != nil {
		return err
	}
	if rec.FunctionEngine, err = r.readStringAppend(nil, "a function engine"); err != nil {
		return err
	}
	hasDesc, err := r.readLen("a function description flag")
	if err != nil {
		return err
	}
	switch hasDesc {
	case 0:
	case 1:
		if _, err = r.skipString("a function description"); err != nil {
			return err
		}
	default:
		return r.errorf(ErrCorrupt, "function description flag %d, expected 0 or 1", hasDesc)
	}
	rec.Function, err = r.readStringAppend(nil, "a function body")
	return err
}

// readSlotImport reads Valkey 9's opcode 243: an import job's name and its
// slot ranges.
func (r *Reader) readSlotImport(rec *Record) error {
	var err error
	rec.Kind = KindSlotImport
	if rec.SlotImportJob, err = r.readStringAppend(nil, "a slot import job name"); err != nil {
		return err
	}
	n, err := r.readLen("a slot range count")
	if err != nil {
		return err
	}
	if n > 16384 {
		return r.errorf(ErrCorrupt, "slot import with %d ranges", n)
	}
	for i := uint64(0); i < n; i++ {
		a, err := r.readLen("a slot range start")
		if err != nil {
			return err
		}
		b, err := r.readLen("a slot range end")
		if err != nil {
			return err
		}
		if a > 16383 || b > 16383 || a > b {
			return r.errorf(ErrCorrupt, "slot range %d-%d is invalid", a, b)
		}
		rec.SlotRanges = append(rec.SlotRanges, [2]int{int(a), int(b)})
	}
	return nil
}

const keyMetaCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// ClassName returns the 4-character metadata class name.
func (m KeyMeta) ClassName() string {
	var b [4]byte
	for i := range b {
		b[i] = keyMetaCharset[(m.Class>>(32-6*(i+1)))&63]
	}
	return string(b[:])
}

// ClassVersion returns the class's encoding version (0-31).
func (m KeyMeta) ClassVersion() int { return int(m.Class>>3) & 31 }

// ClassFlags returns the class flags; bit 0 means a server without the
// class may drop the metadata and keep the key.
func (m KeyMeta) ClassFlags() int { return int(m.Class & 7) }
