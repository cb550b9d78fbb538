package diff

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"unsafe"

	"github.com/rdbtool/rdbtool/rdb"
)

// entry is what the first pass keeps per key.
type entry struct {
	dg  digest
	exp int64
	off int64 // the key record's offset in its file, -1 when not known
}

// kv is an entry with its key (db as a uvarint, then the key bytes) kept
// in the table's arena, so that the table holds no pointers.
type kv struct {
	h    uint64 // hash of the key (tableSeed)
	exp  int64
	roff int64 // entry.off
	sum  sum128
	off  uint32 // arena chunk<<arenaChunkBits | offset; for a big key, its index in table.big
	klen uint32 // key length; bigKey set when the key is in table.big
	aux  uint32 // 1 + index of the aux digest in table.aux, 0 for none
	typ  rdb.Type
}

// kvSize is the size of a kv.
const kvSize = int64(unsafe.Sizeof(kv{}))

// mapKey is the map key of a key: its db as a uvarint, then the key.
func mapKey(db int, key []byte) string {
	var b [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(b[:], uint64(db))
	s := make([]byte, n+len(key))
	copy(s, b[:n])
	copy(s[n:], key)
	return string(s)
}

// splitKey splits a table key into db and key (a view into k).
func splitKey(k []byte) (int, []byte) {
	db, n := binary.Uvarint(k)
	return int(db), k[n:]
}

// Partition files hold entries as: uvarint key length, key, type, flags
// (1: has aux), expiry (8 bytes), record offset (8), digest (16), aux
// (16, when flagged).

var partSeeds [16]maphash.Seed

func init() {
	for i := range partSeeds {
		partSeeds[i] = maphash.MakeSeed()
	}
}

const fanout = 32

// partFixed is a partition entry's size past its key, without aux.
const partFixed = 2 + 8 + 8 + 16

type partSet struct {
	dir   string
	level int
	files []*os.File
	w     []*bufio.Writer
	n     []int64
	buf   []byte
}

func newPartSet(dir string, level int) (*partSet, error) {
	p := &partSet{dir: dir, level: level}
	for i := 0; i < fanout; i++ {
		f, err := os.CreateTemp(dir, "rdbdiff-part-*")
		if err != nil {
			p.remove()
			return nil, err
		}
		p.files = append(p.files, f)
		p.w = append(p.w, bufio.NewWriterSize(f, 32<<10))
		p.n = append(p.n, 0)
	}
	return p, nil
}

func (p *partSet) write(k []byte, e *entry) error {
	i := maphash.Bytes(partSeeds[p.level%len(partSeeds)], k) % fanout
	b := binary.AppendUvarint(p.buf[:0], uint64(len(k)))
	b = append(b, k...)
	fl := byte(0)
	if e.dg.hasAux {
		fl = 1
	}
	b = append(b, byte(e.dg.typ), fl)
	b = binary.LittleEndian.AppendUint64(b, uint64(e.exp))
	b = binary.LittleEndian.AppendUint64(b, uint64(e.off))
	b = binary.LittleEndian.AppendUint64(b, e.dg.sum[0])
	b = binary.LittleEndian.AppendUint64(b, e.dg.sum[1])
	if e.dg.hasAux {
		b = binary.LittleEndian.AppendUint64(b, e.dg.aux[0])
		b = binary.LittleEndian.AppendUint64(b, e.dg.aux[1])
	}
	if cap(b) <= 4<<10 {
		p.buf = b
	}
	_, err := p.w[i].Write(b)
	p.n[i]++
	return err
}

// finish flushes the writers and rewinds the files for reading.
func (p *partSet) finish() error {
	for i, w := range p.w {
		if err := w.Flush(); err != nil {
			return err
		}
		if _, err := p.files[i].Seek(0, io.SeekStart); err != nil {
			return err
		}
	}
	p.w = nil
	return nil
}

func (p *partSet) remove() {
	for _, f := range p.files {
		f.Close()
		os.Remove(f.Name())
	}
	p.files = nil
}

func (p *partSet) size(i int) int64 {
	fi, err := p.files[i].Stat()
	if err != nil {
		return 0
	}
	return fi.Size()
}

// readPart calls fn for each entry of a partition file; k is valid
// during the call.
func readPart(f *os.File, fn func(k []byte, e *entry) error) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var kb []byte
	var b [partFixed + 16]byte
	var e entry
	for {
		n, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if uint64(cap(kb)) < n {
			kb = make([]byte, n)
		}
		kb = kb[:n]
		if _, err := io.ReadFull(br, kb); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		if _, err := io.ReadFull(br, b[:partFixed]); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		e = entry{}
		e.dg.typ = rdb.Type(b[0])
		e.dg.hasAux = b[1] == 1
		e.exp = int64(binary.LittleEndian.Uint64(b[2:]))
		e.off = int64(binary.LittleEndian.Uint64(b[10:]))
		e.dg.sum = sum128{binary.LittleEndian.Uint64(b[18:]), binary.LittleEndian.Uint64(b[26:])}
		if e.dg.hasAux {
			if _, err := io.ReadFull(br, b[partFixed:]); err != nil {
				return fmt.Errorf("spill file: %w", err)
			}
			e.dg.aux = sum128{binary.LittleEndian.Uint64(b[34:]), binary.LittleEndian.Uint64(b[42:])}
		}
		if err := fn(kb, &e); err != nil {
			return err
		}
	}
}

