// Package export renders the keys of an RDB stream in formats for people
// and other programs: JSON Lines, one object per key (JSONWriter), and
// RESP commands (RESPWriter, ValueCommands).
//
// Both writers stream: a value's elements are written as they are read, so
// exporting a key never needs the whole value in memory (except stream
// consumer groups, which the file stores after the entries).
package export

import (
	"io"
	"math"
	"strconv"

	"github.com/rdbtool/rdbtool/internal/jsontext"
	"github.com/rdbtool/rdbtool/rdb"
)

// JSONWriter writes one JSON object per key.
//
// Fields: db, key (the key as text, absent when it is not valid UTF-8),
// key_b64, type (the TYPE reply; a module's type name for module
// values), encoding (OBJECT ENCODING after loading), expire_at_ms (or null),
// lfu_freq, idle_seconds and mvcc_tstamp (KeyDB) when the file has them,
// then the value:
// value_b64 for strings, with value (the string as text) beside it when it
// is valid UTF-8; value as an array of base64 elements for lists and
// sets (file order); an array of [member_b64, score] for sorted sets (score a
// JSON number, or the string "inf"/"-inf"); an object field_b64 → value_b64
// for hashes, with field_expire_at_ms for fields that have a TTL (also
// those already expired at snapshot time); stream with entries and the
// stream's metadata and groups; module with name, encver and raw_b64.
type JSONWriter struct {
	w   io.Writer // nil: render into buf only (WriteRecords' workers)
	buf []byte    // rendered, not yet written to w
	err error     // the first error from w; later output is dropped

	ttls []fieldTTL
}

type fieldTTL struct {
	field []byte
	at    int64
}

// jsonFlushSize: a JSONWriter writes its buffer to the io.Writer when it
// holds this much. Rendering appends to one []byte; a bufio.Writer call
// per byte or string cost more than the JSON escaping.
const jsonFlushSize = 64 << 10

// NewJSONWriter returns a JSONWriter writing to w. Call Flush at the end.
func NewJSONWriter(w io.Writer) *JSONWriter {
	return &JSONWriter{w: w, buf: make([]byte, 0, jsonFlushSize+4<<10)}
}

// Flush writes buffered output.
func (j *JSONWriter) Flush() error {
	if len(j.buf) > 0 && j.err == nil {
		var n int
		n, j.err = j.w.Write(j.buf)
		if j.err == nil && n < len(j.buf) {
			j.err = io.ErrShortWrite
		}
	}
	j.reset()
	return j.err
}

// reset empties the buffer, and lets go of it when one huge value made it
// grow far beyond what the next lines need.
func (j *JSONWriter) reset() {
	if cap(j.buf) > 64*jsonFlushSize {
		j.buf = make([]byte, 0, jsonFlushSize+4<<10)
	}
	j.buf = j.buf[:0]
}

// flushIfFull writes the buffer once it holds jsonFlushSize bytes
// (never for a worker's JSONWriter, which renders whole lines).
func (j *JSONWriter) flushIfFull() {
	if len(j.buf) >= jsonFlushSize && j.w != nil {
		j.Flush()
	}
}

// write writes a line a worker rendered.
func (j *JSONWriter) write(p []byte) {
	if len(p) < jsonFlushSize {
		j.buf = append(j.buf, p...)
		j.flushIfFull()
		return
	}
	if j.Flush() == nil {
		n, err := j.w.Write(p)
		if err == nil && n < len(p) {
			err = io.ErrShortWrite
		}
		j.err = err
	}
}

func (j *JSONWriter) str(s string) { j.buf = append(j.buf, s...) }
func (j *JSONWriter) byte(c byte)  { j.buf = append(j.buf, c) }

// b64Piece is how many bytes of a large string b64 encodes between
// flushes: a multiple of 3, so the pieces join into one encoding.
const b64Piece = 3 * jsonFlushSize / 4

func (j *JSONWriter) b64(b []byte) {
	if len(b) > b64Piece && j.w != nil {
		j.b64Pieces(b)
		return
	}
	buf := append(j.buf, '"') // a local: j.buf is not reloaded and stored at each step
	buf = jsontext.AppendBase64(buf, b)
	j.buf = append(buf, '"')
}

