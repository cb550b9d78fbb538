package analyze

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"

	"github.com/rdbtool/rdbtool/rdb"
)

// estimator turns one key's record and shape into a MEMORY USAGE figure.
// It is reused across keys; elementFn accumulates per-element costs of
// plain encodings while ReadShape walks them.
type estimator struct {
	m *model

	// The deep gate and the record it judges (measure), and the
	// ShapeOptions.DeepIf asking it, made once.
	gate    *deepGate
	gateRec *rdb.Record
	deepIf  func(size, count uint64) bool

	typ  rdb.Type
	enc  string
	elem uint64 // sum of per-element allocations

	// Per-node rounding of quicklist and stream nodes (ShapeOptions.Node).
	nodeFn   func(size, count, stored uint64, compressed bool)
	nodeSum  uint64 // usable sizes of the nodes before the last
	lastNode uint64 // the last node's size
	nodes    uint64
	// compressDepth is the target's list-compress-depth; with it set,
	// each quicklist node's size is kept (nodeSizes: uncompressed usable
	// size, and the LZF-compressed one when the file holds the node
	// compressed) so that the middle nodes can be counted compressed.
	compressDepth int
	nodeSizes     [][2]uint64

	// extra is what the value's allocations take beyond what MEMORY
	// USAGE counts for them (it counts structs and dict entries by their
	// C size, not by the allocator's size class).
	extra int64
	// loadDelta is how MEMORY USAGE after a load differs from the figure
	// on the server that wrote the file (a stream's last node loses the
	// preallocation XADD gave it).
	loadDelta int64
	// listElem, when a linked list is loaded into a version that keeps
	// lists in quicklists, packs the elements into listpack nodes.
	lpNodes  [][2]uint64 // per node: bytes, entries
	listToQL bool
	// zipNodes: the file's quicklists hold ziplist nodes (RDB 7 to 9).
	zipNodes   bool
	listElemFn func(a, b uint64)

	// Element callbacks, one per type so that none switches per element.
	setFn, setLeanFn, zsetFn, hashFn, hashKVFn, listFn func(a, b uint64)
	// elemTTL is elem for a Redis 8 hash whose entries hold expiries.
	elemTTL uint64
	ids     []rdb.StreamID // a group's pending IDs, reused
	// sdsTab[n] is m.sds(n) for short strings.
	sdsTab [256]uint32
	entry  uint64 // m.dictEntry
}

func newEstimator(m *model) *estimator {
	e := &estimator{m: m, entry: m.dictEntry}
	for n := range e.sdsTab {
		e.sdsTab[n] = uint32(m.sds(uint64(n)))
	}
	e.setFn = func(a, _ uint64) { e.elem += e.sds(a) + e.entry }
	e.setLeanFn = func(a, _ uint64) { e.elem += e.sds(a) } // entry added in finish
	e.zsetFn = e.setFn
	e.hashFn = func(a, b uint64) { e.elem += e.sds(a) + e.sds(b) + e.entry }
	e.hashKVFn = func(a, b uint64) {
		// Redis 8: field and value in one entry allocation (fitted). In
		// a hash with field TTLs each entry also holds its expiry
		// (measured against 8.6.3); whether the hash has them is known
		// once it is read, so both sums are kept.
		n := sdsHdr(a) + a + 1 + sdsHdr(b) + b + 1 + 8
		e.elem += m.u(n) + 4
		e.elemTTL += m.u(n+8) + 4
	}
	e.listFn = func(a, _ uint64) {
		// linkedlist (2.8): listNode + robj + sds.
		e.elem += m.u(24) + m.u(16) + e.sds(a)
	}
	e.nodeFn = e.node
	e.listElemFn = e.packListElement
	return e
}

