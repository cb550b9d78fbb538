package rdb

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

// StreamID is a stream entry ID, <ms>-<seq>.
type StreamID struct{ Ms, Seq uint64 }

func (id StreamID) String() string { return fmt.Sprintf("%d-%d", id.Ms, id.Seq) }

// Compare orders stream IDs as the server does, by time then sequence:
// -1 if id comes before o, 0 if they are the same, +1 if after.
func (id StreamID) Compare(o StreamID) int {
	if c := cmp.Compare(id.Ms, o.Ms); c != 0 {
		return c
	}
	return cmp.Compare(id.Seq, o.Seq)
}

// StreamEntry is one live entry of a stream. Fields holds field, value,
// field, value, ...; the slices are valid until the next call to
// NextStreamEntry or Next.
type StreamEntry struct {
	ID     StreamID
	Fields [][]byte
}

// StreamInfo is what a stream stores after its entries: its counters and
// consumer groups.
type StreamInfo struct {
	// Version is the stream layout: 1 to 4 for RDB types 15, 19, 21 and 26.
	// Consumer active times exist from version 3 on.
	Version      int
	Length       uint64 // number of live entries
	LastID       StreamID
	FirstID      StreamID // RDB type 19 and later
	MaxDeletedID StreamID // RDB type 19 and later
	EntriesAdded uint64   // RDB type 19 and later
	Groups       []StreamGroup
	// Idempotent-producer state and limits (Redis 8.6, type 26), as stored.
	IDMP *StreamIDMP
}

// StreamGroup is a consumer group with its pending entries list.
type StreamGroup struct {
	Name        []byte
	LastID      StreamID
	EntriesRead int64 // -1 when unknown or not stored (before type 19)
	Pending     []StreamPending
	Consumers   []StreamConsumer
}

// StreamPending is an entry delivered to a consumer and not yet acknowledged.
type StreamPending struct {
	ID            StreamID
	DeliveryTime  int64 // Unix ms of the last delivery
	DeliveryCount uint64
	Consumer      []byte // the consumer that owns it (from the consumers' lists)
}

// StreamConsumer is a consumer of a group.
type StreamConsumer struct {
	Name       []byte
	SeenTime   int64 // Unix ms of its last interaction
	ActiveTime int64 // Unix ms of its last successful read (-1: never); stored from stream version 3 on
	Pending    []StreamID
}

type streamState struct {
	phase        int // 0 before nodes count, 1 in nodes, 2 entries done, 3 metadata read
	nodesLeft    uint64
	master       StreamID
	inNode       bool
	lp           compact.ListpackIter
	masterFields []streamField
	masterBuf    []byte
	fields       []streamField
	numBuf       []byte
	out          [][]byte
	info         StreamInfo
}

// streamField is a listpack entry: a view into the node, or a number
// formatted into a side buffer at [start:end].
type streamField struct {
	str        []byte
	src        *[]byte
	start, end int
}

func (s *streamState) reset() {
	s.phase = 0
	s.nodesLeft = 0
	s.inNode = false
}

// NextStreamEntry returns the next live entry of the current stream value,
// and io.EOF after the last one. Deleted entries are passed over.
func (r *Reader) NextStreamEntry() (StreamEntry, error) {
	if err := r.checkValue(TypeStream); err != nil {
		return StreamEntry{}, err
	}
	st := &r.val.stream
	r.val.started = true
	if st.phase == 0 {
		n, err := r.readLen("the stream node count")
		if err != nil {
			return StreamEntry{}, err
		}
		st.nodesLeft, st.phase = n, 1
	}
	for st.phase == 1 {
		if !st.inNode {
			if st.nodesLeft == 0 {
				st.phase = 2
				break
			}
			if err := r.loadStreamNode(); err != nil {
				return StreamEntry{}, err
			}
			continue
		}
		e, ok, err := r.nextNodeEntry()
		if err != nil {
			return StreamEntry{}, err
		}
		if ok {
			return e, nil
		}
		st.inNode = false
	}
	return StreamEntry{}, io.EOF
}

