package rdb

import (
	"encoding/binary"
	"fmt"
)

// EncodeDump serializes v, a value held in memory, as a DUMP payload for opts.Target, the form the
// DUMP command returns and RESTORE accepts: the value's type byte and
// encoding (chosen as for an RDB file, see Writer), the RDB version as two
// little-endian bytes, and the CRC-64 of everything before. As with DUMP,
// strings are LZF-compressed unless opts.NoCompression; expiry, LRU and LFU
// are not part of a payload (RESTORE takes them as arguments).
// NewDumpReader decodes the result.
func EncodeDump(v *Value, opts WriterOptions) ([]byte, error) {
	w, err := newPayloadWriter(opts)
	if err != nil {
		return nil, err
	}
	if err := w.WriteValue(KeyHeader{}, v); err != nil {
		return nil, err
	}
	return w.finishPayload()
}

// EncodeDumpFrom is EncodeDump for the current value of a Reader (rec is
// what Next returned), transcoded as it is read: the value is not held in
// memory beyond what its encoding needs. It consumes the value. Where the
// target loads the source's own RDB version and nothing needs re-encoding,
// Reader.RawValue with AppendDumpTrailer gives a payload without decoding.
func EncodeDumpFrom(r *Reader, rec *Record, opts WriterOptions) ([]byte, error) {
	if rec.Kind != KindKey {
		return nil, fmt.Errorf("rdb: EncodeDumpFrom of a %s record", rec.Kind)
	}
	w, err := newPayloadWriter(opts)
	if err != nil {
		return nil, err
	}
	h := KeyHeader{Key: rec.Key, KeyMeta: rec.KeyMeta}
	if err := w.CopyValue(r, rec, h); err != nil {
		return nil, err
	}
	return w.finishPayload()
}

func newPayloadWriter(opts WriterOptions) (*Writer, error) {
	w, err := NewWriter(nil, opts)
	if err != nil {
		return nil, err
	}
	w.payload = true
	return w, nil
}

func (w *Writer) finishPayload() ([]byte, error) {
	if w.o.err != nil {
		return nil, w.o.err
	}
	b := AppendDumpTrailer(w.o.buf, w.t.Version)
	w.o.buf = nil
	return b, nil
}

// AppendDumpTrailer completes a DUMP payload whose body (type byte and
// value, as Reader.RawValue returns them) is body: it appends the RDB
// version as two little-endian bytes and the CRC-64 of everything before.
func AppendDumpTrailer(body []byte, version int) []byte {
	b := binary.LittleEndian.AppendUint16(body, uint16(version))
	return binary.LittleEndian.AppendUint64(b, CRC64(0, b))
}
