package rdb

// KeyEncoder encodes key records as its Writer would write them, into
// memory: so that the workers of ReadParallel can encode the keys they
// read, and the sink write them in file order with Writer.WriteEncoded.
// Each worker needs a KeyEncoder of its own; one is not safe for
// concurrent use.
type KeyEncoder struct{ w *Writer }

// NewKeyEncoder returns a KeyEncoder for w's target and options. It reads
// only w's settings, which do not change, so it may be called from any
// goroutine.
func (w *Writer) NewKeyEncoder() *KeyEncoder {
	e := &Writer{t: w.t, opt: w.opt, lim: w.lim, started: true}
	e.opt.AllowDuplicateKeys = true // checked in WriteEncoded, in file order
	e.o.compress = w.o.compress     // no io.Writer: the output stays in e.o.buf
	return &KeyEncoder{w: e}
}

// EncodedKey is one key record a KeyEncoder encoded.
type EncodedKey struct {
	Bytes []byte // the whole record; valid until the KeyEncoder's next call
	// Key is the key's name, for WriteEncoded's check that no key is
	// written twice in one database; a caller keeping Bytes keeps it too.
	Key []byte
	// Stats is what writing it adds to the Writer's Stats. StoredCopies
	// can be lower than with CopyKey: a KeyEncoder learns from the keys it
	// encodes whether it may copy a verbatim string as stored, and the
	// bytes are the same either way.
	Stats WriterStats
}

// CopyKey encodes the current key of r as Writer.CopyKey writes it.
func (e *KeyEncoder) CopyKey(r *Reader, rec *Record) (EncodedKey, error) {
	w := e.w
	w.o.buf = w.o.buf[:0]
	before := w.stats
	if err := w.CopyKey(r, rec); err != nil {
		return EncodedKey{}, err
	}
	return EncodedKey{Bytes: w.o.buf, Key: rec.Key, Stats: w.stats.since(before)}, w.o.err
}

// WriteEncoded writes a key record that a KeyEncoder of w encoded, where
// CopyKey would have written it: it fails as CopyKey would for a key the
// current database already has (ErrDuplicateKey), writing nothing.
func (w *Writer) WriteEncoded(k EncodedKey) error {
	if err := w.begin(); err != nil {
		return err
	}
	if err := w.checkKey(k.Key); err != nil {
		return err
	}
	w.o.raw(k.Bytes)
	w.stats.add(k.Stats)
	return w.o.err
}

// since returns what s counts beyond before.
func (s WriterStats) since(before WriterStats) WriterStats {
	return WriterStats{
		Keys:                 s.Keys - before.Keys,
		DroppedFieldTTLs:     s.DroppedFieldTTLs - before.DroppedFieldTTLs,
		DroppedExpiredFields: s.DroppedExpiredFields - before.DroppedExpiredFields,
		DroppedExpiredKeys:   s.DroppedExpiredKeys - before.DroppedExpiredKeys,
		DowngradedStreams:    s.DowngradedStreams - before.DowngradedStreams,
		DroppedKeyMeta:       s.DroppedKeyMeta - before.DroppedKeyMeta,
		DroppedFunctions:     s.DroppedFunctions - before.DroppedFunctions,
		DroppedLRU:           s.DroppedLRU - before.DroppedLRU,
		EmptyKeys:            s.EmptyKeys - before.EmptyKeys,
		StoredCopies:         s.StoredCopies - before.StoredCopies,
	}
}

func (s *WriterStats) add(d WriterStats) {
	s.Keys += d.Keys
	s.DroppedFieldTTLs += d.DroppedFieldTTLs
	s.DroppedExpiredFields += d.DroppedExpiredFields
	s.DroppedExpiredKeys += d.DroppedExpiredKeys
	s.DowngradedStreams += d.DowngradedStreams
	s.DroppedKeyMeta += d.DroppedKeyMeta
	s.DroppedFunctions += d.DroppedFunctions
	s.DroppedLRU += d.DroppedLRU
	s.EmptyKeys += d.EmptyKeys
	s.StoredCopies += d.StoredCopies
}