// Listpack entry sizes (listpack.c): an encoding header by string length,
// the bytes, and a back-length of the header and bytes.
func lpEntrySize(n uint64) uint64 {
	h := uint64(1)
	switch {
	case n >= 4096:
		h = 5
	case n >= 64:
		h = 2
	}
	l := h + n
	switch {
	case l < 128:
		return l + 1
	case l < 16384:
		return l + 2
	case l < 2097152:
		return l + 3
	case l < 268435456:
		return l + 4
	}
	return l + 5
}

// compactBlob is the size a compact blob has in the model's version: a
// ziplist (or zipmap) is converted to a listpack on load from 7.0 on.
func (e *estimator) compactBlob(n uint64) uint64 {
	if (e.enc == "ziplist" || e.enc == "zipmap") && e.m.listpacksOnly() {
		return ziplistAsListpack(n)
	}
	return n
}

// ziplistAsListpack is the listpack a ziplist of n bytes converts to:
// the header is 4 bytes shorter (6 + end byte against 10 + end byte) and
// each entry's back-length takes the place of the previous-length byte.
func ziplistAsListpack(n uint64) uint64 {
	if n < 11 {
		return listpackHeader
	}
	return n - 4
}

// listpackHeader is a listpack's 6-byte header and its end byte.
const listpackHeader = 7

// quicklistNodeLimit is the node size limit of the default
// list-max-listpack-size (-2: 8 KiB).
const quicklistNodeLimit = 8192

// packListElement appends one element of a linked list to the quicklist
// a newer server builds from it on load (quicklistPushTail: a node takes
// elements while it stays within 8 KiB). Elements are taken as strings;
// integers would pack tighter.
func (e *estimator) packListElement(a, _ uint64) {
	es := lpEntrySize(a)
	if n := len(e.lpNodes); n > 0 && e.lpNodes[n-1][0]+es <= quicklistNodeLimit {
		e.lpNodes[n-1][0] += es
		e.lpNodes[n-1][1]++
		return
	}
	e.lpNodes = append(e.lpNodes, [2]uint64{listpackHeader + es, 1})
}

func (e *estimator) sds(n uint64) uint64 {
	if n < uint64(len(e.sdsTab)) {
		return uint64(e.sdsTab[n])
	}
	return e.m.sds(n)
}

// node rounds each quicklist or stream node on its own; the last node is
// kept apart (streams preallocate it).
func (e *estimator) node(size, _, stored uint64, compressed bool) {
	if e.zipNodes && e.typ == rdb.TypeList && e.m.listpacksOnly() {
		size = ziplistAsListpack(size)
	}
	if e.nodes > 0 {
		e.nodeSum += e.m.u(e.lastNode)
	}
	e.nodes++
	e.lastNode = size
	if e.compressDepth > 0 && e.typ == rdb.TypeList {
		c := e.m.u(size)
		if compressed {
			if n := lzfPayload(stored, size); n+minCompressImprove < size && size >= minCompressBytes {
				// quicklistLZF: a 4-byte length, then the payload.
				c = e.m.u(4 + n)
			}
		}
		e.nodeSizes = append(e.nodeSizes, [2]uint64{e.m.u(size), c})
	}
}

// Quicklist compression limits (quicklist.c): nodes under
// MIN_COMPRESS_BYTES stay raw, as do those LZF shrinks by less than
// MIN_COMPRESS_IMPROVE.
const (
	minCompressBytes   = 48
	minCompressImprove = 8
)

// lzfPayload is the compressed length of an LZF string that takes stored
// bytes in the file: the encoding byte and the two lengths come off.
func lzfPayload(stored, size uint64) uint64 {
	h := 1 + rdbLenSize(size)
	for _, l := range []uint64{1, 2, 5, 9} {
		if stored > h+l && rdbLenSize(stored-h-l) == l {
			return stored - h - l
		}
	}
	return size
}

// rdbLenSize is the bytes of an RDB length encoding of n.
func rdbLenSize(n uint64) uint64 {
	switch {
	case n < 1<<6:
		return 1
	case n < 1<<14:
		return 2
	case n < 1<<32:
		return 5
	}
	return 9
}