func (r *Reader) loadStreamNode() error {
	v := &r.val
	st := &v.stream
	st.nodesLeft--
	var err error
	v.scratch[2], err = r.readStringAppend(v.scratch[2][:0], "a stream node key")
	if err != nil {
		return err
	}
	if len(v.scratch[2]) != 16 {
		return r.errorf(ErrCorrupt, "stream node key is %d bytes, expected a 16-byte entry ID", len(v.scratch[2]))
	}
	st.master = StreamID{binary.BigEndian.Uint64(v.scratch[2]), binary.BigEndian.Uint64(v.scratch[2][8:])}
	off := r.in.offset()
	if v.blob, err = r.readStringAppend(v.blob[:0], "a stream node listpack"); err != nil {
		return err
	}
	if st.lp, err = compact.NewListpackIter(v.blob); err != nil {
		return r.errorAt(off, ErrCorrupt, "stream node %s: %v", st.master, err)
	}
	// Master entry: count, deleted, number of master fields, the fields, 0.
	count, err1 := r.lpInt("the node's entry count")
	deleted, err2 := r.lpInt("the node's deleted count")
	nf, err3 := r.lpInt("the master field count")
	for _, e := range []error{err1, err2, err3} {
		if e != nil {
			return e
		}
	}
	if count < 0 || deleted < 0 || nf < 0 || nf > int64(len(v.blob)) {
		return r.errorf(ErrCorrupt, "stream node %s: impossible master entry counts %d/%d/%d", st.master, count, deleted, nf)
	}
	st.masterFields = st.masterFields[:0]
	st.masterBuf = st.masterBuf[:0]
	for i := int64(0); i < nf; i++ {
		e, ok := st.lp.Next()
		if !ok {
			return r.streamLPErr("a master field")
		}
		st.masterFields = append(st.masterFields, st.keep(e, &st.masterBuf))
	}
	if z, err := r.lpInt("the master entry terminator"); err != nil {
		return err
	} else if z != 0 {
		return r.errorf(ErrCorrupt, "stream node %s: master entry terminator is %d, expected 0", st.master, z)
	}
	st.inNode = true
	return nil
}

func (s *streamState) keep(e compact.Entry, buf *[]byte) streamField {
	if e.IsInt {
		start := len(*buf)
		*buf = appendInt(*buf, e.Int)
		return streamField{src: buf, start: start, end: len(*buf)}
	}
	return streamField{str: e.Str}
}

func (r *Reader) streamLPErr(what string) error {
	if err := r.val.stream.lp.Err(); err != nil {
		return r.errorf(ErrCorrupt, "stream node %s: %v", r.val.stream.master, err)
	}
	return r.errorf(ErrCorrupt, "stream node %s: listpack ended before %s", r.val.stream.master, what)
}

func (r *Reader) lpInt(what string) (int64, error) {
	e, ok := r.val.stream.lp.Next()
	if !ok {
		return 0, r.streamLPErr(what)
	}
	if !e.IsInt {
		return 0, r.errorf(ErrCorrupt, "stream node %s: %s is %q, expected an integer", r.val.stream.master, what, e.Str)
	}
	return e.Int, nil
}

const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
)

