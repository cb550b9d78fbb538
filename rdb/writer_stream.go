package rdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

// StreamWriter receives the entries of one stream: Add each entry in ID
// order, then Close with the stream's metadata.
type StreamWriter struct {
	w     *Writer
	h     KeyHeader
	n     uint64
	last  StreamID
	first StreamID
	err   error

	master       StreamID
	masterFields [][]byte
	body         compact.ListpackBuilder
	nodeCount    int
	open         bool
	nodes        uint64
	sp           spool
	enc, lzf     []byte
}

// BeginStream starts a stream key (RDB 9+).
func (w *Writer) BeginStream(h KeyHeader) (*StreamWriter, error) {
	if err := w.begin(); err != nil {
		return nil, err
	}
	if !w.t.at(9) {
		return nil, fmt.Errorf("rdb: key %q: %w: streams need RDB 9+", h.Key, ErrUnsupported)
	}
	if err := w.checkKeyMeta(&h); err != nil {
		return nil, err
	}
	s := &StreamWriter{w: w, h: copyHeader(h)}
	s.sp.limit, s.sp.dir = w.opt.SpoolMemory, w.opt.SpoolDir
	w.inValue = true
	return s, nil
}

// masterSize is the byte size of a node's master entry for count entries.
func (s *StreamWriter) nodeBytes() int {
	var lb compact.ListpackBuilder
	s.masterInto(&lb)
	return len(lb.Bytes()) - 7 + len(s.body.Bytes())
}

func (s *StreamWriter) masterInto(lb *compact.ListpackBuilder) {
	lb.AppendInt(int64(s.nodeCount))
	lb.AppendInt(0)
	lb.AppendInt(int64(len(s.masterFields)))
	for _, f := range s.masterFields {
		lb.Append(f)
	}
	lb.AppendInt(0)
}

// Add appends an entry; IDs must increase.
func (s *StreamWriter) Add(e StreamEntry) error {
	if s.err != nil {
		return s.err
	}
	s.err = s.add(e)
	return s.err
}

func (s *StreamWriter) add(e StreamEntry) error {
	if len(e.Fields)%2 != 0 {
		return fmt.Errorf("rdb: stream %q: entry %s has an odd number of field/value strings", s.h.Key, e.ID)
	}
	if s.n > 0 && (e.ID.Ms < s.last.Ms || (e.ID.Ms == s.last.Ms && e.ID.Seq <= s.last.Seq)) {
		return fmt.Errorf("rdb: stream %q: entry %s does not follow %s", s.h.Key, e.ID, s.last)
	}
	lim := &s.w.lim
	tot := 0
	for _, f := range e.Fields {
		tot += len(f)
	}
	if s.open {
		maxBytes := lim.StreamNodeMaxBytes
		if maxBytes == 0 || maxBytes > 1<<30 {
			maxBytes = 1 << 30
		}
		if s.nodeBytes()+tot >= maxBytes || (lim.StreamNodeMaxEntries > 0 && s.nodeCount >= lim.StreamNodeMaxEntries) {
			if err := s.flushNode(); err != nil {
				return err
			}
		}
	}
	nf := len(e.Fields) / 2
	flags := int64(0)
	if !s.open {
		s.open = true
		s.master = e.ID
		s.masterFields = s.masterFields[:0]
		for i := 0; i < nf; i++ {
			s.masterFields = append(s.masterFields, slices.Clone(e.Fields[2*i]))
		}
		flags = streamFlagSameFields
	} else if nf == len(s.masterFields) {
		same := true
		for i := 0; i < nf; i++ {
			if !bytes.Equal(e.Fields[2*i], s.masterFields[i]) {
				same = false
				break
			}
		}
		if same {
			flags = streamFlagSameFields
		}
	}
	b := &s.body
	b.AppendInt(flags)
	b.AppendInt(int64(e.ID.Ms - s.master.Ms))
	b.AppendInt(int64(e.ID.Seq - s.master.Seq))
	if flags == 0 {
		b.AppendInt(int64(nf))
	}
	for i := 0; i < nf; i++ {
		if flags == 0 {
			b.Append(e.Fields[2*i])
		}
		b.Append(e.Fields[2*i+1])
	}
	lpCount := int64(nf) + 3 // values, and flags, ms and seq deltas
	if flags == 0 {
		lpCount += int64(nf) + 1
	}
	b.AppendInt(lpCount)
	s.nodeCount++
	if s.n == 0 {
		s.first = e.ID
	}
	s.n++
	s.last = e.ID
	return nil
}

