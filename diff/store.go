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
}

// kv is an entry with its key (db as a uvarint, then the key bytes) kept
// in the side's arena, so that the table holds no pointers.
type kv struct {
	h    uint64 // hash of the key: the sort order for the merge
	off  int64
	klen int32
	aux  int32 // 1 + index of the aux digest in table.aux, 0 for none
	exp  int64
	sum  [32]byte
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
// (1: has aux), expiry (8 bytes), digest (32), aux (32, when flagged).

var partSeeds [16]maphash.Seed

func init() {
	for i := range partSeeds {
		partSeeds[i] = maphash.MakeSeed()
	}
}

const fanout = 32

type partSet struct {
	dir   string
	level int
	files []*os.File
	w     []*bufio.Writer
	n     []int64
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
	w := p.w[i]
	var b [binary.MaxVarintLen64 + 2 + 8 + 64]byte
	n := binary.PutUvarint(b[:], uint64(len(k)))
	w.Write(b[:n])
	w.Write(k)
	b[0] = byte(e.dg.typ)
	b[1] = 0
	if e.dg.hasAux {
		b[1] = 1
	}
	binary.LittleEndian.PutUint64(b[2:], uint64(e.exp))
	copy(b[10:], e.dg.sum[:])
	n = 42
	if e.dg.hasAux {
		copy(b[42:], e.dg.aux[:])
		n = 74
	}
	_, err := w.Write(b[:n])
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
	var b [74]byte
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
		if _, err := io.ReadFull(br, b[:42]); err != nil {
			return fmt.Errorf("spill file: %w", err)
		}
		var e entry
		e.dg.typ = rdb.Type(b[0])
		e.dg.hasAux = b[1] == 1
		e.exp = int64(binary.LittleEndian.Uint64(b[2:]))
		copy(e.dg.sum[:], b[10:42])
		if e.dg.hasAux {
			if _, err := io.ReadFull(br, e.dg.aux[:]); err != nil {
				return fmt.Errorf("spill file: %w", err)
			}
		}
		if err := fn(kb, &e); err != nil {
			return err
		}
	}
}

// diffRec is a difference as stored in the differences file.
type diffRec struct {
	db         int
	key        []byte
	kind       Kind
	typA, typB rdb.Type
	expA, expB int64
	ttl        bool  // the TTL differs too (value_changed)
	confirm    bool  // only hash field TTLs differ: the detail pass decides
	detail     int64 // offset+1 of the details in the details file, 0 none
}

var kindCodes = map[Kind]byte{Added: 1, Removed: 2, TypeChanged: 3, ValueChanged: 4, TTLChanged: 5}
var codeKinds = map[byte]Kind{1: Added, 2: Removed, 3: TypeChanged, 4: ValueChanged, 5: TTLChanged}

type diffWriter struct {
	f *os.File
	w *bufio.Writer
	n int64
	b []byte
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
	d.b = b
	d.n++
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