// compressedNodes is the usable size of a quicklist's nodes when all but
// compressDepth nodes at each end are LZF-compressed
// (__quicklistCompress leaves lists shorter than twice the depth alone).
func (e *estimator) compressedNodes() uint64 {
	n := len(e.nodeSizes)
	d := e.compressDepth
	var sum uint64
	for i, ns := range e.nodeSizes {
		if n >= 2*d && i >= d && i < n-d {
			sum += ns[1]
		} else {
			sum += ns[0]
		}
	}
	return sum
}

// allocated is the key's allocations beside its keyspace entry, for the
// load prediction: the MEMORY USAGE figure mu with the entry it counts
// taken out and the structs it counts by C size taken at their size
// class.
func (e *estimator) allocated(mu uint64) uint64 {
	m := e.m
	if !m.kvobj && !m.valkeyEmb {
		mu -= m.dictEntry
	}
	return uint64(int64(mu) + e.loadDelta + e.extra)
}

// needsElements reports whether the encoding is one whose per-element
// allocations must be visited.
func needsElements(t rdb.Type, enc string) bool {
	switch enc {
	case "hashtable", "skiplist", "linkedlist":
		return t != rdb.TypeString
	}
	return false
}

// partSums is what the element and node callbacks gathered from one
// part of a value read in parts (rdb.ParallelHandler.Split).
type partSums struct {
	elem, elemTTL            uint64
	nodeSum, lastNode, nodes uint64
	nodeSizes                [][2]uint64
}

// sums returns what the callbacks gathered since begin.
func (e *estimator) sums() partSums {
	return partSums{e.elem, e.elemTTL, e.nodeSum, e.lastNode, e.nodes, slices.Clone(e.nodeSizes)}
}

// addPart folds in the sums of the value's next part, as if the
// callbacks had seen its elements and nodes after the earlier parts'.
// Linked lists packed into quicklist nodes (listToQL) cannot be summed
// up in parts: the packing carries over from element to element.
func (e *estimator) addPart(p *partSums) {
	e.elem += p.elem
	e.elemTTL += p.elemTTL
	if p.nodes > 0 {
		if e.nodes > 0 {
			e.nodeSum += e.m.u(e.lastNode)
		}
		e.nodeSum += p.nodeSum
		e.lastNode = p.lastNode
		e.nodes += p.nodes
	}
	e.nodeSizes = append(e.nodeSizes, p.nodeSizes...)
}

// begin prepares for a key; it returns the shape options to pass to
// ReadShape.
func (e *estimator) begin(t rdb.Type, enc string, deep bool) rdb.ShapeOptions {
	e.typ, e.enc, e.elem, e.elemTTL = t, enc, 0, 0
	e.nodeSum, e.lastNode, e.nodes = 0, 0, 0
	e.nodeSizes, e.extra, e.loadDelta = e.nodeSizes[:0], 0, 0
	e.lpNodes, e.listToQL = e.lpNodes[:0], false
	o := rdb.ShapeOptions{Deep: deep}
	switch enc {
	case "quicklist":
		if !e.m.exactBlobs {
			o.Node = e.nodeFn
		}
		return o
	}
	if t == rdb.TypeStream {
		if e.m.streamLP {
			o.Node = e.nodeFn
		}
		return o
	}
	if !needsElements(t, enc) {
		return o
	}
	m := e.m
	switch t {
	case rdb.TypeSet:
		if m.valkeySet {
			o.Element = e.setLeanFn
		} else {
			o.Element = e.setFn
		}
	case rdb.TypeZSet:
		o.Element = e.zsetFn
	case rdb.TypeHash:
		if m.kvobj {
			o.Element = e.hashKVFn
		} else {
			o.Element = e.hashFn
		}
	case rdb.TypeList:
		o.Element = e.listFn
		if m.quicklistOnly() {
			e.listToQL = true
			o.Element = e.listElemFn
		}
	}
	return o
}

