package compact

import "sync"

const encLZF = "lzf"

// LZFMaxRatio is the largest expansion LZF can achieve: a 3-byte back
// reference produces at most 264 bytes, i.e. 88 output bytes per input byte.
const LZFMaxRatio = 88

// LZFDecompress decompresses src, which must produce exactly outLen bytes,
// into dst (reused when cap(dst) >= outLen, else a new slice is allocated)
// and returns the result. outLen is checked against the largest expansion LZF
// can achieve before anything is allocated. Back references before the start
// of the output, output overruns, truncated input and short output are all
// reported as *Error with the offset in src.
func LZFDecompress(src []byte, outLen int, dst []byte) ([]byte, error) {
	if outLen < 0 {
		return nil, newErr(encLZF, 0, "negative output length "+itoa(outLen))
	}
	if uint64(outLen) > LZFMaxRatio*uint64(len(src)) {
		return nil, newErr(encLZF, 0, "output length "+itoa(outLen)+" is impossible for "+itoa(len(src))+" compressed bytes (LZF expands at most 88x)")
	}
	var out []byte
	if cap(dst) >= outLen {
		out = dst[:outLen]
	} else {
		out = make([]byte, outLen)
	}
	ip, op := 0, 0
	n := len(src)
	for ip < n {
		start := ip
		ctrl := int(src[ip])
		ip++
		if ctrl < 32 { // literal run of ctrl+1 bytes
			l := ctrl + 1
			if l > outLen-op {
				return nil, newErr(encLZF, start, "literal run of "+itoa(l)+" bytes overruns the "+itoa(outLen)+"-byte output at "+itoa(op))
			}
			if l > n-ip {
				return nil, newErr(encLZF, start, "literal run of "+itoa(l)+" bytes overruns the input")
			}
			if op+32 <= outLen && ip+32 <= n {
				// Fixed-size moves compile to a few instructions; the bytes
				// past l are overwritten by what follows.
				*(*[32]byte)(out[op:]) = *(*[32]byte)(src[ip:])
			} else {
				copy(out[op:op+l], src[ip:ip+l])
			}
			op += l
			ip += l
			continue
		}
		l := ctrl >> 5
		if ip >= n {
			return nil, newErr(encLZF, start, "back reference truncated")
		}
		if l == 7 {
			l += int(src[ip])
			ip++
			if ip >= n {
				return nil, newErr(encLZF, start, "back reference truncated")
			}
		}
		ref := op - (ctrl&0x1F)<<8 - 1 - int(src[ip])
		ip++
		l += 2
		if l > outLen-op {
			return nil, newErr(encLZF, start, "back reference of "+itoa(l)+" bytes overruns the "+itoa(outLen)+"-byte output at "+itoa(op))
		}
		if ref < 0 {
			return nil, newErr(encLZF, start, "back reference points "+itoa(-ref)+" bytes before the start of the output")
		}
		if op-ref >= l {
			if l <= 16 && op+16 <= outLen {
				// The array is read whole before it is written, so an
				// overlap past the l bytes that matter does no harm.
				*(*[16]byte)(out[op:]) = *(*[16]byte)(out[ref:])
			} else {
				copy(out[op:op+l], out[ref:ref+l])
			}
			op += l
		} else {
			// Overlapping: the output repeats with period op-ref, so
			// copying the growing window keeps the byte-by-byte semantics.
			for l > 0 {
				k := copy(out[op:op+l], out[ref:op])
				op += k
				l -= k
			}
		}
	}
	if op != outLen {
		return nil, newErr(encLZF, n, "decompressed "+itoa(op)+" bytes, expected "+itoa(outLen))
	}
	return out, nil
}

// LZFWorthIt reports whether Redis would try LZF compression on an n-byte
// string when saving an RDB (rdbSaveRawString: rdbcompression on and n > 20).
// Whether the compressed form is then used is decided by LZFCompress.
func LZFWorthIt(n int) bool { return n > 20 }

// LZFCompress compresses src exactly as Redis does when writing a string to an
// RDB file or DUMP payload (rdbSaveLzfStringObject): it returns false when
// LZFWorthIt(len(src)) is false or when liblzf cannot fit the result into
// len(src)-4 bytes (Redis then stores the string verbatim). The output is
// byte-identical to Redis's bundled liblzf 3.6 (HLOG 16, VERY_FAST, a zeroed
// hash table). It is appended to dst[:0].
func LZFCompress(src []byte, dst []byte) ([]byte, bool) {
	if !LZFWorthIt(len(src)) {
		return dst[:0], false
	}
	return LZFCompressLimit(src, len(src)-4, dst)
}

