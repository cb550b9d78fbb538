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
	elem float64 // sum of per-element allocations
	fn   func(a, b uint64)
}

func newEstimator(m *model) *estimator {
	e := &estimator{m: m}
	e.fn = e.element
	return e
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

// begin prepares for a key; it returns the element callback to pass to
// ReadShape, or nil.
func (e *estimator) begin(t rdb.Type, enc string) func(a, b uint64) {
	e.typ, e.enc, e.elem = t, enc, 0
	if needsElements(t, enc) {
		return e.fn
	}
	return nil
}

func (e *estimator) element(a, b uint64) {
	m := e.m
	switch e.typ {
	case rdb.TypeSet:
		if m.valkeySet {
			e.elem += float64(m.sds(a)) // entry added in finish
		} else {
			e.elem += float64(m.sds(a) + m.dictEntry)
		}
	case rdb.TypeZSet:
		e.elem += float64(m.sds(a) + m.dictEntry)
	case rdb.TypeHash:
		if m.kvobj {
			// Redis 8: field and value in one entry allocation (fitted).
			e.elem += float64(m.u(sdsHdr(a)+a+1+sdsHdr(b)+b+1+8)) + 4
		} else {
			e.elem += float64(m.sds(a) + m.sds(b) + m.dictEntry)
		}
	case rdb.TypeList:
		// linkedlist (2.8): listNode + robj + sds.
		e.elem += float64(m.u(24) + m.u(16) + m.sds(a))
	}
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
			return robj + 40 + n*32 + e.nodesUsable(s.BlobBytes, n)
		case "linkedlist":
			return robj + 48 + uint64(e.elem)
		}
		return robj + m.blob(s.BlobBytes)
	case rdb.TypeSet, rdb.TypeHash:
		switch e.enc {
		case "hashtable":
			b := buckets(s.Elements)
			v := robj + m.dict + 8*b + uint64(math.Round(e.elem))
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
				return robj + 16 + 8*b + uint64(math.Round(e.elem+nodes))
			}
			return robj + 16 + 32 + m.dict + 8*b + hdr + uint64(math.Round(e.elem+nodes))
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
