package salvage

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/rdbtool/rdbtool/rdb"
)

// Written counts what Salvage wrote.
type Written struct {
	Bytes   int64
	Keys    int64
	Records int64 // records of every kind copied (aux fields, functions, keys...)
}

// Salvage scans a damaged RDB file like Scan and writes to w a valid RDB
// file of the same version holding every record accepted as intact: each
// is copied byte for byte from the input (so the keys, expiries, LRU/LFU
// data and encodings are exactly the original ones), with database
// selections written where the database changes, then an end-of-file
// marker and a fresh checksum. Nothing is written for a key unless its
// whole value decoded and validated. Size hints (RESIZEDB) and cluster
// slot statistics, which would no longer be exact, are left out.
//
// The Result says what was lost. The error is non-nil when the input could
// not be read or the output could not be written; nothing useful is in w
// then.
func Salvage(r io.ReaderAt, size int64, w io.Writer, opts Options) (*Result, Written, error) {
	sw := &salvageWriter{bw: bufio.NewWriterSize(w, 256<<10), curDB: -1}
	user := opts.Record
	var s *scanner
	opts.Record = func(rec *Record) {
		if sw.err == nil {
			sw.err = sw.copy(s, rec)
		}
		if user != nil {
			user(rec)
		}
	}
	if opts.MemLimit == 0 {
		opts.MemLimit = 1 << 62 // every digest in memory: see Options.MemLimit
	}
	s = newScanner(r, size, opts)
	defer s.keys.Close()
	ci, content, err := prepare(r, size, opts)
	if err != nil {
		return s.res, sw.n, err
	}
	s.ci, s.content = ci, content
	sw.start = func() error {
		var hdr []byte
		if s.res.HeaderOK {
			hdr = make([]byte, 9)
			if _, err := s.ra.ReadAt(hdr, 0); err != nil {
				return err
			}
		} else if s.dialect == rdb.DialectValkey {
			hdr = []byte(fmt.Sprintf("VALKEY%03d", s.version))
		} else {
			hdr = []byte(fmt.Sprintf("REDIS%04d", s.version))
		}
		return sw.write(hdr)
	}
	err = s.run()
	if err == nil {
		err = s.lateDuplicates()
	}
	s.finish()
	if err != nil {
		return s.res, sw.n, err
	}
	if sw.err != nil {
		return s.res, sw.n, sw.err
	}
	if !sw.started {
		if err := sw.begin(); err != nil {
			return s.res, sw.n, err
		}
	}
	if err := sw.write([]byte{rdb.OpcodeEOF}); err != nil {
		return s.res, sw.n, err
	}
	if s.version >= 5 {
		var t [8]byte
		binary.LittleEndian.PutUint64(t[:], sw.crc)
		if err := sw.write(t[:]); err != nil {
			return s.res, sw.n, err
		}
	}
	if err := sw.bw.Flush(); err != nil {
		return s.res, sw.n, err
	}
	return s.res, sw.n, nil
}

type salvageWriter struct {
	bw      *bufio.Writer
	crc     uint64
	n       Written
	err     error
	started bool
	start   func() error
	curDB   int
	buf     []byte
}

func (sw *salvageWriter) write(p []byte) error {
	sw.crc = rdb.CRC64(sw.crc, p)
	sw.n.Bytes += int64(len(p))
	_, err := sw.bw.Write(p)
	return err
}

func (sw *salvageWriter) begin() error {
	sw.started = true
	return sw.start()
}

func (sw *salvageWriter) copy(s *scanner, rec *Record) error {
	switch rec.Kind {
	case rdb.KindSelectDB, rdb.KindResizeDB, rdb.KindSlotInfo:
		return nil
	}
	if !sw.started {
		if err := sw.begin(); err != nil {
			return err
		}
	}
	if rec.Kind == rdb.KindKey && rec.DB != sw.curDB {
		b := rdb.AppendLength([]byte{rdb.OpcodeSelectDB}, uint64(rec.DB))
		if err := sw.write(b); err != nil {
			return err
		}
		sw.curDB = rec.DB
	}
	if cap(sw.buf) < 1<<20 {
		sw.buf = make([]byte, 1<<20)
	}
	for off, end := rec.Offset, rec.Offset+rec.Size; off < end; {
		n := end - off
		if n > int64(len(sw.buf)) {
			n = int64(len(sw.buf))
		}
		if _, err := s.ra.ReadAt(sw.buf[:n], off); err != nil {
			return err
		}
		if err := sw.write(sw.buf[:n]); err != nil {
			return err
		}
		off += n
	}
	sw.n.Records++
	if rec.Kind == rdb.KindKey {
		sw.n.Keys++
	}
	return nil
}
