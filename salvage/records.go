package salvage

import (
	"errors"
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/internal/keydigest"
	"github.com/rdbtool/rdbtool/rdb"
)

func (s *scanner) readerAt(off int64, window int64, db int) *rdb.Reader {
	n := s.size - off
	if window > 0 && window < n {
		n = window
	}
	opts := []rdb.Option{rdb.WithName(s.opts.Name), rdb.WithSize(n), rdb.WithoutChecksum()}
	if s.opts.AllowNewer {
		opts = append(opts, rdb.AllowNewerVersions())
	}
	if window > 0 {
		opts = append(opts, rdb.WithBufferSize(4096))
	}
	if off > 0 {
		opts = append(opts, rdb.Resume(s.dialect, s.version, db, off))
	}
	return rdb.NewReader(io.NewSectionReader(s.ra, off, n), opts...)
}

func (s *scanner) keyHash(db int, key []byte) uint64 { return s.keys.Digest(db, key) }

// keyAt returns the key of the key record at off (a copy), nil when none
// can be read there.
func (s *scanner) keyAt(off int64, db int) []byte {
	r := s.readerAt(off, 1<<20, db)
	if off < 9 {
		return nil
	}
	rec, err := r.Next()
	if err != nil && !errors.Is(err, rdb.ErrTruncated) || rec == nil || rec.Kind != rdb.KindKey {
		return nil
	}
	return append([]byte{}, rec.Key...)
}

// duplicate reports the key record at off repeating the one at first.
func (s *scanner) duplicate(off, first int64, db int, key []byte) {
	s.res.Duplicates++
	s.problem(Problem{Kind: DuplicateKey, Offset: off, DB: db, Key: key, What: fmt.Sprintf("this key was already read in this database, in the record at offset %d: Redis refuses to load a file with a repeated key (the first record is kept)", first)})
}

// lateDuplicates reports the repeats whose first record's digest had been
// spilled to disk when the repeat was read.
func (s *scanner) lateDuplicates() error {
	if s.ioErr != nil {
		return s.ioErr
	}
	return s.keys.Finish(func(d keydigest.Dup) error {
		// The database is part of the digest; the reader needs one to
		// resume, and a key record's key does not depend on it.
		k2 := s.keyAt(d.Second, 0)
		if k2 == nil || string(s.keyAt(d.First, 0)) != string(k2) {
			return nil // two keys sharing a digest
		}
		db := -1
		for i := len(s.recDBs) - 1; i >= 0; i-- {
			if s.recDBs[i].off <= d.Second {
				db = s.recDBs[i].db
				break
			}
		}
		s.duplicate(d.Second, d.First, db, k2)
		// It was counted as an intact key when it was read.
		s.res.Keys--
		if db >= 0 {
			s.dbSum(db).Keys--
		}
		return nil
	})
}

// segment reads records from off (0: from the header) until the end or a
// problem that breaks the chain of records. done is true at a clean end;
// otherwise failAt is the offset of the record that could not be read.
func (s *scanner) segment(off int64, afterDamage bool) (failAt, hint, from int64, done bool) {
	var r *rdb.Reader
	if off <= 9 && s.res.HeaderOK {
		r = s.readerAt(0, 0, 0)
	} else {
		r = s.readerAt(off, 0, s.db)
	}
	first := afterDamage
	recStart := off
	s.fv = failedValue{}
	for {
		if recStart < 9 && s.res.HeaderOK {
			recStart = 9
		}
		rec, err := r.Next()
		if err == io.EOF {
			end := r.Offset()
			if end != s.size {
				if end < s.size && s.res.Version >= 5 && s.trailer {
					// An end-of-file marker with more records after it: a
					// damaged byte that happens to read as 0xFF.
					s.problem(Problem{Kind: Damaged, Offset: recStart, DB: -1, What: fmt.Sprintf("an end-of-file marker %d bytes before the file's own trailer", s.size-end)})
					return recStart, 0, recStart + 1, false
				}
				if end < s.size {
					if err := s.trailing(end); err != nil {
						s.problem(Problem{Kind: Damaged, Offset: end, DB: -1, What: err.Error(), Err: err})
						return end, 0, end + 1, false
					}
				}
			}
			s.endOfFile()
			s.res.EOF = true
			return 0, 0, 0, true
		}
		if err != nil {
			var re *rdb.Error
			p := Problem{Kind: Damaged, Offset: recStart, DB: -1, What: err.Error(), Err: err}
			if errors.As(err, &re) {
				p.Offset = re.Offset
				p.What = re.What
				if re.Err != nil && re.Err != rdb.ErrCorrupt {
					p.What += ": " + re.Err.Error()
				}
				if re.Key != nil && !first {
					p.Kind, p.Key, p.DB = KeyLost, re.Key, s.db
					s.lost(s.db, re.Key, recStart, re.What)
				}
			} else {
				// An I/O error: nothing more can be read.
				s.problem(p)
				return recStart, 0, recStart + 1, false
			}
			if p.Kind == Damaged {
				p.What = "record does not decode: " + p.What
			}
			if errors.Is(err, rdb.ErrTruncated) && p.Kind == Damaged {
				p.Kind = Truncated
			}
			if !first || p.Kind == KeyLost {
				s.problem(p)
			}
			s.fail(p.Offset, err)
			return recStart, 0, recStart + 1, false
		}
		if s.stopped {
			return 0, 0, 0, true
		}
		if r.KeyDB() {
			s.res.KeyDB = true
		}
		s.failPos, s.failTrunc = -1, false
		ok, hint, from := s.record(r, rec, first)
		if !ok {
			if s.failPos < 0 {
				s.failPos = rec.Offset
			}
			// hint: where the damaged record may end, when its key and
			// type were read; from: where to look for records after it.
			return rec.Offset, hint, max(from, rec.Offset+1), false
		}
		first = false
		recStart = r.Offset()
	}
}

