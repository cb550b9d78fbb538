package rdb

import (
	"encoding/binary"
	"fmt"

	"github.com/rdbtool/rdbtool/rdb/compact"
)

// Shape describes how a value is stored, as far as size estimates need:
// counts and byte lengths, read without decompressing or decoding what
// those figures do not require.
type Shape struct {
	StoredBytes int64  // bytes of the value in the file (after the key)
	Elements    uint64 // elements (hash: fields; stream: live entries; string: 1)
	StringLen   uint64 // strings: the decoded length

	// Compact encodings (listpack, ziplist, intset, zipmap, quicklist
	// nodes, stream nodes): the blobs' total uncompressed size.
	BlobBytes       uint64
	Nodes           uint64 // quicklist or stream listpack nodes
	CompressedNodes uint64 // quicklist nodes stored LZF-compressed
	PlainNodes      uint64 // quicklist 2 nodes holding one large element

	// Plain encodings (hashtable, skiplist, linkedlist): sum of element
	// lengths (hash: field + value).
	ElementBytes uint64
	// Largest element (hash: the larger of field and value) in bytes.
	// LargestKnown is false for compact blobs unless ShapeOptions.Deep.
	Largest      uint64
	LargestKnown bool
	// FieldTTLs counts hash fields with an expiry.
	FieldTTLs uint64

	Stream *StreamShape
	Module ModuleInfo // module values
}

// StreamShape adds a stream's consumer-group figures.
type StreamShape struct {
	Info            StreamInfo // counters, groups and pending entries
	ListpackEntries uint64     // listpack entries in all nodes (deleted ones included)
}

// ShapeOptions tunes ReadShape.
type ShapeOptions struct {
	// Element, when set, is called for every element of a plain encoding
	// with the lengths of its parts (member or field, and the hash value;
	// 0 for other types).
	Element func(a, b uint64)
	// Deep iterates compact blobs (decompressing them if needed) to find
	// the largest element.
	Deep bool
	// DeepIf, when set and Deep is not, is asked for a single compact blob
	// (not a quicklist's or stream's nodes) with its uncompressed size and
	// the entry count its header holds (for hashes and sorted sets two
	// entries an element): true iterates it as Deep would.
	// It lets a caller find the largest element of only the keys it keeps.
	DeepIf func(size, count uint64) bool
	// Node, when set, is called for every quicklist or stream node with its
	// uncompressed size, its entry count, the bytes it takes in the file and
	// whether it is stored LZF-compressed.
	Node func(size, count, stored uint64, compressed bool)
}

// Add folds in the shape of the next part of the same value, for values
// read in parts (ParallelHandler.Split): counts and sizes add up, Largest
// is the larger. StoredBytes adds up the parts' bytes, which leave out the
// value's own count; the whole value's is its end offset less
// ValuePart.ValueOffset.
func (s *Shape) Add(part *Shape) {
	s.StoredBytes += part.StoredBytes
	s.Elements += part.Elements
	s.StringLen += part.StringLen
	s.BlobBytes += part.BlobBytes
	s.Nodes += part.Nodes
	s.CompressedNodes += part.CompressedNodes
	s.PlainNodes += part.PlainNodes
	s.ElementBytes += part.ElementBytes
	s.Largest = max(s.Largest, part.Largest)
	s.LargestKnown = s.LargestKnown && part.LargestKnown
	s.FieldTTLs += part.FieldTTLs
}

// ReadShape consumes the current value and describes its storage.
func (r *Reader) ReadShape(opts ShapeOptions) (*Shape, error) {
	s := &Shape{}
	if err := r.ReadShapeInto(s, &opts); err != nil {
		return nil, err
	}
	return s, nil
}

// ReadShapeInto is ReadShape writing into s, for callers that reuse one
// Shape across keys. s is overwritten whole.
func (r *Reader) ReadShapeInto(s *Shape, opts *ShapeOptions) error {
	if !r.inKey {
		return &Error{Name: r.opts.name, Offset: r.in.offset(), What: "no key is current: call Next first", Err: ErrWrongType}
	}
	v := &r.val
	if v.started || v.done {
		return r.errorf(ErrWrongType, "ReadShape needs an unread value")
	}
	v.started = true
	start := r.in.offset()
	*s = Shape{}
	if err := r.shape(s, opts); err != nil {
		return err
	}
	s.StoredBytes = r.in.offset() - start
	r.endValue()
	return nil
}

