package rdb

// Reader-side support for Writer.CopyValue: reading a value while keeping
// the form in which the source stored its strings (LZF-compressed bytes or
// verbatim), so that the Writer can copy that form instead of compressing
// the same bytes again. See storedOK (writer_copy.go) for when it may.
//
// There is no second reader: CopyValue points r.val.src at its srcForms and
// reads with ReadString or NextElement. The string-reading steps of the
// value loops (loadBlob, loadNode, nextPlain) and readLZF consult r.val.src;
// when it is nil, which is whenever no CopyValue is under way, that check
// is all they pay.

// storedStr is how the source stored one RDB string.
type storedStr struct {
	ok   bool
	lzf  bool   // stored LZF-compressed
	dec  []byte // the decoded bytes
	comp []byte // the compressed bytes as stored; only meaningful when lzf
	buf  []byte // owns comp when it must outlive further reads
}

// srcForms holds, for the value CopyValue is copying, the stored forms of
// its compact blob or of its last two quicklist nodes, or of the element
// just read.
type srcForms struct {
	blob  storedStr    // a single-blob value's blob (ziplist, intset, listpack...)
	nodes [2]storedStr // quicklists: the current node and the one before
	cur   int          // index of the current node in nodes
	// spare is the decoding buffer of the quicklist node before the current
	// one: loadNode swaps it with the Reader's blob buffer, so that the
	// node before stays intact while the next is read.
	spare []byte
	// plain collections: the element just read (member, hash value)
	elem [2]storedStr
	// lzfSeen: the source has stored a string other than a quicklist node
	// LZF-compressed, so it was saved with compression on (a server saves
	// its whole snapshot under one rdbcompression setting; quicklist nodes
	// can be LZF from list-compress-depth even with rdbcompression off).
	lzfSeen bool

	// Set by readLZF: the compressed bytes of the string just read, valid
	// until the next read. Taken (and cleared) by keep or dropElems, one of
	// which follows every string read in a value loop while r.val.src is
	// set, so that a later keep never takes a stale form.
	lzf  bool
	comp []byte
}

func (s *srcForms) reset() {
	s.blob.ok = false
	s.nodes[0].ok, s.nodes[1].ok = false, false
	s.elem[0].ok, s.elem[1].ok = false, false
	s.lzf, s.comp = false, nil
}

// keep records in st the stored form of the string just read, whose
// decoded bytes are dec. persist: st.comp must survive further reads (it is
// copied into st.buf), else it may be a view valid until the next read.
func (s *srcForms) keep(st *storedStr, dec []byte, persist bool) {
	st.ok, st.lzf, st.dec = true, s.lzf, dec
	if s.lzf {
		if persist {
			st.buf = append(st.buf[:0], s.comp...)
			st.comp = st.buf
		} else {
			st.comp = s.comp
		}
		s.lzf, s.comp = false, nil
	}
}

// keepElem records element string i (0 member or field, 1 hash value) of
// a plain collection of type typ. Only lists, sets, hashes and binary-score
// sorted sets are recorded; for the other types (text scores, field TTLs)
// the element is marked unrecorded.
func (s *srcForms) keepElem(typ, i int, dec []byte, persist bool) {
	switch typ {
	case typeList, typeSet, typeHash, typeZSet2:
		st := &s.elem[i]
		s.keep(st, dec, persist)
		if st.lzf {
			s.lzfSeen = true
		}
		return
	}
	s.dropElems()
}

// dropElems marks the element just read as unrecorded.
func (s *srcForms) dropElems() {
	s.elem[0].ok, s.elem[1].ok = false, false
	s.lzf = false
}

// keepVerbatim records the field and value of a hash element read as views
// of the input buffer (short strings, so stored verbatim).
func (s *srcForms) keepVerbatim(typ int, field, value []byte) {
	if typ != typeHash {
		s.dropElems()
		return
	}
	// Field by field: this is per element, and comp and buf need no writes.
	f, v := &s.elem[0], &s.elem[1]
	f.ok, f.lzf, f.dec = true, false, field
	v.ok, v.lzf, v.dec = true, false, value
}

// keepBlob records the single blob of a compact-encoded value.
func (s *srcForms) keepBlob(dec []byte) {
	s.keep(&s.blob, dec, true)
	if s.blob.lzf {
		s.lzfSeen = true
	}
}

// nodeBuf returns the buffer to decode the next quicklist node into, given
// the Reader's blob buffer (the current node): the node before's, which is
// no longer needed.
func (s *srcForms) nodeBuf(cur []byte) []byte {
	b := s.spare
	s.spare = cur
	return b
}

// keepNode records a quicklist node just read, making it the current one.
func (s *srcForms) keepNode(dec []byte, plain bool) {
	i := 1 - s.cur
	st := &s.nodes[i]
	s.keep(st, dec, true)
	s.cur = i
	if plain {
		st.ok = false // PLAIN nodes are written as they are anyway
	}
}