// record checks one record. It returns false when the record shows that
// the chain of records is broken here (bogus data that happens to decode).
func (s *scanner) record(r *rdb.Reader, rec *rdb.Record, first bool) (ok bool, hint, from int64) {
	vs := r.Offset()
	cur := Record{Kind: rec.Kind, Offset: rec.Offset, DB: rec.DB, Type: rec.Type, RDBType: rec.RDBType, ExpireAt: rec.ExpireAt}
	if rec.Kind != rdb.KindKey {
		cur.Size = rec.Size
		s.otherRecord(rec, &cur, first)
		return true, 0, 0
	}
	s.ev.segKeys++
	weak, err := s.v.check(r, rec)
	inc := asInconsistency(err)
	if err != nil && inc == nil {
		// The value is damaged from where the reader failed on; before
		// that it decoded.
		return false, r.Offset(), s.undecodable(rec, vs, err, first)
	}
	// Consume whatever the checks left unread, so the size is known.
	if err := r.Skip(); err != nil {
		s.fail(r.Offset(), err)
		at := r.Offset()
		if re := (*rdb.Error)(nil); errors.As(err, &re) {
			at = re.Offset
		}
		s.fv = failedValue{rdbType: rec.RDBType, vs: vs, at: at}
		if !first {
			s.lost(rec.DB, rec.Key, rec.Offset, err.Error())
			s.problem(Problem{Kind: KeyLost, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: err.Error(), Err: err})
		}
		return false, 0, 0
	}
	cur.Size = rec.Size
	if !weak && (rec.RDBType == 14 || rec.RDBType == 18) {
		// A quicklist confirms its end only when its last node is a
		// listpack or ziplist, which ends with 0xFF; a plain node (or an
		// LZF-compressed one) can end with anything.
		var last [1]byte
		if _, err := s.ra.ReadAt(last[:], rec.Offset+rec.Size-1); err != nil || last[0] != 0xFF {
			weak = true
		}
	}
	// Zeroed bytes read as keys with empty names and empty string values.
	if rec.Type == rdb.TypeString && len(rec.Key) == 0 && rec.Size <= 3 && rec.ExpireAt == 0 {
		s.problem(Problem{Kind: Damaged, Offset: rec.Offset, DB: -1, What: "zero bytes where a record should be (they read as an empty key with an empty value)"})
		return false, 0, 0
	}
	note, noteWhat := s.v.note, s.v.noteWhat
	if note != 0 && (first || s.ev.confirming) {
		// Right after damage this is more likely damaged bytes than what
		// a server wrote.
		s.problem(Problem{Kind: Damaged, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: noteWhat + ", right after damage: bogus bytes that decode as a key"})
		return false, 0, 0
	}
	h := s.keyHash(rec.DB, rec.Key)
	if first || s.ev.confirming {
		// Right after damage a repeated key is evidence of bogus bytes
		// (a damaged value's content can hold a copy of a record).
		if prev, seen := s.keys.Lookup(h); seen && string(s.keyAt(prev, rec.DB)) == string(rec.Key) {
			s.problem(Problem{Kind: Damaged, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: fmt.Sprintf("this key was already read in this database (offset %d), right after damage: bogus bytes that decode as a key", prev)})
			return false, 0, 0
		}
	}
	prev, dup, err := s.keys.Add(h, rec.Offset)
	if err != nil {
		s.ioErr = err
	}
	if dup && inc == nil && string(s.keyAt(prev, rec.DB)) == string(rec.Key) {
		// An intact record repeating a key: the file is what its writer
		// wrote, but Redis refuses it. Nothing is unreadable, nothing lost.
		s.duplicate(rec.Offset, prev, rec.DB, rec.Key)
		return true, 0, 0
	}
	if inc != nil {
		// The value decodes but its content is wrong: damage that may
		// also have changed its lengths. Records go on from its end if
		// what follows confirms it.
		s.lost(rec.DB, rec.Key, rec.Offset, inc.err.What)
		s.problem(Problem{Kind: KeyLost, Offset: inc.err.Offset, DB: rec.DB, Key: rec.Key, What: inc.err.What, Err: inc.err})
		s.fail(inc.err.Offset, nil)
		s.fv = failedValue{rdbType: rec.RDBType, vs: vs, at: inc.err.Offset}
		return false, rec.Offset + rec.Size, inc.err.Offset
	}
	if s.fixOff >= rec.Offset && s.fixOff < rec.Offset+rec.Size {
		// The record holds the changed byte. It was read with the byte as
		// written, so its extent is exact and the records go on.
		s.lost(rec.DB, rec.Key, rec.Offset, fmt.Sprintf("holds the changed byte at offset %d", s.fixOff))
		s.problem(Problem{Kind: KeyLost, Offset: s.fixOff, DB: rec.DB, Key: rec.Key, What: fmt.Sprintf("the record [%d, %d) holds the byte the checksum shows changed (--repair restores it)", rec.Offset, rec.Offset+rec.Size)})
		return true, 0, 0
	}
	if c := s.content; c != nil {
		if why := c.doubt(rec.Offset, rec.Offset+rec.Size, s.opts.KeepUnverified); why != "" {
			s.lost(rec.DB, rec.Key, rec.Offset, why)
			s.problem(Problem{Kind: KeyLost, Offset: rec.Offset, End: rec.Offset + rec.Size, DB: rec.DB, Key: rec.Key, What: why})
			return true, 0, 0
		}
	}
	if note != 0 {
		s.note(Problem{Kind: note, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: noteWhat})
	}
	// Intsets have no terminator: damage beginning in their last integers
	// and running on is not noticed in them.
	end := !weak && rec.RDBType != 11
	proof := s.startProof(rec, weak, vs, s.ev.confirming)
	s.accept(&cur, rec.Key, true, proof, end)
	return true, 0, 0
}