func (r *Reader) shape(s *Shape, o *ShapeOptions) error {
	v := &r.val
	switch v.typ {
	case typeString:
		h, err := r.readStringHeader("a string value")
		if err != nil {
			return err
		}
		s.StringLen, s.Elements = h.len(), 1
		s.Largest, s.LargestKnown = s.StringLen, true
		if n := h.storedLen(); n > 0 {
			if err := r.in.discard(n); err != nil {
				return r.truncOrErr(err, "a string value")
			}
		}
		return nil
	case typeModule2, typeModulePreGA:
		if v.typ == typeModulePreGA {
			return r.skipModule()
		}
		id, err := r.readModuleBody("a module value")
		s.Module = DecodeModuleID(id)
		return err
	case typeHashZipmap:
		return r.shapeBlob(s, o, innerZipmap)
	case typeListZiplist, typeZSetZiplist, typeHashZiplist:
		return r.shapeBlob(s, o, innerZiplist)
	case typeSetIntset:
		return r.shapeBlob(s, o, innerIntset)
	case typeHashListpack, typeZSetListpack, typeSetListpack, typeHashListpackExPreGA:
		return r.shapeBlob(s, o, innerListpack)
	case typeHashListpackEx:
		if err := r.readMinExpire(); err != nil {
			return err
		}
		return r.shapeBlob(s, o, innerListpack)
	case typeListQuicklist, typeListQuicklist2:
		return r.shapeQuicklist(s, o)
	}
	if r.rec.Type == TypeStream {
		return r.shapeStream(s, o)
	}
	return r.shapePlain(s, o)
}

// shapePlain walks a plain collection's element lengths.
func (r *Reader) shapePlain(s *Shape, o *ShapeOptions) error {
	v := &r.val
	var err error
	if v.typ == typeHashMetadata {
		if err := r.readMinExpire(); err != nil {
			return err
		}
	}
	n, err := r.readCount("a collection length")
	if err != nil {
		return err
	}
	if !r.val.part && !r.in.fits(n) { // a part: checked for the whole value
		return r.errorf(ErrCorrupt, "collection length %d exceeds the %d bytes left in the input", n, r.in.remaining())
	}
	s.Elements, s.LargestKnown = n, true
	switch v.typ {
	case typeList, typeSet:
		return r.shapeStrings(s, o, n, 1, 0)
	case typeHash:
		return r.shapeStrings(s, o, n, 2, 0)
	case typeZSet2:
		return r.shapeStrings(s, o, n, 1, 8)
	}
	for i := uint64(0); i < n; i++ {
		var a, b uint64
		switch v.typ {
		case typeList, typeSet:
			a, err = r.skipString("a collection element")
		case typeZSet:
			if a, err = r.skipString("a sorted set member"); err == nil {
				_, err = r.readTextScore()
			}
		case typeZSet2:
			if a, err = r.skipString("a sorted set member"); err == nil {
				if err = r.in.discard(8); err != nil {
					err = r.truncOrErr(err, "a binary score")
				}
			}
		case typeHash, typeHashMetadata, typeHashMetadataPreGA:
			if v.typ != typeHash {
				var ttl int64
				if ttl, err = r.readFieldTTL(); ttl != 0 {
					s.FieldTTLs++
				}
			}
			if err == nil {
				if a, err = r.skipString("a hash field"); err == nil {
					b, err = r.skipString("a hash value")
				}
			}
		case typeValkeyHash2:
			if a, err = r.skipString("a hash field"); err == nil {
				if b, err = r.skipString("a hash value"); err == nil {
					var p []byte
					if p, err = r.in.next(8); err != nil {
						err = r.truncOrErr(err, "a hash field expiry")
					} else if int64(binary.LittleEndian.Uint64(p)) > 0 {
						s.FieldTTLs++
					}
				}
			}
		default:
			return r.errorf(ErrCorrupt, "type %d has no shape reader", v.typ)
		}
		if err != nil {
			return err
		}
		s.ElementBytes += a + b
		s.Largest = max(s.Largest, a, b)
		if o.Element != nil {
			o.Element(a, b)
		}
	}
	return nil
}