// LZFCompressLimit runs liblzf's lzf_compress with an output buffer of maxOut
// bytes, reporting false where lzf_compress returns 0 (empty input, or the
// output does not fit under liblzf's own conservative checks). Quicklist node
// compression uses maxOut = len(src) (and then also requires the result to be
// at least 8 bytes smaller). The result is appended to dst[:0].
func LZFCompressLimit(src []byte, maxOut int, dst []byte) ([]byte, bool) {
	if len(src) == 0 || maxOut <= 0 || uint64(len(src)) >= 1<<31 {
		return dst[:0], false
	}
	need := maxOut + 1
	var out []byte
	if cap(dst) >= need {
		out = dst[:need]
	} else {
		out = make([]byte, need)
	}
	st := lzfPool.Get().(*lzfState)
	n := st.compress(src, out, maxOut)
	lzfPool.Put(st)
	if n == 0 {
		return out[:0], false
	}
	return out[:n], true
}

const (
	lzfHLog   = 16
	lzfHSize  = 1 << lzfHLog
	lzfMaxLit = 1 << 5
	lzfMaxOff = 1 << 13
	lzfMaxRef = 1<<8 + 1<<3
)

// lzfState is liblzf's hash table. Instead of clearing 256 KiB per call, each
// call stores base+position and treats values <= base as empty; base moves
// past every position of the previous call.
type lzfState struct {
	htab [lzfHSize]uint32
	base uint32
}

var lzfPool = sync.Pool{New: func() any { return new(lzfState) }}

func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHLog)) - h*5) & (lzfHSize - 1)
}

// compress mirrors lzf_compress from liblzf 3.6 as configured in Redis's
// lzfP.h (VERY_FAST=1, ULTRA_FAST=0, HLOG=16). Positions are offsets into in;
// a stored position of 0 means "empty", exactly as LZF_USE_OFFSETS does, so a
// match can never start at offset 0. out must have len > outEnd. It returns
// the compressed length, or 0 where lzf_compress returns 0.
// One function on purpose: it is the hot loop, kept line for line beside the C.
func (st *lzfState) compress(in, out []byte, outEnd int) int {
	inLen := len(in)
	if uint64(st.base)+uint64(inLen)+1 >= 1<<32 {
		st.htab = [lzfHSize]uint32{}
		st.base = 0
	}
	base := st.base
	st.base += uint32(inLen) + 1
	htab := &st.htab

	ip, op, lit := 0, 1, 0
	var hval uint32
	if inLen >= 2 {
		hval = uint32(in[0])<<8 | uint32(in[1])
	}
	for ip < inLen-2 {
		hval = hval<<8 | uint32(in[ip+2])
		slot := lzfIdx(hval)
		v := htab[slot]
		htab[slot] = base + uint32(ip)
		ref := 0
		if v > base {
			ref = int(v - base)
		}
		if ref > 0 && ip-ref-1 < lzfMaxOff &&
			in[ref+2] == in[ip+2] && in[ref] == in[ip] && in[ref+1] == in[ip+1] {
			off := ip - ref - 1
			l := 2
			maxlen := inLen - ip - l
			if maxlen > lzfMaxRef {
				maxlen = lzfMaxRef
			}
			if op+3+1 >= outEnd {
				undo := 0
				if lit == 0 {
					undo = 1
				}
				if op-undo+3+1 >= outEnd {
					return 0
				}
			}
			out[op-lit-1] = byte(lit - 1)
			if lit == 0 {
				op--
			}
			// Extend the match exactly like liblzf: when more than 16
			// bytes may match it first compares 16 bytes unconditionally.
			extended := false
			if maxlen > 16 {
				for k := 0; k < 16; k++ {
					l++
					if in[ref+l] != in[ip+l] {
						extended = true
						break
					}
				}
			}
			if !extended {
				for {
					l++
					if !(l < maxlen && in[ref+l] == in[ip+l]) {
						break
					}
				}
			}
			l -= 2
			ip++
			if l < 7 {
				out[op] = byte(off>>8 + l<<5)
				op++
			} else {
				out[op] = byte(off>>8 + 7<<5)
				out[op+1] = byte(l - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++
			ip += l + 1
			if ip >= inLen-2 {
				break
			}
			ip -= 2
			hval = uint32(in[ip])<<8 | uint32(in[ip+1])
			hval = hval<<8 | uint32(in[ip+2])
			htab[lzfIdx(hval)] = base + uint32(ip)
			ip++
			hval = hval<<8 | uint32(in[ip+2])
			htab[lzfIdx(hval)] = base + uint32(ip)
			ip++
		} else {
			if op >= outEnd {
				return 0
			}
			lit++
			out[op] = in[ip]
			op++
			ip++
			if lit == lzfMaxLit {
				out[op-lit-1] = byte(lit - 1)
				lit = 0
				op++
			}
		}
	}
	if op+3 > outEnd {
		return 0
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1)
	if lit == 0 {
		op--
	}
	return op
}