// streamFieldsSet names a metadata field of layout 2 or later that info
// sets, or returns "".
func streamFieldsSet(info *StreamInfo) string {
	switch {
	case info.FirstID != StreamID{}:
		return "FirstID"
	case info.MaxDeletedID != StreamID{}:
		return "MaxDeletedID"
	case info.EntriesAdded != 0:
		return "EntriesAdded"
	case info.IDMP != nil:
		return "IDMP"
	}
	for _, g := range info.Groups {
		if g.EntriesRead > 0 {
			return "a group's EntriesRead"
		}
		for _, c := range g.Consumers {
			if c.ActiveTime > 0 {
				return "a consumer's ActiveTime"
			}
		}
	}
	return ""
}

func (s *StreamWriter) flushNode() error {
	if !s.open {
		return nil
	}
	var lb compact.ListpackBuilder
	s.masterInto(&lb)
	head := lb.Bytes()
	body := s.body.Bytes()
	node := make([]byte, 0, len(head)+len(body))
	node = append(node, head[:len(head)-1]...)
	node = append(node, body[6:]...)
	binary.LittleEndian.PutUint32(node, uint32(len(node)))
	cnt := lb.Len() + s.body.Len()
	if cnt >= 65535 {
		cnt = 65535
	}
	binary.LittleEndian.PutUint16(node[4:], uint16(cnt))
	var key [16]byte
	binary.BigEndian.PutUint64(key[:], s.master.Ms)
	binary.BigEndian.PutUint64(key[8:], s.master.Seq)
	s.enc = encStr(s.enc[:0], key[:], s.w.o.compress, &s.lzf)
	s.enc = encStr(s.enc, node, s.w.o.compress, &s.lzf)
	s.body.Reset()
	s.nodeCount = 0
	s.open = false
	s.nodes++
	return s.sp.write(s.enc)
}

// streamLayout returns the stream version (1-4) the target writes.
func (w *Writer) streamLayout(info *StreamInfo) int {
	switch {
	case w.t.valkey():
		return 3
	case w.t.at(13) && info.IDMP != nil:
		return 4
	case w.t.at(11):
		return 3
	case w.t.at(10):
		return 2
	}
	return 1
}

// Close writes the stream with info's metadata (LastID, groups, ...).
// Length is taken from the entries added. info.Version says which layout
// the metadata comes from: fields that layout lacks (FirstID,
// MaxDeletedID, EntriesAdded and the groups' EntriesRead before layout 2,
// consumers' ActiveTime before 3) are derived as a server loading it does.
// Version 0 means layout 1 and is refused when any of those fields is set,
// rather than silently replacing them.
func (s *StreamWriter) Close(info *StreamInfo) error {
	defer s.sp.release()
	w := s.w
	w.inValue = false
	if s.err != nil {
		return s.err
	}
	if info == nil {
		info = &StreamInfo{Version: 1, LastID: s.last}
	}
	if err := s.flushNode(); err != nil {
		return err
	}
	layout := w.streamLayout(info)
	src := info.Version
	if src == 0 {
		if f := streamFieldsSet(info); f != "" {
			return fmt.Errorf("rdb: stream %q: StreamInfo.Version is 0 but %s is set: give the layout the metadata comes from (1 to 4), or leave it zero to have it derived as a server loading layout 1 does", s.h.Key, f)
		}
		src = 1
	}
	lossy := src > layout && !(src == 4 && info.IDMP == nil && layout == 3)
	if src == 4 && info.IDMP != nil && layout < 4 {
		lossy = true
	}
	if lossy {
		if w.opt.Policy&DowngradeStreams == 0 {
			return fmt.Errorf("rdb: stream %q: %w: its layout %d carries metadata that %v's layout %d lacks (DowngradeStreams leaves it out)", s.h.Key, ErrUnsupported, src, w.t, layout)
		}
		w.stats.DowngradedStreams++
	}
	typ := [...]byte{0, typeStreamListpacks, typeStreamListpacks2, typeStreamListpacks3, typeStreamListpacks4}[layout]
	if err := w.keyHeader(&s.h, typ); err != nil {
		return err
	}
	o := &w.o
	o.len(s.nodes)
	if err := s.sp.copyTo(o); err != nil {
		return err
	}
	last := info.LastID
	if last.Compare(s.last) < 0 {
		last = s.last
	}
	o.len(s.n)
	o.len(last.Ms)
	o.len(last.Seq)
	// Metadata of layouts 2+, derived as a server loading layout 1 does.
	first, maxDel, added := info.FirstID, info.MaxDeletedID, info.EntriesAdded
	if src < 2 {
		first, maxDel, added = StreamID{}, StreamID{}, s.n
		if s.n > 0 {
			first = s.first
		}
	}
	if layout >= 2 {
		o.len(first.Ms)
		o.len(first.Seq)
		o.len(maxDel.Ms)
		o.len(maxDel.Seq)
		o.len(added)
	}
	o.len(uint64(len(info.Groups)))
	for i := range info.Groups {
		g := &info.Groups[i]
		er := g.EntriesRead
		if src < 2 {
			er = estimateEntriesRead(s.n, added, last, first, maxDel, g.LastID)
		}
		writeStreamGroup(o, g, layout, src, er)
	}
	if layout == 4 {
		writeStreamIDMP(o, info.IDMP)
	}
	return o.err
}

