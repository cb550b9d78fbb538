package rdb

import (
	"bytes"
	"io"
)

// CopyValue transcodes the current key of r (rec is what r.Next returned)
// into the target format under the header h, streaming its elements: the
// value is re-encoded element by element in the encoding the target would
// choose. Where a string, compact blob or quicklist node comes out
// byte-identical to what the source stored, the source's stored form
// (LZF-compressed or verbatim) is copied instead of being compressed
// again, when that provably gives the same bytes: the source's LZF output
// is known to match ours (RDB 7 and later) and, for a string stored
// verbatim, the source shows it saved with compression on.
// WriterOptions.Recompress turns this off; the output is the same.
//
// CopyKey is CopyValue with the key's own header; CopyRecord and Copy
// handle the records around keys.
func (w *Writer) CopyValue(r *Reader, rec *Record, h KeyHeader) error {
	w.beginCopy(r)
	defer func() {
		w.copying, r.val.src, w.cw.memInt = false, nil, false
		r.val.lazyInt, r.val.memInt = false, false
	}()
	switch rec.Type {
	case TypeString:
		var st storedStr
		r.val.src = &w.src // see srcForms
		s, err := r.ReadString()
		if err != nil {
			return err
		}
		w.src.keep(&st, s, false)
		if st.lzf {
			w.src.lzfSeen = true
		}
		if err := w.begin(); err != nil {
			return err
		}
		if err := w.checkKeyMeta(&h); err != nil {
			return err
		}
		if err := w.keyHeader(&h, typeString); err != nil {
			return err
		}
		w.strFrom(s, &st)
		return w.o.err
	case TypeModule:
		m, err := r.Module()
		if err != nil {
			return err
		}
		return w.WriteModule(h, m)
	case TypeStream:
		sw, err := w.BeginStream(h)
		if err != nil {
			return err
		}
		for {
			e, err := r.NextStreamEntry()
			if err == io.EOF {
				break
			}
			if err == nil {
				err = sw.Add(e)
			}
			if err != nil {
				w.inValue = false
				sw.sp.release()
				return err
			}
		}
		info, err := r.Stream()
		if err != nil {
			w.inValue = false
			sw.sp.release()
			return err
		}
		return sw.Close(info)
	}
	info := CollectionInfo{Count: -1}
	if n, ok := r.Len(); ok {
		info.Count = int64(n)
	}
	switch rec.RDBType {
	case typeHashMetadataPreGA, typeHashListpackExPreGA, typeHashMetadata, typeHashListpackEx:
		// Redis 7.4 hashes with field TTLs; Valkey's code 22 too.
		info.FieldTTLs = rec.Type == TypeHash
	}
	cw, err := w.BeginCollection(h, rec.Type, info)
	if err != nil {
		return err
	}
	// The reader records the stored forms of the strings it reads in
	// w.src, for cw.Add and cw.Close.
	r.val.src = &w.src
	// Integers of a list's compact entries go to the quicklist builder as
	// such; see qlBuilder.add.
	r.val.lazyInt = cw.ql != nil
	if copyFastPaths {
		if handled, err := w.copyCompact(r, cw); handled {
			return err
		}
	}
	if err := w.copyElements(r, cw); err != nil {
		return err
	}
	return cw.Close()
}

// copyElements adds the remaining elements of r's value to cw; on an
// error it abandons cw.
func (w *Writer) copyElements(r *Reader, cw *CollectionWriter) error {
	for {
		if cw.direct && copyFastPaths && r.val.started {
			w.copyPlainRun(r, cw)
		}
		e, err := r.NextElement()
		if err == io.EOF {
			return nil
		}
		if err == nil {
			cw.memInt, cw.memIntV = r.val.memInt, r.val.memIntV
			if err = cw.err; err == nil {
				err = cw.add(&e)
				cw.err = err
			}
		}
		if err != nil {
			w.inValue = false
			cw.sp.release()
			cw.releaseMembers()
			if cw.ql != nil {
				cw.ql.sp.release()
			}
			return err
		}
	}
}

// beginCopy prepares for copying the current value of r.
func (w *Writer) beginCopy(r *Reader) {
	if w.srcReader != r {
		w.srcReader = r
		w.src.lzfSeen = false
		// Redis 2.8 (and so RDB 6) bundles a liblzf whose output differs.
		w.srcTrusted = r.dialect == DialectValkey || r.version >= 7
	}
	w.src.reset()
	w.copying = !w.opt.Recompress
}

// storedOK reports whether b, about to be written as an RDB string, may be
// written in the form st in which the source stored the same bytes, the
// result being byte-identical to encoding b here:
//
//   - only while CopyValue copies a value, with compression on, for strings
//     longer than 20 bytes (shorter ones are never compressed: the ordinary
//     path is as cheap) whose bytes equal what the source stored;
//   - the source's LZF output must be byte-identical to ours: files of RDB
//     7 or later (Redis 3.2+) and Valkey's (Redis 2.8 bundles another
//     liblzf). Then a string the source stored LZF-compressed within Redis's
//     bound (at most 4 bytes less than the string) is what compressing it
//     here gives, LZF being deterministic;
//   - a string the source stored verbatim is one its compression could not
//     shrink by 4 bytes, provided the source compressed at all: a server
//     saves a whole snapshot under one rdbcompression setting, so this is
//     taken as shown once the source has stored a string LZF-compressed
//     that was not a quicklist node (those can be LZF from
//     list-compress-depth with rdbcompression off).
func (w *Writer) storedOK(b []byte, st *storedStr) bool {
	if !w.copying || !st.ok || !w.o.compress || len(b) <= 20 || len(st.dec) != len(b) || !w.srcTrusted {
		return false
	}
	if st.lzf {
		if len(st.comp) > len(b)-4 {
			return false
		}
	} else if !w.src.lzfSeen {
		return false
	}
	return bytes.Equal(st.dec, b)
}

// strFrom writes b as an RDB string, in the source's stored form st when
// storedOK allows.
func (w *Writer) strFrom(b []byte, st *storedStr) {
	if !w.storedOK(b, st) {
		w.o.str(b)
		return
	}
	w.stats.StoredCopies++
	o := &w.o
	if st.lzf {
		o.lzfBlob(st.comp, len(b))
		return
	}
	o.buf = appendLen(o.buf, uint64(len(b)))
	o.raw(b)
}

// storedNode returns the stored form of a quicklist node of the source
// with the bytes blob, if storedOK allows copying it.
func (w *Writer) storedNode(blob []byte) *storedStr {
	for _, i := range [2]int{w.src.cur, 1 - w.src.cur} {
		if st := &w.src.nodes[i]; w.storedOK(blob, st) {
			w.stats.StoredCopies++
			return st
		}
	}
	return nil
}

// appendStored appends the stored form st of b.
func appendStored(dst, b []byte, st *storedStr) []byte {
	if st.lzf {
		dst = append(dst, 0xC0|encLZF)
		dst = appendLen(dst, uint64(len(st.comp)))
		dst = appendLen(dst, uint64(len(b)))
		return append(dst, st.comp...)
	}
	dst = appendLen(dst, uint64(len(b)))
	return append(dst, b...)
}

// CopyKey writes the current key of r with its header.
func (w *Writer) CopyKey(r *Reader, rec *Record) error {
	return w.CopyValue(r, rec, rec.KeyHeader())
}
