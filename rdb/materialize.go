package rdb

import (
	"io"
	"slices"
)

// Value is a whole value held in memory: the convenience form for callers
// that want it. Streaming with NextElement and friends needs no more memory
// than the largest element; ReadValue needs as much as the value.
type Value struct {
	Type   Type
	String []byte         // TypeString
	Items  [][]byte       // TypeList (in order) and TypeSet (in file order)
	ZSet   []ScoredMember // TypeZSet, in file order (ascending score for sorted encodings)
	Hash   []HashField    // TypeHash, in file order
	Stream *StreamValue   // TypeStream
	Module *ModuleValue   // TypeModule
}

// ScoredMember is a sorted-set member with its score.
type ScoredMember struct {
	Member []byte
	Score  float64
}

// HashField is a hash field with its value and optional expiry.
type HashField struct {
	Field, Value []byte
	ExpireAt     int64 // Unix ms; 0 when the field has no TTL
}

// StreamValue is a whole stream: its live entries, then its metadata.
type StreamValue struct {
	Entries []StreamEntry
	StreamInfo
}

// ReadValue reads the rest of the current key's value into memory. The
// result is the caller's: nothing in it is reused by the Reader.
func (r *Reader) ReadValue() (*Value, error) {
	if !r.inKey {
		return nil, &Error{Name: r.opts.name, Offset: r.in.offset(), What: "no key is current: call Next first", Err: ErrWrongType}
	}
	v := &Value{Type: r.rec.Type}
	switch r.rec.Type {
	case TypeString:
		s, err := r.ReadString()
		if err != nil {
			return nil, err
		}
		v.String = slices.Clone(s)
		if v.String == nil {
			v.String = []byte{}
		}
	case TypeModule:
		m, err := r.Module()
		if err != nil {
			return nil, err
		}
		mc := *m
		mc.Raw = slices.Clone(m.Raw)
		v.Module = &mc
	case TypeStream:
		sv := &StreamValue{}
		for {
			e, err := r.NextStreamEntry()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			fields := make([][]byte, len(e.Fields))
			for i, f := range e.Fields {
				fields[i] = slices.Clone(f)
			}
			sv.Entries = append(sv.Entries, StreamEntry{ID: e.ID, Fields: fields})
		}
		info, err := r.Stream()
		if err != nil {
			return nil, err
		}
		sv.StreamInfo = *info
		sv.Groups = nil // none: nil, whatever streams the Reader read before
		if len(info.Groups) > 0 {
			sv.Groups = slices.Clone(info.Groups)
		}
		v.Stream = sv
	default:
		for {
			e, err := r.NextElement()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			switch v.Type {
			case TypeList, TypeSet:
				v.Items = append(v.Items, cloneNonNil(e.Member))
			case TypeZSet:
				v.ZSet = append(v.ZSet, ScoredMember{cloneNonNil(e.Member), e.Score})
			case TypeHash:
				v.Hash = append(v.Hash, HashField{cloneNonNil(e.Member), cloneNonNil(e.Value), e.ExpireAt})
			}
		}
	}
	return v, nil
}

func cloneNonNil(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// VerifyValue reads the current key's value to the end, decoding every
// element (and decompressing what is compressed) without keeping any of it:
// a full integrity pass over the value in constant memory, where Skip only
// checks the lengths that frame it.
func (r *Reader) VerifyValue() error {
	switch r.rec.Type {
	case TypeString:
		_, err := r.ReadString()
		return err
	case TypeModule:
		_, err := r.Module()
		return err
	case TypeStream:
		for {
			_, err := r.NextStreamEntry()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		_, err := r.Stream()
		return err
	}
	v := &r.val
	if !r.inKey || v.started {
		return drainElements(r)
	}
	// Compact encodings: decode and validate every entry of every blob,
	// without turning integers into text for a caller that keeps nothing.
	switch v.typ {
	case typeHashZipmap, typeListZiplist, typeZSetZiplist, typeHashZiplist, typeSetIntset,
		typeHashListpack, typeZSetListpack, typeSetListpack, typeHashListpackExPreGA, typeHashListpackEx,
		typeListQuicklist, typeListQuicklist2:
	default:
		return drainElements(r)
	}
	if err := r.startElements(); err != nil {
		return err
	}
	for !v.done {
		if v.inner != innerNone && v.inner != innerPlainNode && v.inner != innerDone {
			if _, _, err := r.countInner(); err != nil {
				return err
			}
		}
		v.inner = innerNone
		if v.remaining == 0 {
			r.endValue()
			break
		}
		if err := r.loadNode(); err != nil {
			return err
		}
	}
	return nil
}

func drainElements(r *Reader) error {
	for {
		_, err := r.NextElement()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