func (r *Reader) nextNodeEntry() (StreamEntry, bool, error) {
	st := &r.val.stream
	for {
		e, ok := st.lp.Next()
		if !ok {
			if err := st.lp.Err(); err != nil {
				return StreamEntry{}, false, r.errorf(ErrCorrupt, "stream node %s: %v", st.master, err)
			}
			return StreamEntry{}, false, nil
		}
		if !e.IsInt {
			return StreamEntry{}, false, r.errorf(ErrCorrupt, "stream node %s: entry flags %q, expected an integer", st.master, e.Str)
		}
		flags := e.Int
		msDiff, err := r.lpInt("an entry's ms delta")
		if err != nil {
			return StreamEntry{}, false, err
		}
		seqDiff, err := r.lpInt("an entry's seq delta")
		if err != nil {
			return StreamEntry{}, false, err
		}
		id := StreamID{st.master.Ms + uint64(msDiff), st.master.Seq + uint64(seqDiff)}
		st.fields = st.fields[:0]
		st.numBuf = st.numBuf[:0]
		var lpCount int64
		if flags&streamFlagSameFields != 0 {
			for i := range st.masterFields {
				v, ok := st.lp.Next()
				if !ok {
					return StreamEntry{}, false, r.streamLPErr("an entry value")
				}
				st.fields = append(st.fields, st.masterFields[i], st.keep(v, &st.numBuf))
			}
			lpCount = int64(3 + len(st.masterFields))
		} else {
			nf, err := r.lpInt("an entry's field count")
			if err != nil {
				return StreamEntry{}, false, err
			}
			if nf < 0 || nf > int64(len(r.val.blob)) {
				return StreamEntry{}, false, r.errorf(ErrCorrupt, "stream entry %s: field count %d", id, nf)
			}
			for i := int64(0); i < 2*nf; i++ {
				v, ok := st.lp.Next()
				if !ok {
					return StreamEntry{}, false, r.streamLPErr("an entry field")
				}
				st.fields = append(st.fields, st.keep(v, &st.numBuf))
			}
			lpCount = 4 + 2*nf
		}
		c, err := r.lpInt("an entry's lp-count")
		if err != nil {
			return StreamEntry{}, false, err
		}
		if c != lpCount {
			return StreamEntry{}, false, r.errorf(ErrCorrupt, "stream entry %s: lp-count %d, expected %d", id, c, lpCount)
		}
		if flags&streamFlagDeleted != 0 {
			continue
		}
		st.out = st.out[:0]
		for _, f := range st.fields {
			st.out = append(st.out, st.resolve(f))
		}
		return StreamEntry{ID: id, Fields: st.out}, true, nil
	}
}

func (s *streamState) resolve(f streamField) []byte {
	if f.src == nil {
		return f.str
	}
	return (*f.src)[f.start:f.end:f.end]
}

// Stream returns the stream's counters and consumer groups, passing over
// any entries not read yet. It can be called once per stream value.
func (r *Reader) Stream() (*StreamInfo, error) {
	if err := r.checkValue(TypeStream); err != nil {
		return nil, err
	}
	if r.val.done {
		if r.val.stream.phase == 3 {
			return &r.val.stream.info, nil
		}
		return nil, r.errorf(ErrWrongType, "the stream value was already skipped")
	}
	if err := r.readStreamTail(true); err != nil {
		return nil, err
	}
	r.endValue()
	return &r.val.stream.info, nil
}

func (r *Reader) skipStream() error { return r.readStreamTail(false) }

// readStreamTail skips unread nodes and reads the metadata and groups.
func (r *Reader) readStreamTail(keep bool) error {
	v := &r.val
	st := &v.stream
	v.started = true
	if st.phase == 0 {
		n, err := r.readLen("the stream node count")
		if err != nil {
			return err
		}
		st.nodesLeft, st.phase = n, 1
	}
	if st.phase == 1 {
		st.inNode = false
		for ; st.nodesLeft > 0; st.nodesLeft-- {
			if _, err := r.skipString("a stream node key"); err != nil {
				return err
			}
			if _, err := r.skipString("a stream node listpack"); err != nil {
				return err
			}
		}
		st.phase = 2
	}
	info := &st.info
	*info = StreamInfo{Groups: info.Groups[:0]}
	switch v.typ {
	case typeStreamListpacks:
		info.Version = 1
	case typeStreamListpacks2:
		info.Version = 2
	case typeStreamListpacks3:
		info.Version = 3
	default:
		info.Version = 4
	}
	var err error
	lens := func(dst ...*uint64) {
		for _, d := range dst {
			if err != nil {
				return
			}
			*d, err = r.readLen("stream metadata")
		}
	}
	lens(&info.Length, &info.LastID.Ms, &info.LastID.Seq)
	if v.typ != typeStreamListpacks {
		lens(&info.FirstID.Ms, &info.FirstID.Seq, &info.MaxDeletedID.Ms, &info.MaxDeletedID.Seq, &info.EntriesAdded)
	}
	if err != nil {
		return err
	}
	var ngroups uint64
	lens(&ngroups)
	if err != nil {
		return err
	}
	if !r.in.fits(ngroups) {
		return r.errorf(ErrCorrupt, "stream group count %d exceeds the input", ngroups)
	}
	for g := uint64(0); g < ngroups; g++ {
		grp, err := r.readStreamGroup(keep)
		if err != nil {
			return err
		}
		if keep {
			info.Groups = append(info.Groups, grp)
		}
	}
	if v.typ == typeStreamListpacks4 {
		if info.IDMP, err = r.readStreamIDMP(keep); err != nil {
			return err
		}
	}
	st.phase = 3
	return nil
}

