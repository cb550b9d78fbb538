package analyze

import (
	"math"

	"github.com/rdbtool/rdbtool/rdb"
)

// estimator turns one key's record and shape into a MEMORY USAGE figure.
// It is reused across keys; elementFn accumulates per-element costs of
// plain encodings while ReadShape walks them.
type estimator struct {
	m *model

	typ  rdb.Type
	enc  string
	elem uint64 // sum of per-element allocations

	// Per-node rounding of quicklist and stream nodes (ShapeOptions.Node).
	nodeFn   func(size, count, stored uint64, compressed bool)
	nodeSum  uint64 // usable sizes of the nodes before the last
	lastNode uint64 // the last node's size
	nodes    uint64

	// Element callbacks, one per type so that none switches per element.
	setFn, setLeanFn, zsetFn, hashFn, hashKVFn, listFn func(a, b uint64)
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
		// Redis 8: field and value in one entry allocation (fitted).
		e.elem += m.u(sdsHdr(a)+a+1+sdsHdr(b)+b+1+8) + 4
	}
	e.listFn = func(a, _ uint64) {
		// linkedlist (2.8): listNode + robj + sds.
		e.elem += m.u(24) + m.u(16) + e.sds(a)
	}
	e.nodeFn = e.node
	return e
}

func (e *estimator) sds(n uint64) uint64 {
	if n < uint64(len(e.sdsTab)) {
		return uint64(e.sdsTab[n])
	}
	return e.m.sds(n)
}

// node rounds each quicklist or stream node on its own; the last node is
// kept apart (streams preallocate it).
func (e *estimator) node(size, _, _ uint64, _ bool) {
	if e.nodes > 0 {
		e.nodeSum += e.m.u(e.lastNode)
	}
	e.nodes++
	e.lastNode = size
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

// begin prepares for a key; it returns the shape options to pass to
// ReadShape.
func (e *estimator) begin(t rdb.Type, enc string, deep bool) rdb.ShapeOptions {
	e.typ, e.enc, e.elem = t, enc, 0
	e.nodeSum, e.lastNode, e.nodes = 0, 0, 0
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
		switch e.enc {
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
		switch e.enc {
		case "quicklist":
			n := s.Nodes
			if n == 0 {
				return robj + 40
			}
			if e.nodes == n {
				// Each node rounded on its own (ShapeOptions.Node).
				return robj + 40 + n*32 + e.nodeSum + e.m.u(e.lastNode)
			}
			return robj + 40 + n*32 + e.nodesUsable(s.BlobBytes, n)
		case "linkedlist":
			return robj + 48 + e.elem
		}
		return robj + m.blob(s.BlobBytes)
	case rdb.TypeSet, rdb.TypeHash:
		switch e.enc {
		case "hashtable":
			b := buckets(s.Elements)
			v := robj + m.dict + 8*b + e.elem
			if e.typ == rdb.TypeSet && m.valkeySet {
				v += uint64(math.Round(valkeySetEntry(s.Elements, b) * float64(s.Elements)))
			}
			return v
		case "listpackex":
			return robj + m.u(m.listpackEx) + m.u(s.BlobBytes)
		}
		return robj + m.blob(s.BlobBytes)
	case rdb.TypeZSet:
		if e.enc == "skiplist" {
			b := buckets(s.Elements)
			hdr := m.u(24 + m.zslMaxLvl*16)
			nodes := m.expectedZslNode() * float64(s.Elements)
			if m.zsetLean {
				return robj + 16 + 8*b + uint64(math.Round(float64(e.elem)+nodes))
			}
			return robj + 16 + 32 + m.dict + 8*b + hdr + uint64(math.Round(float64(e.elem)+nodes))
		}
		return robj + m.blob(s.BlobBytes)
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
		v := uint64(16) + 272 + s.BlobBytes
		if nodes > 1 {
			v += (nodes - 1) * 64
		}
		return v + e.groups(s)
	}
	v := uint64(16) + m.stream
	v += raxUsage(nodes)
	switch {
	case !m.streamLP:
		v += s.BlobBytes
	case nodes > 0 && e.nodes == nodes:
		// Each node rounded on its own; the last keeps its preallocation.
		v += e.nodeSum + m.u(max(e.lastNode, m.streamPre))
	case nodes > 0:
		// Every node listpack starts with a preallocation of
		// stream-node-max-bytes (4096 by default) and grows beyond it.
		// Full nodes are shrunk to fit; the last keeps its preallocation.
		avg := s.BlobBytes / nodes
		v += (nodes-1)*m.u(avg) + m.u(max(avg, m.streamPre))
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
			v += raxUsage(uint64(len(g.Pending)))
			v += 24 * uint64(len(g.Pending))
			for _, c := range g.Consumers {
				v += m.consumer + uint64(len(c.Name))
				v += raxUsage(uint64(len(c.Pending)))
			}
		}
	}
	return v
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