// shapeStrings walks n elements of per strings each (1, or 2 for hash
// field and value), each element followed by trailer raw bytes: short
// strings straight from the buffer, others through skipString.
func (r *Reader) shapeStrings(s *Shape, o *ShapeOptions, n uint64, per, trailer int) error {
	in := r.in
	var lens [2]uint64
	for e := uint64(0); e < n; e++ {
		for k := 0; k < per; k++ {
			var l uint64
			if in.r < in.w && in.buf[in.r] < 0x40 && in.r+1+int(in.buf[in.r]) <= in.w {
				l = uint64(in.buf[in.r])
				in.r += 1 + int(l)
			} else {
				var err error
				if l, err = r.skipString("a collection element"); err != nil {
					return err
				}
			}
			lens[k] = l
		}
		if trailer > 0 {
			if in.w-in.r >= trailer {
				in.r += trailer
			} else if err := in.discard(uint64(trailer)); err != nil {
				return r.truncOrErr(err, "a binary score")
			}
		}
		a, b := lens[0], lens[1]
		if per == 1 {
			b = 0
		}
		s.ElementBytes += a + b
		s.Largest = max(s.Largest, a, b)
		if o.Element != nil {
			o.Element(a, b)
		}
	}
	return nil
}

// shapeBlob reads a single compact blob: its size, and its element count
// from the header (decompressing only the header when the blob is LZF).
func (r *Reader) shapeBlob(s *Shape, o *ShapeOptions, kind innerKind) error {
	size, count, largest, ok, err := r.blobShape(kind, o.Deep, o.DeepIf)
	if err != nil {
		return err
	}
	s.BlobBytes = size
	s.Elements = count
	s.Largest, s.LargestKnown = largest, ok
	switch {
	case r.rec.Type == TypeHash || r.rec.Type == TypeZSet:
		per := uint64(2)
		if r.val.typ == typeHashListpackEx || r.val.typ == typeHashListpackExPreGA {
			per = 3
		}
		if kind != innerZipmap {
			s.Elements /= per
		}
	}
	return nil
}

// blobShape reads one compact blob string and returns its uncompressed size
// and entry count. The count comes from the blob's header (only the header
// is decompressed for LZF blobs); the blob is decoded in full only when the
// header does not hold the count, or with deep.
func (r *Reader) blobShape(kind innerKind, deep bool, deepIf func(size, count uint64) bool) (size, count, largest uint64, largestOK bool, err error) {
	v := &r.val
	off := r.in.offset()
	h, err := r.readStringHeader("a compact-encoded value")
	if err != nil {
		return 0, 0, 0, false, err
	}
	size = h.len()
	full := deep || h.kind == 1
	if !full {
		const headLen = 10
		var tmp [headLen]byte
		var head []byte
		if h.kind == 2 {
			head = lzfPrefix(tmp[:0], r.in.peek(int(min(h.clen, 64))), min(headLen, int(h.n)))
		} else {
			head = append(tmp[:0], r.in.peek(int(min(headLen, h.n)))...)
		}
		var known bool
		count, known = headerCount(kind, head)
		if known {
			if why := blobHeaderImpossible(kind, head, size, count); why != "" {
				return 0, 0, 0, false, r.errorAt(off, ErrCorrupt, "%s", why)
			}
			if deepIf == nil || !deepIf(size, count) {
				if err := r.in.discard(h.storedLen()); err != nil {
					return 0, 0, 0, false, r.truncOrErr(err, "a compact-encoded value")
				}
				return size, count, 0, false, nil
			}
		}
	}
	if v.blob, err = r.readStringBody(v.blob[:0], h, "a compact-encoded value"); err != nil {
		return 0, 0, 0, false, err
	}
	if err := r.startInner(kind, off); err != nil {
		return 0, 0, 0, false, err
	}
	count, largest, err = r.countInner()
	v.inner = innerNone
	return size, count, largest, err == nil, err
}

// headerCount reads the entry count from the start of a compact blob;
// known is false when the header cannot say (too many entries, or a blob
// too short to hold a header, which decoding then reports).
func headerCount(kind innerKind, head []byte) (count uint64, known bool) {
	switch kind {
	case innerListpack:
		if len(head) >= 6 {
			count = uint64(binary.LittleEndian.Uint16(head[4:]))
			return count, count != 65535
		}
	case innerZiplist:
		if len(head) >= 10 {
			count = uint64(binary.LittleEndian.Uint16(head[8:]))
			return count, count != 65535
		}
	case innerIntset:
		if len(head) >= 8 {
			return uint64(binary.LittleEndian.Uint32(head[4:])), true
		}
	case innerZipmap:
		if len(head) >= 1 && head[0] < 254 {
			return uint64(head[0]), true
		}
	}
	return 0, false
}

