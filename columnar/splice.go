package columnar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// fileSplicer writes one Parquet file out of whole Parquet files ("parts")
// that encoders produced side by side, each holding some of the columns
// of the same rows: every row group of the output is assembled from one
// row group of each part, column chunks copied as they are (no decoding,
// no second compression) in the order of the output's schema, and the
// footers merged, with every offset moved to where the bytes land.
//
// The output's schema, column orders and key/value metadata are those of
// template, a file of no rows that parquet-go wrote for the whole row
// type with the parts' writer options; it is also the output when no
// row group is added.
//
// The page index (column and offset indexes) goes after the last row
// group and before the footer, where parquet-go puts it: the column
// indexes are copied as they are, the offset indexes re-encoded with the
// page offsets moved.
type fileSplicer struct {
	out      io.Writer
	offset   int64 // bytes written to out
	template []byte
	meta     format.FileMetaData
	columns  []string // leaf column names, in schema order
	// Per row group and column: the column index as the part encoded it,
	// and the offset index moved.
	columnIndexes [][][]byte
	offsetIndexes [][]format.OffsetIndex
}

var parquetMagic = []byte("PAR1")

// errPart is a part that is not a Parquet file as parquet-go writes them;
// it would be a bug in this package, not bad input.
var errPart = errors.New("columnar: encoder produced a malformed Parquet part")

// newFileSplicer returns a splicer to out of files shaped as template.
func newFileSplicer(out io.Writer, template []byte) (*fileSplicer, error) {
	meta, err := partFooter(template)
	if err != nil {
		return nil, err
	}
	s := &fileSplicer{out: out, template: template, meta: *meta}
	// The row types are flat: the schema is the root and its leaves.
	for _, e := range meta.Schema[1:] {
		s.columns = append(s.columns, e.Name)
	}
	return s, nil
}

// partFooter decodes the footer of a whole Parquet file.
func partFooter(part []byte) (*format.FileMetaData, error) {
	n := len(part)
	if n < 12 || string(part[:4]) != "PAR1" || string(part[n-4:]) != "PAR1" {
		return nil, errPart
	}
	size := int(binary.LittleEndian.Uint32(part[n-8:]))
	if size > n-12 {
		return nil, errPart
	}
	meta := new(format.FileMetaData)
	if err := thrift.Unmarshal(new(thrift.CompactProtocol), part[n-8-size:n-8], meta); err != nil {
		return nil, fmt.Errorf("%w: footer: %v", errPart, err)
	}
	return meta, nil
}

// inPart returns part[off:off+n], or an error when that is outside it.
func inPart(part []byte, off int64, n int64) ([]byte, error) {
	if off < 4 || n < 0 || off > int64(len(part)) || n > int64(len(part))-off {
		return nil, errPart
	}
	return part[off : off+n], nil
}

