package rdb

// ModuleInfo identifies the module type that wrote a value or aux record:
// Redis packs a 9-character type name and a 10-bit encoding version into a
// 64-bit id.
type ModuleInfo struct {
	ID     uint64
	Name   string
	EncVer int
}

const moduleCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// DecodeModuleID splits a 64-bit module type id into name and version.
func DecodeModuleID(id uint64) ModuleInfo {
	var name [9]byte
	for i := range name {
		name[i] = moduleCharset[(id>>(64-6*(i+1)))&63]
	}
	return ModuleInfo{ID: id, Name: string(name[:]), EncVer: int(id & 1023)}
}

// ModuleValue is a module type's value, kept as the bytes the module wrote:
// Raw is everything after the type byte (the module id, then the module's
// self-describing opcode stream up to and including its EOF opcode).
type ModuleValue struct {
	ModuleInfo
	Raw []byte
}

// Module opcodes of RDB_TYPE_MODULE_2 values and module aux data.
const (
	modOpEOF    = 0
	modOpSInt   = 1
	modOpUInt   = 2
	modOpFloat  = 3
	modOpDouble = 4
	modOpString = 5
)

// Module returns the current module value. The result is valid until the
// next call to Next.
func (r *Reader) Module() (*ModuleValue, error) {
	if err := r.checkValue(TypeModule); err != nil {
		return nil, err
	}
	if r.val.started {
		return nil, r.errorf(ErrWrongType, "the module value was already read")
	}
	if r.val.typ == typeModulePreGA {
		return nil, r.errorf(ErrCorrupt, "module value in the Redis 4.0 pre-release format (type 6) cannot be read without its module")
	}
	r.val.started = true
	r.in.startTee()
	id, err := r.readModuleBody("a module value")
	r.val.str = r.in.stopTee(r.val.str[:0])
	if err != nil {
		return nil, err
	}
	r.endValue()
	return &ModuleValue{ModuleInfo: DecodeModuleID(id), Raw: r.val.str}, nil
}

func (r *Reader) skipModule() error {
	if r.val.typ == typeModulePreGA {
		return r.errorf(ErrCorrupt, "module value in the Redis 4.0 pre-release format (type 6) cannot be skipped without its module")
	}
	_, err := r.readModuleBody("a module value")
	return err
}

// readModuleBody reads a module id and the opcode stream after it.
func (r *Reader) readModuleBody(what string) (uint64, error) {
	id, err := r.readLen(what)
	if err != nil {
		return 0, err
	}
	return id, r.skipModuleOpcodes(id, what)
}

func (r *Reader) skipModuleOpcodes(id uint64, what string) error {
	for {
		op, err := r.readLen(what)
		if err != nil {
			return err
		}
		switch op {
		case modOpEOF:
			return nil
		case modOpSInt, modOpUInt:
			_, err = r.readLen(what)
		case modOpFloat:
			err = r.in.discard(4)
		case modOpDouble:
			err = r.in.discard(8)
		case modOpString:
			_, err = r.skipString(what)
		default:
			return r.errorAt(r.in.offset()-1, ErrCorrupt, "%s of module %s: unknown module opcode %d", what, DecodeModuleID(id).Name, op)
		}
		if err != nil {
			return r.truncOrErr(err, what)
		}
	}
}

// readModuleAux reads opcode 247: module id, when, opcode stream.
func (r *Reader) readModuleAux(rec *Record) error {
	r.in.startTee()
	id, err := r.readLen("a module aux id")
	if err == nil {
		var whenOp uint64
		whenOp, err = r.readLen("a module aux 'when' opcode")
		if err == nil && whenOp != modOpUInt {
			err = r.errorf(ErrCorrupt, "module aux data of %s: 'when' opcode %d, expected %d", DecodeModuleID(id).Name, whenOp, modOpUInt)
		}
		if err == nil {
			rec.When, err = r.readLen("a module aux 'when'")
		}
		if err == nil {
			err = r.skipModuleOpcodes(id, "module aux data")
		}
	}
	rec.ModuleAux = r.in.stopTee(nil)
	if err != nil {
		return err
	}
	rec.Kind = KindModuleAux
	rec.Module = DecodeModuleID(id)
	return nil
}