// writeStreamGroup writes one consumer group in stream layout layout, for
// metadata that came in layout src; entriesRead is stored from layout 2 on.
func writeStreamGroup(o *out, g *StreamGroup, layout, src int, entriesRead int64) {
	o.str(g.Name)
	o.len(g.LastID.Ms)
	o.len(g.LastID.Seq)
	if layout >= 2 {
		o.len(uint64(entriesRead))
	}
	o.len(uint64(len(g.Pending)))
	for _, p := range g.Pending {
		var b [24]byte
		binary.BigEndian.PutUint64(b[:], p.ID.Ms)
		binary.BigEndian.PutUint64(b[8:], p.ID.Seq)
		binary.LittleEndian.PutUint64(b[16:], uint64(p.DeliveryTime))
		o.small(b[:])
		o.len(p.DeliveryCount)
	}
	o.len(uint64(len(g.Consumers)))
	for _, c := range g.Consumers {
		o.str(c.Name)
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(c.SeenTime))
		o.small(b[:])
		if layout >= 3 {
			at := c.ActiveTime
			if src < 3 {
				at = c.SeenTime
			}
			binary.LittleEndian.PutUint64(b[:], uint64(at))
			o.small(b[:])
		}
		o.len(uint64(len(c.Pending)))
		for _, id := range c.Pending {
			var k [16]byte
			binary.BigEndian.PutUint64(k[:], id.Ms)
			binary.BigEndian.PutUint64(k[8:], id.Seq)
			o.small(k[:])
		}
	}
}

// writeStreamIDMP writes the idempotent-producer state of layout 4.
func writeStreamIDMP(o *out, m *StreamIDMP) {
	o.len(m.Duration)
	o.len(m.MaxEntries)
	o.len(uint64(len(m.Producers)))
	for _, p := range m.Producers {
		o.str(p.PID)
		o.len(uint64(len(p.Entries)))
		for _, e := range p.Entries {
			o.str(e.IID)
			o.len(e.ID.Ms)
			o.len(e.ID.Seq)
		}
	}
	o.len(m.IIDsAdded)
	o.len(m.IIDsDuplicates)
}

// estimateEntriesRead is streamEstimateDistanceFromFirstEverEntry.
func estimateEntriesRead(length, added uint64, last, first, maxDel, id StreamID) int64 {
	if added == 0 {
		return 0
	}
	if length == 0 && id.Compare(last) < 1 {
		return int64(added)
	}
	switch c := id.Compare(last); {
	case c == 0:
		return int64(added)
	case c > 0:
		return -1
	}
	cmpFirst := id.Compare(first)
	if (maxDel == StreamID{}) || maxDel.Compare(first) < 0 {
		if cmpFirst < 0 {
			return int64(added - length)
		} else if cmpFirst == 0 {
			return int64(added - length + 1)
		}
	}
	return -1
}