// add appends the row group the parts hold: one row group each, of the
// same rows, whose columns together are the template's.
func (s *fileSplicer) add(parts [][]byte) error {
	if s.offset == 0 {
		if _, err := s.write(parquetMagic); err != nil {
			return err
		}
	}
	type source struct {
		part  []byte
		chunk *format.ColumnChunk
	}
	byName := map[string]source{}
	rg := format.RowGroup{NumRows: -1, Ordinal: int16(len(s.meta.RowGroups))}
	for _, part := range parts {
		meta, err := partFooter(part)
		if err != nil {
			return err
		}
		if len(meta.RowGroups) != 1 || rg.NumRows >= 0 && meta.RowGroups[0].NumRows != rg.NumRows {
			return errPart
		}
		g := &meta.RowGroups[0]
		rg.NumRows = g.NumRows
		rg.TotalByteSize += g.TotalByteSize
		for i := range g.Columns {
			c := &g.Columns[i]
			if len(c.MetaData.PathInSchema) != 1 {
				return errPart
			}
			byName[c.MetaData.PathInSchema[0]] = source{part, c}
		}
	}
	if len(byName) != len(s.columns) {
		return errPart
	}
	colIdx := make([][]byte, len(s.columns))
	offIdx := make([]format.OffsetIndex, len(s.columns))
	for i, name := range s.columns {
		src, ok := byName[name]
		if !ok {
			return errPart
		}
		c, part := src.chunk, src.part
		md := &c.MetaData
		start := md.DataPageOffset
		if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < start {
			start = md.DictionaryPageOffset
		}
		data, err := inPart(part, start, md.TotalCompressedSize)
		if err != nil {
			return err
		}
		at := s.offset
		if i == 0 {
			rg.FileOffset = at
		}
		if _, err := s.write(data); err != nil {
			return err
		}
		rg.TotalCompressedSize += md.TotalCompressedSize
		shift := at - start
		if c.FileOffset != 0 {
			c.FileOffset += shift
		}
		md.DataPageOffset += shift
		if md.DictionaryPageOffset != 0 {
			md.DictionaryPageOffset += shift
		}
		if md.IndexPageOffset != 0 {
			md.IndexPageOffset += shift
		}
		if c.ColumnIndexOffset != 0 {
			b, err := inPart(part, c.ColumnIndexOffset, int64(c.ColumnIndexLength))
			if err != nil {
				return err
			}
			colIdx[i] = bytes.Clone(b) // part is reused
		}
		if c.OffsetIndexOffset != 0 {
			b, err := inPart(part, c.OffsetIndexOffset, int64(c.OffsetIndexLength))
			if err != nil {
				return err
			}
			if err := thrift.Unmarshal(new(thrift.CompactProtocol), b, &offIdx[i]); err != nil {
				return fmt.Errorf("%w: offset index: %v", errPart, err)
			}
			for j := range offIdx[i].PageLocations {
				offIdx[i].PageLocations[j].Offset += shift
			}
		}
		c.ColumnIndexOffset, c.ColumnIndexLength = 0, 0
		c.OffsetIndexOffset, c.OffsetIndexLength = 0, 0
		rg.Columns = append(rg.Columns, *c)
	}
	s.meta.RowGroups = append(s.meta.RowGroups, rg)
	s.meta.NumRows += rg.NumRows
	s.columnIndexes = append(s.columnIndexes, colIdx)
	s.offsetIndexes = append(s.offsetIndexes, offIdx)
	return nil
}

func (s *fileSplicer) write(b []byte) (int, error) {
	n, err := s.out.Write(b)
	s.offset += int64(n)
	return n, err
}

// close writes the page index and the footer; with no row groups added,
// the template.
func (s *fileSplicer) close() error {
	if len(s.meta.RowGroups) == 0 {
		_, err := s.write(s.template)
		return err
	}
	// The column indexes as the parts wrote them (column indexes hold no
	// offsets), then the offset indexes.
	for r, rg := range s.meta.RowGroups {
		for i := range rg.Columns {
			if b := s.columnIndexes[r][i]; b != nil {
				rg.Columns[i].ColumnIndexOffset, rg.Columns[i].ColumnIndexLength = s.offset, int32(len(b))
				if _, err := s.write(b); err != nil {
					return err
				}
			}
		}
	}
	for r, rg := range s.meta.RowGroups {
		for i := range rg.Columns {
			if s.offsetIndexes[r][i].PageLocations == nil {
				continue
			}
			b, err := thrift.Marshal(new(thrift.CompactProtocol), &s.offsetIndexes[r][i])
			if err != nil {
				return err
			}
			rg.Columns[i].OffsetIndexOffset, rg.Columns[i].OffsetIndexLength = s.offset, int32(len(b))
			if _, err := s.write(b); err != nil {
				return err
			}
		}
	}
	footer, err := thrift.Marshal(new(thrift.CompactProtocol), &s.meta)
	if err != nil {
		return err
	}
	footer = binary.LittleEndian.AppendUint32(footer, uint32(len(footer)))
	_, err = s.write(append(footer, parquetMagic...))
	return err
}
