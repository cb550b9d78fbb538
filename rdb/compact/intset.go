package compact

import "encoding/binary"

const encIntset = "intset"

// IntsetIter walks the members of an intset blob, checking that they are
// strictly increasing. It is a plain value; Next never allocates.
type IntsetIter struct {
	blob []byte
	enc  int
	n    int // number of members (from the header, checked against the size)
	i    int // next member index
	prev int64
	err  error
}

// NewIntsetIter checks the intset header: the encoding must be 2, 4 or 8 and
// length*encoding must equal len(blob)-8.
func NewIntsetIter(blob []byte) (IntsetIter, error) {
	if len(blob) < 8 {
		return IntsetIter{}, newErr(encIntset, 0, "blob of "+itoa(len(blob))+" bytes is shorter than the 8-byte header")
	}
	enc := binary.LittleEndian.Uint32(blob)
	if enc != 2 && enc != 4 && enc != 8 {
		return IntsetIter{}, newErr(encIntset, 0, "encoding "+utoa(uint64(enc))+" is not 2, 4 or 8")
	}
	n := binary.LittleEndian.Uint32(blob[4:])
	if uint64(n)*uint64(enc) != uint64(len(blob)-8) {
		return IntsetIter{}, newErr(encIntset, 4, "length "+utoa(uint64(n))+" * encoding "+utoa(uint64(enc))+" does not match the "+itoa(len(blob)-8)+" content bytes")
	}
	return IntsetIter{blob: blob, enc: int(enc), n: int(n)}, nil
}

// Len returns the number of members.
func (it *IntsetIter) Len() int { return it.n }

// Encoding returns the member width in bytes: 2, 4 or 8.
func (it *IntsetIter) Encoding() int { return it.enc }

// Err returns the first validation error met by Next, or nil at a clean end.
func (it *IntsetIter) Err() error { return it.err }

// Next returns the next member. It returns false at the end or when the
// members are not strictly increasing (see Err).
func (it *IntsetIter) Next() (int64, bool) {
	if it.i >= it.n || it.err != nil {
		return 0, false
	}
	off := 8 + it.i*it.enc
	var v int64
	switch it.enc {
	case 2:
		v = int64(int16(binary.LittleEndian.Uint16(it.blob[off:])))
	case 4:
		v = int64(int32(binary.LittleEndian.Uint32(it.blob[off:])))
	default:
		v = int64(binary.LittleEndian.Uint64(it.blob[off:]))
	}
	if it.i > 0 && v <= it.prev {
		it.err = newErr(encIntset, off, "member "+itoa64(v)+" is not greater than the previous member "+itoa64(it.prev))
		it.i = it.n
		return 0, false
	}
	it.prev = v
	it.i++
	return v, true
}

// ValidateIntset checks the header and that the members are strictly
// increasing.
func ValidateIntset(blob []byte) error {
	it, err := NewIntsetIter(blob)
	if err != nil {
		return err
	}
	for {
		if _, ok := it.Next(); !ok {
			return it.err
		}
	}
}

// BuildIntset returns the intset holding the given members, which must be
// sorted in strictly increasing order (as Redis keeps them). It uses the
// smallest encoding that fits every member, little endian, as Redis does.
func BuildIntset(sorted []int64) []byte {
	enc := 2
	for _, v := range sorted {
		if v < -2147483648 || v > 2147483647 {
			enc = 8
			break
		}
		if v < -32768 || v > 32767 {
			enc = 4
		}
	}
	out := make([]byte, 8, 8+enc*len(sorted))
	binary.LittleEndian.PutUint32(out, uint32(enc))
	binary.LittleEndian.PutUint32(out[4:], uint32(len(sorted)))
	for _, v := range sorted {
		switch enc {
		case 2:
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		case 4:
			out = binary.LittleEndian.AppendUint32(out, uint32(v))
		default:
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	}
	return out
}
