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
// plain length-prefixed form (gob for streams and modules, which are rare):
// the type, then a string's bytes or a collection's elements one after
// another, with no count, so that a collection can be written element by
// element as it is read (appendElement).

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
		for _, it := range v.Items {
			b = appendElement(b, v.Type, &rdb.Element{Member: it})
		}
		return b, nil
	case rdb.TypeZSet:
		for _, z := range v.ZSet {
			b = appendElement(b, v.Type, &rdb.Element{Member: z.Member, Score: z.Score})
		}
		return b, nil
	case rdb.TypeHash:
		for _, f := range v.Hash {
			b = appendElement(b, v.Type, &rdb.Element{Member: f.Field, Value: f.Value, ExpireAt: f.ExpireAt})
		}
		return b, nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return append(b, buf.Bytes()...), nil
}

// isCollection tells whether values of type t are stored element by
// element.
func isCollection(t rdb.Type) bool {
	return t == rdb.TypeList || t == rdb.TypeSet || t == rdb.TypeZSet || t == rdb.TypeHash
}

// appendElement appends one element of a collection of type t: the
// member, then a sorted set's score (8 bytes) or a hash's value and
// field expiry (varint).
func appendElement(b []byte, t rdb.Type, e *rdb.Element) []byte {
	b = appendBytes(b, e.Member)
	switch t {
	case rdb.TypeZSet:
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(e.Score))
	case rdb.TypeHash:
		b = appendBytes(b, e.Value)
		b = binary.AppendVarint(b, e.ExpireAt)
	}
	return b
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
		v.Items = [][]byte{}
		for len(d.b) > 0 && !d.err {
			v.Items = append(v.Items, d.bytes())
		}
	case rdb.TypeZSet:
		v.ZSet = []rdb.ScoredMember{}
		for len(d.b) > 0 && !d.err {
			m := d.bytes()
			if len(d.b) < 8 {
				return nil, errValueCodec
			}
			v.ZSet = append(v.ZSet, rdb.ScoredMember{Member: m, Score: math.Float64frombits(binary.LittleEndian.Uint64(d.b))})
			d.b = d.b[8:]
		}
	case rdb.TypeHash:
		v.Hash = []rdb.HashField{}
		for len(d.b) > 0 && !d.err {
			var f rdb.HashField
			f.Field = d.bytes()
			f.Value = d.bytes()
			f.ExpireAt = d.varint()
			v.Hash = append(v.Hash, f)
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