// undecodable reports a key whose value (at vs) the reader could not
// decode, and returns where decoding failed.
func (s *scanner) undecodable(rec *rdb.Record, vs int64, err error, first bool) (at int64) {
	var re *rdb.Error
	p := Problem{Kind: KeyLost, Offset: rec.Offset, DB: rec.DB, Key: rec.Key, What: err.Error(), Err: err}
	if errors.As(err, &re) {
		p.Offset, p.What = re.Offset, re.What
		if re.Err != nil && re.Err != rdb.ErrCorrupt {
			p.What += ": " + re.Err.Error()
		}
	}
	if !first {
		s.problem(p)
		s.lost(rec.DB, rec.Key, rec.Offset, p.What)
	}
	s.fail(p.Offset, err)
	s.fv = failedValue{rdbType: rec.RDBType, vs: vs, at: p.Offset}
	return p.Offset
}

// otherRecord takes a record that is not a key (cur: what is handed on
// of it): what it says of databases and the file, and whether it is copied.
func (s *scanner) otherRecord(rec *rdb.Record, cur *Record, first bool) {
	switch rec.Kind {
	case rdb.KindSelectDB:
		s.selectDB(rec.DB)
		if n := len(s.recDBs); n == 0 || s.recDBs[n-1].db != rec.DB {
			s.recDBs = append(s.recDBs, dbStart{rec.Offset, rec.DB})
		}
	case rdb.KindResizeDB:
		s.resizeDB(rec.DBSize)
		if s.declaredDBs == nil {
			s.declaredDBs = map[int]int64{}
		}
		if _, dup := s.declaredDBs[rec.DB]; dup || first || s.ev.confirming {
			// A second hint for a database, or one read right after
			// damage, may be damaged bytes: no exact count then.
			s.dbUncertain = true
		}
		s.declaredDBs[rec.DB] = int64(min(rec.DBSize, 1<<40))
	case rdb.KindAux:
		s.aux(rec.AuxKey, rec.AuxValue)
	}
	if s.fixOff >= rec.Offset && s.fixOff < rec.Offset+rec.Size {
		// Read as written, but not copied as it is.
		s.problem(Problem{Kind: Damaged, Offset: rec.Offset, End: rec.Offset + rec.Size, DB: -1, What: fmt.Sprintf("this %s record holds the byte the checksum shows changed; not recovered", rec.Kind)})
		return
	}
	if c := s.content; c != nil && c.doubt(rec.Offset, rec.Offset+rec.Size, s.opts.KeepUnverified) != "" {
		return // not copied
	}
	s.accept(cur, nil, false, false, false)
}

func (s *scanner) lost(db int, key []byte, off int64, why string) {
	s.res.LostCount++
	if s.opts.MaxProblems <= 0 || len(s.res.Lost) < s.opts.MaxProblems {
		s.res.Lost = append(s.res.Lost, LostKey{DB: db, Key: append([]byte(nil), key...), Offset: off, Why: why})
	}
	s.dbSum(db).Lost++
}

func (s *scanner) emit(rec *Record, key []byte, isKey bool) {
	s.res.Records++
	if isKey {
		s.res.Keys++
		s.res.KeyBytes += rec.Size
		d := s.dbSum(rec.DB)
		d.Keys++
		d.Bytes += rec.Size
		if rec.ExpireAt != 0 {
			d.Expires++
		}
		rec.Key = key
	}
	if s.opts.Record != nil {
		s.opts.Record(rec)
	}
}