// readStreamGroup reads one consumer group of a stream's tail: its last
// ID, entries-read counter (type 19 and later), pending entries and
// consumers. Unless keep, only the name and counters are kept.
func (r *Reader) readStreamGroup(keep bool) (StreamGroup, error) {
	v := &r.val
	var err error
	lens := func(dst ...*uint64) {
		for _, d := range dst {
			if err != nil {
				return
			}
			*d, err = r.readLen("stream metadata")
		}
	}
	var grp StreamGroup
	if grp.Name, err = r.readStringAppend(nil, "a consumer group name"); err != nil {
		return grp, err
	}
	lens(&grp.LastID.Ms, &grp.LastID.Seq)
	grp.EntriesRead = -1
	if v.typ != typeStreamListpacks {
		var er uint64
		lens(&er)
		grp.EntriesRead = int64(er)
	}
	var npel uint64
	lens(&npel)
	if err != nil {
		return grp, err
	}
	if npel > math.MaxUint64/24 || !r.in.fits(npel*24) {
		return grp, r.errorf(ErrCorrupt, "group %q: pending count %d exceeds the input", grp.Name, npel)
	}
	for i := uint64(0); i < npel; i++ {
		b, err := r.in.next(24)
		if err != nil {
			return grp, r.truncOrErr(err, "a pending entry")
		}
		p := StreamPending{
			ID:           StreamID{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])},
			DeliveryTime: int64(binary.LittleEndian.Uint64(b[16:])),
		}
		if p.DeliveryCount, err = r.readLen("a delivery count"); err != nil {
			return grp, err
		}
		if keep {
			grp.Pending = append(grp.Pending, p)
		}
	}
	var ncons uint64
	lens(&ncons)
	if err != nil {
		return grp, err
	}
	if !r.in.fits(ncons) {
		return grp, r.errorf(ErrCorrupt, "group %q: consumer count %d exceeds the input", grp.Name, ncons)
	}
	for i := uint64(0); i < ncons; i++ {
		c := StreamConsumer{ActiveTime: -1}
		if c.Name, err = r.readStringAppend(nil, "a consumer name"); err != nil {
			return grp, err
		}
		b, err := r.in.next(8)
		if err != nil {
			return grp, r.truncOrErr(err, "a consumer seen time")
		}
		c.SeenTime = int64(binary.LittleEndian.Uint64(b))
		if v.typ != typeStreamListpacks && v.typ != typeStreamListpacks2 {
			b, err := r.in.next(8)
			if err != nil {
				return grp, r.truncOrErr(err, "a consumer active time")
			}
			c.ActiveTime = int64(binary.LittleEndian.Uint64(b))
		}
		var n uint64
		if n, err = r.readLen("a consumer pending count"); err != nil {
			return grp, err
		}
		if n > math.MaxUint64/16 || !r.in.fits(n*16) {
			return grp, r.errorf(ErrCorrupt, "consumer %q: pending count %d exceeds the input", c.Name, n)
		}
		for j := uint64(0); j < n; j++ {
			b, err := r.in.next(16)
			if err != nil {
				return grp, r.truncOrErr(err, "a consumer pending ID")
			}
			id := StreamID{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}
			if keep {
				c.Pending = append(c.Pending, id)
			}
		}
		if keep {
			grp.Consumers = append(grp.Consumers, c)
		}
	}
	if keep {
		owner := make(map[StreamID][]byte, len(grp.Pending))
		for _, c := range grp.Consumers {
			for _, id := range c.Pending {
				owner[id] = c.Name
			}
		}
		for i := range grp.Pending {
			grp.Pending[i].Consumer = owner[grp.Pending[i].ID]
		}
	}
	return grp, nil
}
