package rdb

// StreamIDMP is Redis 8.6's idempotent-producer state of a stream (XADD
// IDMP/IDMPAUTO, limits set with XCFGSET).
type StreamIDMP struct {
	Duration       uint64 // seconds an IID is remembered
	MaxEntries     uint64 // IIDs remembered per producer
	Producers      []StreamProducer
	IIDsAdded      uint64
	IIDsDuplicates uint64
}

// StreamProducer is one producer's remembered idempotency IDs, oldest first.
type StreamProducer struct {
	PID     []byte
	Entries []StreamIIDEntry
}

// StreamIIDEntry maps an idempotency ID to the entry it created.
type StreamIIDEntry struct {
	IID []byte
	ID  StreamID
}

func (r *Reader) readStreamIDMP(keep bool) (*StreamIDMP, error) {
	m := &StreamIDMP{}
	var err error
	lens := func(dst ...*uint64) {
		for _, d := range dst {
			if err == nil {
				*d, err = r.readLen("stream idempotency state")
			}
		}
	}
	var nprod uint64
	lens(&m.Duration, &m.MaxEntries, &nprod)
	if err != nil {
		return nil, err
	}
	if !r.in.fits(nprod) {
		return nil, r.errorf(ErrCorrupt, "stream producer count %d exceeds the input", nprod)
	}
	for i := uint64(0); i < nprod; i++ {
		var p StreamProducer
		if p.PID, err = r.readStringAppend(nil, "a stream producer id"); err != nil {
			return nil, err
		}
		var n uint64
		lens(&n)
		if err != nil {
			return nil, err
		}
		if !r.in.fits(n) {
			return nil, r.errorf(ErrCorrupt, "stream producer %q: IID count %d exceeds the input", p.PID, n)
		}
		for j := uint64(0); j < n; j++ {
			var e StreamIIDEntry
			if e.IID, err = r.readStringAppend(nil, "a stream idempotency id"); err != nil {
				return nil, err
			}
			lens(&e.ID.Ms, &e.ID.Seq)
			if err != nil {
				return nil, err
			}
			p.Entries = append(p.Entries, e)
		}
		if keep {
			m.Producers = append(m.Producers, p)
		}
	}
	lens(&m.IIDsAdded, &m.IIDsDuplicates)
	return m, err
}