// finish returns the estimate for the key.
func (e *estimator) finish(rec *rdb.Record, s *rdb.Shape) uint64 {
	m := e.m
	expire := rec.ExpireAt != 0
	val := e.value(rec, s)
	if m.kvobj {
		// Redis 8: the object header carries the key (and expiry); the
		// embstr value is inside the same allocation and already counted
		// in val as its own bytes only.
		emb := uint64(0)
		if e.typ == rdb.TypeString && e.enc == "embstr" {
			emb = sdsHdrEmb(s.StringLen) + s.StringLen + 1
			val = 0
		} else {
			val -= 16
		}
		return m.kvobjSize(len(rec.Key), expire, emb) + val + m.dictEntry0()
	}
	return val + m.keyOverhead(len(rec.Key), expire)
}

func sdsHdrEmb(n uint64) uint64 {
	if n < 1<<8 {
		return 3
	}
	return sdsHdr(n)
}

// dictEntry0 is the keyspace entry Redis 8 counts beside the object.
func (m *model) dictEntry0() uint64 { return 0 }

// value is objectComputeSize with every element sampled.
func (e *estimator) value(rec *rdb.Record, s *rdb.Shape) uint64 {
	m := e.m
	const robj = 16
	switch e.typ {
	case rdb.TypeString:
		enc := e.enc
		if enc == "raw" && s.StringLen <= 44 && m.v.atLeast(3, 0) {
			// Files from 2.8 name no embstr; newer servers load short
			// strings as embstr.
			enc = "embstr"
		}
		switch enc {
		case "int":
			return robj
		case "embstr":
			if m.exactBlobs {
				return robj + s.StringLen + 2
			}
			return m.u(robj + 3 + s.StringLen + 1)
		}
		return robj + m.sdsNon5(s.StringLen)
	case rdb.TypeList:
		if e.enc == "ziplist" && m.quicklistOnly() {
			if m.v.Valkey || m.v.atLeast(7, 2) {
				return robj + m.blob(e.compactBlob(s.BlobBytes))
			}
			// A ziplist list becomes a quicklist of one node.
			e.extra = int64(m.u(40) - 40)
			return robj + 40 + 32 + m.u(e.compactBlob(s.BlobBytes))
		}
		if e.listToQL {
			e.extra = int64(m.u(40) - 40)
			v := uint64(robj + 40)
			for _, n := range e.lpNodes {
				v += 32 + m.u(n[0])
			}
			return v
		}
		switch e.enc {
		case "quicklist":
			n := s.Nodes
			if n == 0 {
				return robj + 40
			}
			e.extra = int64(m.u(40) - 40)
			if e.compressDepth > 0 && uint64(len(e.nodeSizes)) == n {
				return robj + 40 + n*32 + e.compressedNodes()
			}
			if e.nodes == n {
				// Each node rounded on its own (ShapeOptions.Node).
				return robj + 40 + n*32 + e.nodeSum + e.m.u(e.lastNode)
			}
			return robj + 40 + n*32 + e.nodesUsable(s.BlobBytes, n)
		case "linkedlist":
			return robj + 48 + e.elem
		}
		return robj + m.blob(e.compactBlob(s.BlobBytes))
	case rdb.TypeSet, rdb.TypeHash:
		switch e.enc {
		case "hashtable":
			b := buckets(s.Elements)
			elem := e.elem
			if m.kvobj && e.typ == rdb.TypeHash && s.FieldTTLs > 0 {
				elem = e.elemTTL + 24 // and the hash's expiry metadata
			}
			v := robj + m.dict + 8*b + elem
			if !m.valkeySet && !m.kvobj {
				e.extra = int64(m.u(m.dict) - m.dict + s.Elements*(m.u(m.dictEntry)-m.dictEntry))
			}
			if e.typ == rdb.TypeSet && m.valkeySet {
				v += uint64(math.Round(valkeySetEntry(s.Elements, b) * float64(s.Elements)))
			}
			return v
		case "listpackex":
			if m.exactLP {
				// Redis 8.6 counts the 24-byte listpackEx and the
				// listpack by their requested sizes (measured).
				return robj + 24 + s.BlobBytes
			}
			return robj + m.u(m.listpackEx) + m.u(s.BlobBytes)
		}
		return robj + m.blob(e.compactBlob(s.BlobBytes))
	case rdb.TypeZSet:
		if e.enc == "skiplist" {
			b := buckets(s.Elements)
			hdr := m.u(24 + m.zslMaxLvl*16)
			nodes := m.expectedZslNode() * float64(s.Elements)
			if m.zsetLean {
				return robj + 16 + 8*b + uint64(math.Round(float64(e.elem)+nodes))
			}
			e.extra = int64(m.u(m.dict) - m.dict + s.Elements*(m.u(m.dictEntry)-m.dictEntry))
			return robj + 16 + 32 + m.dict + 8*b + hdr + uint64(math.Round(float64(e.elem)+nodes))
		}
		return robj + m.blob(e.compactBlob(s.BlobBytes))
	case rdb.TypeStream:
		return e.stream(s)
	case rdb.TypeModule:
		if m.kvobj {
			return 16 + 16 // the object header is replaced in finish; 16 for the module value
		}
		return 0
	}
	return robj
}