// b64Pieces is b64 for a large string, flushing as it goes.
func (j *JSONWriter) b64Pieces(b []byte) {
	j.byte('"')
	for len(b) > b64Piece {
		j.buf = jsontext.AppendBase64(j.buf, b[:b64Piece])
		j.flushIfFull()
		b = b[b64Piece:]
	}
	j.buf = jsontext.AppendBase64(j.buf, b)
	j.byte('"')
}

func (j *JSONWriter) int(v int64)   { j.buf = strconv.AppendInt(j.buf, v, 10) }
func (j *JSONWriter) uint(v uint64) { j.buf = strconv.AppendUint(j.buf, v, 10) }

func (j *JSONWriter) float(f float64) {
	switch {
	case math.IsInf(f, 1):
		j.str(`"inf"`)
	case math.IsInf(f, -1):
		j.str(`"-inf"`)
	case math.IsNaN(f):
		j.str(`"nan"`)
	default:
		// Integer scores (counts, ranks) below 1e6 print as integers in
		// 'g' form, and AppendInt is several times faster. -0 is left to
		// AppendFloat ("-0").
		if i := int64(f); float64(i) == f && i > -1e6 && i < 1e6 && (i != 0 || !math.Signbit(f)) {
			j.buf = strconv.AppendInt(j.buf, i, 10)
			return
		}
		j.buf = strconv.AppendFloat(j.buf, f, 'g', -1, 64)
	}
}

// text writes a name as a JSON string when it is valid UTF-8, otherwise as
// {"b64": ...} (the corpus's convention for names inside stream metadata).
func (j *JSONWriter) text(b []byte) {
	var ok bool
	if j.buf, ok = jsontext.AppendValidString(j.buf, b); !ok {
		j.str(`{"b64":`)
		j.b64(b)
		j.byte('}')
	}
}

// textField writes ,"name":"text" when b is valid UTF-8, and nothing
// otherwise: the text beside a *_b64 field.
func (j *JSONWriter) textField(name string, b []byte) {
	mark := len(j.buf)
	j.str(`,"`)
	j.str(name)
	j.str(`":`)
	var ok bool
	if j.buf, ok = jsontext.AppendValidString(j.buf, b); !ok {
		j.buf = j.buf[:mark]
	}
}

func (j *JSONWriter) id(id rdb.StreamID) {
	j.byte('"')
	j.uint(id.Ms)
	j.byte('-')
	j.uint(id.Seq)
	j.byte('"')
}

// WriteSlotInfo writes a cluster slot statistics record (opcode 244) as
// {"slot_info":{"db":..,"slot":..,"keys":..,"expires":..}}: a line with no
// key_b64, so readers of keys tell it apart.
func (j *JSONWriter) WriteSlotInfo(rec *rdb.Record) error {
	j.str(`{"slot_info":{"db":`)
	j.int(int64(rec.DB))
	j.str(`,"slot":`)
	j.int(int64(rec.Slot))
	j.str(`,"keys":`)
	j.uint(rec.SlotKeys)
	j.str(`,"expires":`)
	j.uint(rec.SlotExpires)
	j.str("}}\n")
	j.flushIfFull()
	return j.err
}

// WriteKey writes the current key of r (rec must be the record Next just
// returned) and consumes its value.
func (j *JSONWriter) WriteKey(r *rdb.Reader, rec *rdb.Record) error {
	mod, err := j.keyHead(r, rec)
	if err != nil {
		return err
	}
	switch rec.Type {
	case rdb.TypeString:
		var s []byte
		if s, err = r.ReadString(); err == nil {
			j.textField("value", s)
			j.str(`,"value_b64":`)
			j.b64(s)
		}
	case rdb.TypeModule:
		j.str(`,"module":{"name":`)
		j.text([]byte(mod.Name))
		j.str(`,"encver":`)
		j.int(int64(mod.EncVer))
		j.str(`,"raw_b64":`)
		j.b64(mod.Raw)
		j.byte('}')
	case rdb.TypeStream:
		err = j.stream(r)
	default:
		err = j.elements(r, rec.Type)
	}
	if err != nil {
		return err
	}
	j.str("}\n")
	j.flushIfFull()
	return nil
}

