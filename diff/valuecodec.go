package diff

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"math"

	"github.com/rdbtool/rdbtool/rdb"
)

// The detail pass keeps the values it compares in temporary files, in a
// plain length-prefixed form (gob for streams and modules, which are rare).

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeValue appends v's encoding to b.
func encodeValue(b []byte, v *rdb.Value) ([]byte, error) {
	b = append(b, byte(v.Type))
	switch v.Type {
	case rdb.TypeString:
		return append(b, v.String...), nil
	case rdb.TypeList, rdb.TypeSet:
		b = binary.AppendUvarint(b, uint64(len(v.Items)))
		for _, it := range v.Items {
			b = appendBytes(b, it)
		}
		return b, nil
	case rdb.TypeZSet:
		b = binary.AppendUvarint(b, uint64(len(v.ZSet)))
		for _, z := range v.ZSet {
			b = appendBytes(b, z.Member)
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(z.Score))
		}
		return b, nil
	case rdb.TypeHash:
		b = binary.AppendUvarint(b, uint64(len(v.Hash)))
		for _, f := range v.Hash {
			b = appendBytes(b, f.Field)
			b = appendBytes(b, f.Value)
			b = binary.AppendVarint(b, f.ExpireAt)
		}
		return b, nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return append(b, buf.Bytes()...), nil
}

var errValueCodec = errors.New("reading back a spilled value: corrupt")

type valueDecoder struct {
	b   []byte
	err bool
}

func (d *valueDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *valueDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *valueDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = true
		d.b = nil
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *valueDecoder) count() int {
	n := d.uvarint()
	if n > uint64(len(d.b)) { // every element takes a byte at least
		d.err = true
		return 0
	}
	return int(n)
}

// decodeValue decodes what encodeValue wrote; the value's slices point
// into b.
func decodeValue(b []byte) (*rdb.Value, error) {
	if len(b) == 0 {
		return nil, errValueCodec
	}
	v := &rdb.Value{Type: rdb.Type(b[0])}
	d := &valueDecoder{b: b[1:]}
	switch v.Type {
	case rdb.TypeString:
		v.String = d.b
		if v.String == nil {
			v.String = []byte{}
		}
		return v, nil
	case rdb.TypeList, rdb.TypeSet:
		n := d.count()
		v.Items = make([][]byte, n)
		for i := range v.Items {
			v.Items[i] = d.bytes()
		}
	case rdb.TypeZSet:
		n := d.count()
		v.ZSet = make([]rdb.ScoredMember, n)
		for i := range v.ZSet {
			v.ZSet[i].Member = d.bytes()
			if len(d.b) < 8 {
				return nil, errValueCodec
			}
			v.ZSet[i].Score = math.Float64frombits(binary.LittleEndian.Uint64(d.b))
			d.b = d.b[8:]
		}
	case rdb.TypeHash:
		n := d.count()
		v.Hash = make([]rdb.HashField, n)
		for i := range v.Hash {
			f := &v.Hash[i]
			f.Field = d.bytes()
			f.Value = d.bytes()
			f.ExpireAt = d.varint()
		}
	default:
		v = &rdb.Value{}
		if err := gob.NewDecoder(bytes.NewReader(b[1:])).Decode(v); err != nil {
			return nil, errValueCodec
		}
		return v, nil
	}
	if d.err || len(d.b) != 0 {
		return nil, errValueCodec
	}
	return v, nil
}