// nodesUsable rounds the blobs of n quicklist nodes holding total bytes.
// The file does not keep each node's size, so all are taken as the mean.
func (e *estimator) nodesUsable(total, n uint64) uint64 {
	if n == 0 {
		return 0
	}
	if e.m.exactBlobs {
		return total
	}
	avg := total / n
	rem := total % n
	// rem nodes one byte larger.
	return (n-rem)*e.m.u(avg) + rem*e.m.u(avg+1)
}

// stream models objectComputeSize for streams: the radix tree of nodes,
// the node listpacks, consumer groups and their PELs.
func (e *estimator) stream(s *rdb.Shape) uint64 {
	m := e.m
	nodes := s.Nodes
	if m.exactLP {
		// Redis 8.6 (measured against 8.6.3, not from source): 272 bytes
		// for the stream and its radix tree with one node, node listpacks
		// by their length; each further node taken as 64 bytes of tree.
		// With jemalloc the base is 240 (mixed-jemalloc).
		base := uint64(272)
		if m.alloc != Libc {
			base = 240
		}
		v := uint64(16) + base + s.BlobBytes
		switch {
		case nodes > 1:
			v += (nodes - 1) * 64
		case nodes == 0:
			v -= 32
		}
		// Consumer groups, fitted on the corpus's two 8.6.3 streams
		// with groups (s1:stream:main, s1:stream:emptygroup): 328 bytes
		// a group, 100 a consumer, 287 a pending entry (its NACK and
		// its place in the group's and the consumer's PEL trees). IDMP
		// producer state is not counted.
		if s.Stream != nil {
			for _, g := range s.Stream.Info.Groups {
				v += 328 + 287*uint64(len(g.Pending)) + 100*uint64(len(g.Consumers))
			}
		}
		return v
	}
	v := uint64(16) + m.stream
	v += raxUsage(nodes)
	e.extra = int64(m.raxAllocated(nodes)) - int64(raxUsage(nodes))
	switch {
	case !m.streamLP:
		v += s.BlobBytes
	case nodes > 0 && e.nodes == nodes:
		// Each node rounded on its own; the last keeps its preallocation.
		v += e.nodeSum + m.u(max(e.lastNode, m.streamPre))
		e.loadDelta = int64(m.u(e.lastNode)) - int64(m.u(max(e.lastNode, m.streamPre)))
	case nodes > 0:
		// Every node listpack starts with a preallocation of
		// stream-node-max-bytes (4096 by default) and grows beyond it.
		// Full nodes are shrunk to fit; the last keeps its preallocation.
		avg := s.BlobBytes / nodes
		v += (nodes-1)*m.u(avg) + m.u(max(avg, m.streamPre))
		e.loadDelta = int64(m.u(avg)) - int64(m.u(max(avg, m.streamPre)))
	}
	return v + e.groups(s)
}

