// Package export renders the keys of an RDB stream in formats for people
// and other programs: JSON Lines, one object per key (JSONWriter), and
// RESP commands (RESPWriter, ValueCommands).
//
// Both writers stream: a value's elements are written as they are read, so
// exporting a key never needs the whole value in memory (except stream
// consumer groups, which the file stores after the entries).
package export

import (
	"bufio"
	"encoding/base64"
	"io"
	"math"
	"strconv"
	"unicode/utf8"

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
	w       *bufio.Writer
	scratch []byte
	ttls    []fieldTTL
}

type fieldTTL struct {
	field []byte
	at    int64
}

// NewJSONWriter returns a JSONWriter writing to w. Call Flush at the end.
func NewJSONWriter(w io.Writer) *JSONWriter {
	return &JSONWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// Flush writes buffered output.
func (j *JSONWriter) Flush() error { return j.w.Flush() }

func (j *JSONWriter) b64(b []byte) {
	n := base64.StdEncoding.EncodedLen(len(b))
	if cap(j.scratch) < n {
		j.scratch = make([]byte, n)
	}
	s := j.scratch[:n]
	base64.StdEncoding.Encode(s, b)
	j.w.WriteByte('"')
	j.w.Write(s)
	j.w.WriteByte('"')
}

func (j *JSONWriter) int(v int64) {
	j.scratch = strconv.AppendInt(j.scratch[:0], v, 10)
	j.w.Write(j.scratch)
}

func (j *JSONWriter) uint(v uint64) {
	j.scratch = strconv.AppendUint(j.scratch[:0], v, 10)
	j.w.Write(j.scratch)
}

func (j *JSONWriter) float(f float64) {
	switch {
	case math.IsInf(f, 1):
		j.w.WriteString(`"inf"`)
	case math.IsInf(f, -1):
		j.w.WriteString(`"-inf"`)
	case math.IsNaN(f):
		j.w.WriteString(`"nan"`)
	default:
		j.scratch = strconv.AppendFloat(j.scratch[:0], f, 'g', -1, 64)
		j.w.Write(j.scratch)
	}
}

// text writes a name as a JSON string when it is valid UTF-8, otherwise as
// {"b64": ...} (the corpus's convention for names inside stream metadata).
func (j *JSONWriter) text(b []byte) {
	if !utf8.Valid(b) {
		j.w.WriteString(`{"b64":`)
		j.b64(b)
		j.w.WriteByte('}')
		return
	}
	j.scratch = jsontext.AppendString(j.scratch[:0], b)
	j.w.Write(j.scratch)
}

// textField writes ,"name":"text" when b is valid UTF-8, and nothing
// otherwise: the text beside a *_b64 field.
func (j *JSONWriter) textField(name string, b []byte) {
	if !utf8.Valid(b) {
		return
	}
	j.w.WriteString(`,"`)
	j.w.WriteString(name)
	j.w.WriteString(`":`)
	j.scratch = jsontext.AppendString(j.scratch[:0], b)
	j.w.Write(j.scratch)
}

func (j *JSONWriter) id(id rdb.StreamID) {
	j.w.WriteByte('"')
	j.uint(id.Ms)
	j.w.WriteByte('-')
	j.uint(id.Seq)
	j.w.WriteByte('"')
}

// WriteSlotInfo writes a cluster slot statistics record (opcode 244) as
// {"slot_info":{"db":..,"slot":..,"keys":..,"expires":..}}: a line with no
// key_b64, so readers of keys tell it apart.
func (j *JSONWriter) WriteSlotInfo(rec *rdb.Record) error {
	w := j.w
	w.WriteString(`{"slot_info":{"db":`)
	j.int(int64(rec.DB))
	w.WriteString(`,"slot":`)
	j.int(int64(rec.Slot))
	w.WriteString(`,"keys":`)
	j.uint(rec.SlotKeys)
	w.WriteString(`,"expires":`)
	j.uint(rec.SlotExpires)
	_, err := w.WriteString("}}\n")
	return err
}

// WriteKey writes the current key of r (rec must be the record Next just
// returned) and consumes its value.
func (j *JSONWriter) WriteKey(r *rdb.Reader, rec *rdb.Record) error {
	w := j.w
	mod, err := j.keyHead(r, rec)
	if err != nil {
		return err
	}
	switch rec.Type {
	case rdb.TypeString:
		var s []byte
		if s, err = r.ReadString(); err == nil {
			j.textField("value", s)
			w.WriteString(`,"value_b64":`)
			j.b64(s)
		}
	case rdb.TypeModule:
		w.WriteString(`,"module":{"name":`)
		j.text([]byte(mod.Name))
		w.WriteString(`,"encver":`)
		j.int(int64(mod.EncVer))
		w.WriteString(`,"raw_b64":`)
		j.b64(mod.Raw)
		w.WriteByte('}')
	case rdb.TypeStream:
		err = j.stream(r)
	default:
		err = j.elements(r, rec.Type)
	}
	if err != nil {
		return err
	}
	w.WriteString("}\n")
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
		j.w.WriteString("}\n")
	}
	return wrote, nil
}