// writePart writes one part of a key's value (see rdb.ParallelHandler.Split):
// with the first, what WriteKey writes before the elements; with the last,
// what it writes after them. first says whether no element of the value
// has been written before this part; wrote reports whether this part
// wrote one.
func (j *JSONWriter) writePart(r *rdb.Reader, rec *rdb.Record, part *rdb.ValuePart, first bool) (wrote bool, err error) {
	j.ttls = j.ttls[:0] // values handed out in parts have no field TTLs
	if part.Index == 0 {
		if _, err := j.keyHead(r, rec); err != nil {
			return false, err
		}
		j.openElements(rec.Type)
	}
	if wrote, err = j.elementList(r, rec.Type, first); err != nil {
		return wrote, err
	}
	if part.Last {
		j.closeElements(rec.Type)
		j.str("}\n")
		j.flushIfFull()
	}
	return wrote, nil
}

// keyHead writes a key's fields before its value; a module value's
// header is read for its type name, and returned.
func (j *JSONWriter) keyHead(r *rdb.Reader, rec *rdb.Record) (*rdb.ModuleValue, error) {
	j.str(`{"db":`)
	j.int(int64(rec.DB))
	j.textField("key", rec.Key)
	j.str(`,"key_b64":`)
	j.b64(rec.Key)
	j.str(`,"type":`)
	typeName := rec.Type.String()
	var mod *rdb.ModuleValue
	if rec.Type == rdb.TypeModule {
		var err error
		if mod, err = r.Module(); err != nil {
			return nil, err
		}
		typeName = mod.Name
	}
	j.text([]byte(typeName))
	j.str(`,"encoding":`)
	j.text([]byte(rec.Encoding))
	j.str(`,"expire_at_ms":`)
	if rec.ExpireAt != 0 {
		j.int(rec.ExpireAt)
	} else {
		j.str("null")
	}
	if rec.Freq >= 0 {
		j.str(`,"lfu_freq":`)
		j.int(int64(rec.Freq))
	}
	if rec.MVCCTimestamp != 0 {
		j.str(`,"mvcc_tstamp":`)
		j.uint(rec.MVCCTimestamp)
	}
	if rec.Idle >= 0 {
		j.str(`,"idle_seconds":`)
		j.int(rec.Idle)
	}
	if len(rec.KeyMeta) > 0 {
		j.str(`,"key_meta":[`)
		for i, m := range rec.KeyMeta {
			if i > 0 {
				j.byte(',')
			}
			j.str(`{"class":`)
			j.text([]byte(m.ClassName()))
			j.str(`,"raw_b64":`)
			j.b64(m.Raw)
			j.byte('}')
		}
		j.byte(']')
	}
	return mod, nil
}

func (j *JSONWriter) elements(r *rdb.Reader, t rdb.Type) error {
	j.openElements(t)
	if _, err := j.elementList(r, t, true); err != nil {
		return err
	}
	j.closeElements(t)
	return nil
}

// openElements starts a list, set, sorted set or hash value.
func (j *JSONWriter) openElements(t rdb.Type) {
	j.str(`,"value":`)
	if t == rdb.TypeHash {
		j.byte('{')
	} else {
		j.byte('[')
	}
	j.ttls = j.ttls[:0]
}