// blobHeaderImpossible checks what a compact blob's header claims against
// the blob's size (the cheap invariants a full decode would also find
// broken): a total that is not the size, or more entries than the bytes can
// hold. It returns what is wrong, "" when nothing is.
func blobHeaderImpossible(kind innerKind, head []byte, size, count uint64) string {
	// Each entry takes at least minEntry bytes after a header of hdr
	// bytes and before a terminator of end bytes.
	var hdr, end, minEntry uint64
	switch kind {
	case innerIntset:
		enc := uint64(binary.LittleEndian.Uint32(head))
		if enc != 2 && enc != 4 && enc != 8 {
			return fmt.Sprintf("intset encoding %d, expected 2, 4 or 8", enc)
		}
		if 8+enc*count != size {
			return fmt.Sprintf("intset claims %d members of %d bytes, but its %d bytes hold %d", count, enc, size, (max(size, 8)-8)/enc)
		}
		return ""
	case innerListpack:
		if total := uint64(binary.LittleEndian.Uint32(head)); total != size {
			return fmt.Sprintf("listpack header says %d bytes, but it is %d", total, size)
		}
		hdr, end, minEntry = 6, 1, 2
	case innerZiplist:
		if total := uint64(binary.LittleEndian.Uint32(head)); total != size {
			return fmt.Sprintf("ziplist header says %d bytes, but it is %d", total, size)
		}
		hdr, end, minEntry = 10, 1, 2
	case innerZipmap:
		hdr, end, minEntry = 1, 1, 3
	default:
		return ""
	}
	if size < hdr+end || count > (size-hdr-end)/minEntry {
		name := map[innerKind]string{innerListpack: "listpack", innerZiplist: "ziplist", innerZipmap: "zipmap"}[kind]
		return fmt.Sprintf("%s claims %d entries, more than its %d bytes can hold", name, count, size)
	}
	return ""
}

// countInner counts the current blob's entries and its longest one.
func (r *Reader) countInner() (count, largest uint64, err error) {
	v := &r.val
	switch v.inner {
	case innerListpack, innerZiplist:
		// Scores of sorted sets and expiries of hash fields are not
		// elements: the last entry of every period is left out of the
		// largest (period 0: none is). Iterated here rather than through
		// innerEntryRaw: for a list read for its largest element, the
		// calls and copies per entry were most of the time.
		period := uint64(0)
		switch {
		case v.typ == typeHashListpackEx || v.typ == typeHashListpackExPreGA:
			period = 3
		case r.rec.Type == TypeZSet:
			period = 2
		}
		if v.inner == innerListpack {
			for e, ok := v.lp.Next(); ok; e, ok = v.lp.Next() {
				count++
				largest = entryLargest(largest, &e, count, period)
			}
			err = v.lp.Err()
		} else {
			for e, ok := v.zl.Next(); ok; e, ok = v.zl.Next() {
				count++
				largest = entryLargest(largest, &e, count, period)
			}
			err = v.zl.Err()
		}
		if err != nil {
			return 0, 0, r.innerErr(err)
		}
		return count, largest, nil
	case innerIntset:
		for {
			x, ok := v.is.Next()
			if !ok {
				return count, largest, r.innerErr(v.is.Err())
			}
			count++
			largest = max(largest, intLen(x))
		}
	case innerZipmap:
		for {
			f, val, ok := v.zm.Next()
			if !ok {
				return count, largest, r.innerErr(v.zm.Err())
			}
			count++
			largest = max(largest, uint64(len(f)), uint64(len(val)))
		}
	}
	return 0, 0, nil
}