// keyHead writes a key's fields before its value; a module value's
// header is read for its type name, and returned.
func (j *JSONWriter) keyHead(r *rdb.Reader, rec *rdb.Record) (*rdb.ModuleValue, error) {
	w := j.w
	w.WriteString(`{"db":`)
	j.int(int64(rec.DB))
	j.textField("key", rec.Key)
	w.WriteString(`,"key_b64":`)
	j.b64(rec.Key)
	w.WriteString(`,"type":`)
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
	w.WriteString(`,"encoding":`)
	j.text([]byte(rec.Encoding))
	w.WriteString(`,"expire_at_ms":`)
	if rec.ExpireAt != 0 {
		j.int(rec.ExpireAt)
	} else {
		w.WriteString("null")
	}
	if rec.Freq >= 0 {
		w.WriteString(`,"lfu_freq":`)
		j.int(int64(rec.Freq))
	}
	if rec.MVCCTimestamp != 0 {
		w.WriteString(`,"mvcc_tstamp":`)
		j.uint(rec.MVCCTimestamp)
	}
	if rec.Idle >= 0 {
		w.WriteString(`,"idle_seconds":`)
		j.int(rec.Idle)
	}
	if len(rec.KeyMeta) > 0 {
		w.WriteString(`,"key_meta":[`)
		for i, m := range rec.KeyMeta {
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteString(`{"class":`)
			j.text([]byte(m.ClassName()))
			w.WriteString(`,"raw_b64":`)
			j.b64(m.Raw)
			w.WriteByte('}')
		}
		w.WriteByte(']')
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
	j.w.WriteString(`,"value":`)
	if t == rdb.TypeHash {
		j.w.WriteByte('{')
	} else {
		j.w.WriteByte('[')
	}
	j.ttls = j.ttls[:0]
}

// elementList writes the value's elements, each after a comma unless
// first and it is the first; wrote reports whether it wrote one.
func (j *JSONWriter) elementList(r *rdb.Reader, t rdb.Type, first bool) (wrote bool, err error) {
	w := j.w
	for e, err := range r.Elements() {
		if err != nil {
			return wrote, err
		}
		if !first {
			w.WriteByte(',')
		}
		first, wrote = false, true
		switch t {
		case rdb.TypeList, rdb.TypeSet:
			j.b64(e.Member)
		case rdb.TypeZSet:
			w.WriteByte('[')
			j.b64(e.Member)
			w.WriteByte(',')
			j.float(e.Score)
			w.WriteByte(']')
		case rdb.TypeHash:
			j.b64(e.Member)
			w.WriteByte(':')
			j.b64(e.Value)
			if e.ExpireAt != 0 {
				j.ttls = append(j.ttls, fieldTTL{append([]byte(nil), e.Member...), e.ExpireAt})
			}
		}
	}
	return wrote, nil
}

// closeElements ends the value openElements started, with its fields'
// expiry times.
func (j *JSONWriter) closeElements(t rdb.Type) {
	w := j.w
	if t == rdb.TypeHash {
		w.WriteByte('}')
	} else {
		w.WriteByte(']')
	}
	if len(j.ttls) > 0 {
		w.WriteString(`,"field_expire_at_ms":{`)
		for i, f := range j.ttls {
			if i > 0 {
				w.WriteByte(',')
			}
			j.b64(f.field)
			w.WriteByte(':')
			j.int(f.at)
		}
		w.WriteByte('}')
	}
}

func (j *JSONWriter) stream(r *rdb.Reader) error {
	w := j.w
	w.WriteString(`,"stream":{"entries":[`)
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
			w.WriteByte(',')
		}
		first = false
		w.WriteByte('[')
		j.id(e.ID)
		w.WriteString(",[")
		for i, f := range e.Fields {
			if i > 0 {
				w.WriteByte(',')
			}
			j.b64(f)
		}
		w.WriteString("]]")
	}
	w.WriteByte(']')
	info, err := r.Stream()
	if err != nil {
		return err
	}
	w.WriteString(`,"length":`)
	j.uint(info.Length)
	w.WriteString(`,"last-generated-id":`)
	j.id(info.LastID)
	w.WriteString(`,"recorded-first-entry-id":`)
	j.id(info.FirstID)
	w.WriteString(`,"max-deleted-entry-id":`)
	j.id(info.MaxDeletedID)
	w.WriteString(`,"entries-added":`)
	j.uint(info.EntriesAdded)
	w.WriteString(`,"groups":[`)
	for gi, g := range info.Groups {
		if gi > 0 {
			w.WriteByte(',')
		}
		w.WriteString(`{"name":`)
		j.text(g.Name)
		w.WriteString(`,"last-delivered-id":`)
		j.id(g.LastID)
		w.WriteString(`,"entries-read":`)
		if g.EntriesRead >= 0 {
			j.int(g.EntriesRead)
		} else {
			w.WriteString("null")
		}
		w.WriteString(`,"pel-count":`)
		j.int(int64(len(g.Pending)))
		w.WriteString(`,"pending":[`)
		byID := make(map[rdb.StreamID]rdb.StreamPending, len(g.Pending))
		for i, p := range g.Pending {
			byID[p.ID] = p
			if i > 0 {
				w.WriteByte(',')
			}
			w.WriteByte('[')
			j.id(p.ID)
			w.WriteByte(',')
			j.text(p.Consumer)
			w.WriteByte(',')
			j.int(p.DeliveryTime)
			w.WriteByte(',')
			j.uint(p.DeliveryCount)
			w.WriteByte(']')
		}
		w.WriteString(`],"consumers":[`)
		for ci, c := range g.Consumers {
			if ci > 0 {
				w.WriteByte(',')
			}
			w.WriteString(`{"name":`)
			j.text(c.Name)
			w.WriteString(`,"seen-time":`)
			j.int(c.SeenTime)
			if info.Version >= 3 {
				w.WriteString(`,"active-time":`)
				j.int(c.ActiveTime)
			}
			w.WriteString(`,"pel-count":`)
			j.int(int64(len(c.Pending)))
			w.WriteString(`,"pending":[`)
			for i, id := range c.Pending {
				if i > 0 {
					w.WriteByte(',')
				}
				p := byID[id]
				w.WriteByte('[')
				j.id(id)
				w.WriteByte(',')
				j.int(p.DeliveryTime)
				w.WriteByte(',')
				j.uint(p.DeliveryCount)
				w.WriteByte(']')
			}
			w.WriteString("]}")
		}
		w.WriteString("]}")
	}
	w.WriteString("]}")
	return nil
}
