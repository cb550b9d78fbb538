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
// that encoders produced side by side, each holding the next row groups:
// the parts' column chunks are copied as they are (no decoding, no second
// compression) and their footers merged, with every offset moved to where
// the bytes land. The parts must share one schema and writer options.
//
// The page index (column and offset indexes) goes after the last row
// group and before the footer, where parquet-go puts it: the column
// indexes are copied as they are, the offset indexes re-encoded with the
// page offsets moved.
type fileSplicer struct {
	out    io.Writer
	offset int64 // bytes written to out
	meta   format.FileMetaData
	parts  int
	// Per row group and column: the column index as the part encoded it,
	// and the offset index moved.
	columnIndexes [][][]byte
	offsetIndexes [][]format.OffsetIndex
}

var parquetMagic = []byte("PAR1")

// errPart is a part that is not a Parquet file as parquet-go writes them;
// it would be a bug in this package, not bad input.
var errPart = errors.New("columnar: encoder produced a malformed Parquet part")

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

// add appends the row groups of one part.
func (s *fileSplicer) add(part []byte) error {
	meta, err := partFooter(part)
	if err != nil {
		return err
	}
	if s.parts == 0 {
		if _, err := s.write(parquetMagic); err != nil {
			return err
		}
		s.meta = *meta
		s.meta.RowGroups, s.meta.NumRows = nil, 0
	}
	s.parts++
	if len(meta.RowGroups) == 0 {
		return nil
	}
	// The row groups' pages are one run of bytes, from the first column
	// chunk of the first row group to the end of the last.
	start, end := int64(len(part)), int64(0)
	for _, rg := range meta.RowGroups {
		for i := range rg.Columns {
			md := &rg.Columns[i].MetaData
			first := md.DataPageOffset
			if md.DictionaryPageOffset > 0 && md.DictionaryPageOffset < first {
				first = md.DictionaryPageOffset
			}
			start, end = min(start, first), max(end, first+md.TotalCompressedSize)
		}
	}
	data, err := inPart(part, start, end-start)
	if err != nil {
		return err
	}
	at := s.offset
	if _, err := s.write(data); err != nil {
		return err
	}
	shift := at - start
	for _, rg := range meta.RowGroups {
		rg.FileOffset += shift
		rg.Ordinal = int16(len(s.meta.RowGroups))
		colIdx := make([][]byte, len(rg.Columns))
		offIdx := make([]format.OffsetIndex, len(rg.Columns))
		for i := range rg.Columns {
			c := &rg.Columns[i]
			if c.FileOffset != 0 {
				c.FileOffset += shift
			}
			c.MetaData.DataPageOffset += shift
			if c.MetaData.DictionaryPageOffset != 0 {
				c.MetaData.DictionaryPageOffset += shift
			}
			if c.MetaData.IndexPageOffset != 0 {
				c.MetaData.IndexPageOffset += shift
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
		}
		s.meta.RowGroups = append(s.meta.RowGroups, rg)
		s.meta.NumRows += rg.NumRows
		s.columnIndexes = append(s.columnIndexes, colIdx)
		s.offsetIndexes = append(s.offsetIndexes, offIdx)
	}
	return nil
}

func (s *fileSplicer) write(b []byte) (int, error) {
	n, err := s.out.Write(b)
	s.offset += int64(n)
	return n, err
}

// close writes the page index and the footer. At least one part must
// have been added.
func (s *fileSplicer) close() error {
	if s.parts == 0 {
		return errPart
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