func (r *Reader) shapeQuicklist(s *Shape, o *ShapeOptions) error {
	v := &r.val
	n, err := r.readCount("a quicklist node count")
	if err != nil {
		return err
	}
	if !r.val.part && !r.in.fits(n) {
		return r.errorf(ErrCorrupt, "quicklist node count %d exceeds the input", n)
	}
	s.Nodes = n
	s.LargestKnown = o.Deep
	for i := uint64(0); i < n; i++ {
		kind := innerZiplist
		if v.typ == typeListQuicklist2 {
			c, err := r.readLen("a quicklist node container")
			if err != nil {
				return err
			}
			switch c {
			case 1:
				s.PlainNodes++
				h, err := r.readStringHeader("a quicklist node")
				if err != nil {
					return err
				}
				if h.kind == 2 {
					s.CompressedNodes++
				}
				s.BlobBytes += h.len()
				s.Elements++
				s.Largest = max(s.Largest, h.len())
				if err := r.in.discard(h.storedLen()); err != nil {
					return r.truncOrErr(err, "a quicklist node")
				}
				if o.Node != nil {
					o.Node(h.len(), 1, h.storedLen(), h.kind == 2)
				}
				continue
			case 2:
				kind = innerListpack
			default:
				return r.errorf(ErrCorrupt, "quicklist node container %d, expected 1 or 2", c)
			}
		}
		compressed := false
		if p := r.in.peek(1); len(p) == 1 && p[0] == 0xC0|encLZF {
			s.CompressedNodes++
			compressed = true
		}
		start := r.in.offset()
		size, count, largest, _, err := r.blobShape(kind, o.Deep, nil)
		if err != nil {
			return err
		}
		if o.Node != nil {
			o.Node(size, count, uint64(r.in.offset()-start), compressed)
		}
		s.BlobBytes += size
		s.Elements += count
		s.Largest = max(s.Largest, largest)
	}
	return nil
}

func (r *Reader) shapeStream(s *Shape, o *ShapeOptions) error {
	v := &r.val
	st := &v.stream
	n, err := r.readLen("the stream node count")
	if err != nil {
		return err
	}
	if !r.in.fits(n) {
		return r.errorf(ErrCorrupt, "stream node count %d exceeds the input", n)
	}
	ss := &StreamShape{}
	s.Nodes = n
	for i := uint64(0); i < n; i++ {
		if _, err := r.skipString("a stream node key"); err != nil {
			return err
		}
		compressed := false
		if p := r.in.peek(1); len(p) == 1 && p[0] == 0xC0|encLZF {
			compressed = true
		}
		start := r.in.offset()
		size, count, _, _, err := r.blobShape(innerListpack, false, nil)
		if err != nil {
			return err
		}
		if o.Node != nil {
			o.Node(size, count, uint64(r.in.offset()-start), compressed)
		}
		s.BlobBytes += size
		ss.ListpackEntries += count
	}
	st.phase, st.nodesLeft = 2, 0
	if err := r.readStreamTail(true); err != nil {
		return err
	}
	ss.Info = st.info
	ss.Info.Groups = append([]StreamGroup(nil), st.info.Groups...)
	s.Elements = ss.Info.Length
	s.Stream = ss
	return nil
}

// lzfPrefix decompresses only the first n bytes of LZF data src.
func lzfPrefix(dst, src []byte, n int) []byte {
	for i := 0; i < len(src) && len(dst) < n; {
		ctrl := int(src[i])
		i++
		if ctrl < 32 {
			run := ctrl + 1
			for j := 0; j < run && i < len(src) && len(dst) < n; j++ {
				dst = append(dst, src[i])
				i++
			}
			continue
		}
		l := ctrl >> 5
		if l == 7 {
			if i >= len(src) {
				return dst
			}
			l += int(src[i])
			i++
		}
		if i >= len(src) {
			return dst
		}
		back := (ctrl&0x1f)<<8 | int(src[i])
		i++
		ref := len(dst) - back - 1
		if ref < 0 {
			return dst
		}
		for j := 0; j < l+2 && len(dst) < n; j++ {
			dst = append(dst, dst[ref+j])
		}
	}
	return dst
}

// intLen is the length of v in decimal.
// entryLargest returns largest, raised to the length of e (the count-th
// entry, left out when count is a multiple of period) as an element.
func entryLargest(largest uint64, e *compact.Entry, count, period uint64) uint64 {
	if period != 0 && count%period == 0 {
		return largest
	}
	if !e.IsInt {
		return max(largest, uint64(len(e.Str)))
	}
	if largest >= maxIntLen {
		return largest // no integer is longer
	}
	return max(largest, intLen(e.Int))
}

// maxIntLen is the length of the longest int64 in decimal, with its sign.
const maxIntLen = 20

func intLen(v int64) uint64 {
	n := uint64(1)
	u := uint64(v)
	if v < 0 {
		n, u = 2, uint64(-v)
	}
	for u >= 10 {
		u /= 10
		n++
	}
	return n
}