// partCount is a partition's entry count.
func (p *partSet) count(i int) int64 { return p.n[i] }

// diffRec is a difference as stored in the differences file.
type diffRec struct {
	db         int
	key        []byte
	kind       Kind
	typA, typB rdb.Type
	expA, expB int64
	offA, offB int64 // offset+1 of the key's record in each file, 0 unknown
	ttl        bool  // the TTL differs too (value_changed)
	confirm    bool  // only hash field TTLs differ: the detail pass decides
	detail     int64 // offset+1 of the details in the details file, 0 none
}

var kindCodes = map[Kind]byte{Added: 1, Removed: 2, TypeChanged: 3, ValueChanged: 4, TTLChanged: 5}
var codeKinds = map[byte]Kind{1: Added, 2: Removed, 3: TypeChanged, 4: ValueChanged, 5: TTLChanged}

type diffWriter struct {
	f        *os.File
	w        *bufio.Writer
	n        int64
	keyBytes int64 // the keys' lengths, summed
	b        []byte
}

func newDiffWriter(dir string) (*diffWriter, error) {
	f, err := os.CreateTemp(dir, "rdbdiff-diffs-*")
	if err != nil {
		return nil, err
	}
	return &diffWriter{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (d *diffWriter) write(r *diffRec) error {
	b := d.b[:0]
	b = binary.AppendUvarint(b, uint64(r.db))
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	var fl byte
	if r.ttl {
		fl |= 1
	}
	if r.confirm {
		fl |= 2
	}
	b = append(b, kindCodes[r.kind], byte(r.typA), byte(r.typB), fl)
	b = binary.AppendVarint(b, r.expA)
	b = binary.AppendVarint(b, r.expB)
	b = binary.AppendVarint(b, r.detail)
	b = binary.AppendVarint(b, r.offA)
	b = binary.AppendVarint(b, r.offB)
	d.b = b
	d.n++
	d.keyBytes += int64(len(r.key))
	_, err := d.w.Write(b)
	return err
}

// done flushes and returns the file, rewound.
func (d *diffWriter) done() (*os.File, error) {
	if err := d.w.Flush(); err != nil {
		return nil, err
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return d.f, nil
}

func readDiffs(f *os.File, fn func(r *diffRec) error) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var r diffRec
	for {
		db, err := binary.ReadUvarint(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return err
		}
		r.db = int(db)
		r.key = make([]byte, n)
		var h [4]byte
		if _, err := io.ReadFull(br, r.key); err != nil {
			return err
		}
		if _, err := io.ReadFull(br, h[:]); err != nil {
			return err
		}
		r.kind, r.typA, r.typB = codeKinds[h[0]], rdb.Type(h[1]), rdb.Type(h[2])
		r.ttl, r.confirm = h[3]&1 != 0, h[3]&2 != 0
		if r.expA, err = binary.ReadVarint(br); err != nil {
			return err
		}
		if r.expB, err = binary.ReadVarint(br); err != nil {
			return err
		}
		if r.detail, err = binary.ReadVarint(br); err != nil {
			return err
		}
		if r.offA, err = binary.ReadVarint(br); err != nil {
			return err
		}
		if r.offB, err = binary.ReadVarint(br); err != nil {
			return err
		}
		if r.kind == "" {
			return errors.New("differences file is corrupt")
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
}

func removeFile(f *os.File) {
	if f != nil {
		f.Close()
		os.Remove(f.Name())
	}
}