// elementList writes the value's elements, each after a comma unless
// first and it is the first; wrote reports whether it wrote one.
func (j *JSONWriter) elementList(r *rdb.Reader, t rdb.Type, first bool) (wrote bool, err error) {
	// NextElement rather than the Elements iterator: its closure call and
	// second copy of each Element were 8% of dump's CPU.
	for {
		e, err := r.NextElement()
		if err == io.EOF {
			return wrote, nil
		}
		if err != nil {
			return wrote, err
		}
		if !first {
			j.byte(',')
		}
		first, wrote = false, true
		switch t {
		case rdb.TypeList, rdb.TypeSet:
			j.b64(e.Member)
		case rdb.TypeZSet:
			j.byte('[')
			j.b64(e.Member)
			j.byte(',')
			j.float(e.Score)
			j.byte(']')
		case rdb.TypeHash:
			j.b64(e.Member)
			j.byte(':')
			j.b64(e.Value)
			if e.ExpireAt != 0 {
				j.ttls = append(j.ttls, fieldTTL{append([]byte(nil), e.Member...), e.ExpireAt})
			}
		}
		j.flushIfFull()
	}
}

// closeElements ends the value openElements started, with its fields'
// expiry times.
func (j *JSONWriter) closeElements(t rdb.Type) {
	if t == rdb.TypeHash {
		j.byte('}')
	} else {
		j.byte(']')
	}
	if len(j.ttls) > 0 {
		j.str(`,"field_expire_at_ms":{`)
		for i, f := range j.ttls {
			if i > 0 {
				j.byte(',')
			}
			j.b64(f.field)
			j.byte(':')
			j.int(f.at)
		}
		j.byte('}')
	}
}

func (j *JSONWriter) stream(r *rdb.Reader) error {
	j.str(`,"stream":{"entries":[`)
	first := true
	for {
		e, err := r.NextStreamEntry()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if !first {
			j.byte(',')
		}
		first = false
		j.byte('[')
		j.id(e.ID)
		j.str(",[")
		for i, f := range e.Fields {
			if i > 0 {
				j.byte(',')
			}
			j.b64(f)
		}
		j.str("]]")
		j.flushIfFull()
	}
	j.byte(']')
	info, err := r.Stream()
	if err != nil {
		return err
	}
	j.str(`,"length":`)
	j.uint(info.Length)
	j.str(`,"last-generated-id":`)
	j.id(info.LastID)
	j.str(`,"recorded-first-entry-id":`)
	j.id(info.FirstID)
	j.str(`,"max-deleted-entry-id":`)
	j.id(info.MaxDeletedID)
	j.str(`,"entries-added":`)
	j.uint(info.EntriesAdded)
	j.str(`,"groups":[`)
	for gi, g := range info.Groups {
		if gi > 0 {
			j.byte(',')
		}
		j.str(`{"name":`)
		j.text(g.Name)
		j.str(`,"last-delivered-id":`)
		j.id(g.LastID)
		j.str(`,"entries-read":`)
		if g.EntriesRead >= 0 {
			j.int(g.EntriesRead)
		} else {
			j.str("null")
		}
		j.str(`,"pel-count":`)
		j.int(int64(len(g.Pending)))
		j.str(`,"pending":[`)
		byID := make(map[rdb.StreamID]rdb.StreamPending, len(g.Pending))
		for i, p := range g.Pending {
			byID[p.ID] = p
			if i > 0 {
				j.byte(',')
			}
			j.byte('[')
			j.id(p.ID)
			j.byte(',')
			j.text(p.Consumer)
			j.byte(',')
			j.int(p.DeliveryTime)
			j.byte(',')
			j.uint(p.DeliveryCount)
			j.byte(']')
		}
		j.str(`],"consumers":[`)
		for ci, c := range g.Consumers {
			if ci > 0 {
				j.byte(',')
			}
			j.str(`{"name":`)
			j.text(c.Name)
			j.str(`,"seen-time":`)
			j.int(c.SeenTime)
			if info.Version >= 3 {
				j.str(`,"active-time":`)
				j.int(c.ActiveTime)
			}
			j.str(`,"pel-count":`)
			j.int(int64(len(c.Pending)))
			j.str(`,"pending":[`)
			for i, id := range c.Pending {
				if i > 0 {
					j.byte(',')
				}
				p := byID[id]
				j.byte('[')
				j.id(id)
				j.byte(',')
				j.int(p.DeliveryTime)
				j.byte(',')
				j.uint(p.DeliveryCount)
				j.byte(']')
			}
			j.str("]}")
		}
		j.str("]}")
	}
	j.str("]}")
	return nil
}