// groups is the consumer groups' share of a stream's figure.
func (e *estimator) groups(s *rdb.Shape) uint64 {
	m := e.m
	var v uint64
	if s.Stream != nil {
		for _, g := range s.Stream.Info.Groups {
			v += m.streamCG
			e.ids = e.ids[:0]
			for _, p := range g.Pending {
				e.ids = append(e.ids, p.ID)
			}
			u := raxUsageOf(e.ids)
			v += u + 24*uint64(len(g.Pending))
			// What the trees take, for the load prediction.
			e.extra += int64(m.raxAllocated(uint64(len(e.ids)))) - int64(u)
			for _, c := range g.Consumers {
				v += m.consumer + uint64(len(c.Name))
				u := raxUsageOf(c.Pending)
				v += u
				e.extra += int64(m.raxAllocated(uint64(len(c.Pending)))) - int64(u)
			}
		}
	}
	return v
}

// raxAllocated is what a stream's radix tree of n node IDs takes: the
// rax struct, a compressed node holding the first 16-byte ID and a leaf;
// each further ID splits a compressed node near its end (the IDs share
// their leading bytes), adding about a 40-byte node and a leaf. MEMORY
// USAGE counts far more (raxUsage), so the figure only serves the load
// prediction.
func (m *model) raxAllocated(n uint64) uint64 {
	v := m.u(24) + m.u(4)
	if n > 0 {
		v += m.u(32) + m.u(16) - m.u(4)
		v += (n - 1) * (m.u(40) + m.u(16))
	}
	return v
}

// raxUsageOf is streamRadixTreeMemoryUsage for a tree of the given IDs,
// with its node count worked out from them (raxNodes).
func raxUsageOf(ids []rdb.StreamID) uint64 {
	n := uint64(len(ids))
	return n*16 + raxNodes(ids)*(4+8*30)
}

// raxNodes is the node count of a radix tree (rax.c) holding the IDs as
// 16-byte big-endian keys: the head, a node for each child of a node
// where keys diverge, and one after each run of shared bytes (a
// compressed node and the node it leads to). An empty tree has its head.
func raxNodes(ids []rdb.StreamID) uint64 {
	if len(ids) == 0 {
		return 1
	}
	keys := make([][16]byte, len(ids))
	for i, id := range ids {
		binary.BigEndian.PutUint64(keys[i][:8], id.Ms)
		binary.BigEndian.PutUint64(keys[i][8:], id.Seq)
	}
	slices.SortFunc(keys, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	keys = slices.Compact(keys)
	return raxSubtree(keys, 0)
}

// raxSubtree counts the nodes of the subtree whose node sits after depth
// bytes shared by all keys (sorted, distinct).
func raxSubtree(keys [][16]byte, depth int) uint64 {
	if depth == 16 {
		return 1 // the key's own node
	}
	first, last := keys[0], keys[len(keys)-1]
	if first[depth] == last[depth] {
		// One child: a compressed node up to where the keys diverge
		// (or end), then the node there.
		q := depth + 1
		for q < 16 && first[q] == last[q] {
			q++
		}
		return 1 + raxSubtree(keys, q)
	}
	// The keys diverge here: a node listing the next bytes, and a node
	// for each.
	n := uint64(1)
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j][depth] == keys[i][depth] {
			j++
		}
		n += raxSubtree(keys[i:j], depth+1)
		i = j
	}
	return n
}

// raxUsage is streamRadixTreeMemoryUsage for a tree of n 16-byte IDs:
// 16 bytes per element plus 244 per rax node. The node count is not in
// the file; a tree of n IDs is taken to have n+1 nodes.
func raxUsage(n uint64) uint64 {
	nodes := n + 1
	if n == 0 {
		nodes = 1
	}
	return n*16 + nodes*(4+8*30)
}
