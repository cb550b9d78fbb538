package render

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/internal/jsontext"
)

// CSVHeader is the redis-rdb-tools compatible column list of "rdbtool
// memory --format csv". Its names stay as redis-rdb-tools has them
// ("database", not "db").
var CSVHeader = []string{"database", "type", "key", "size_in_bytes", "encoding", "num_elements", "len_largest_element", "expiry"}

// RowWriter writes one row per key as CSV or JSON Lines.
type RowWriter struct {
	csv  *csv.Writer
	json io.Writer
}

// NewCSVWriter writes the header and returns a writer for rows.
func NewCSVWriter(w io.Writer) (*RowWriter, error) {
	c := csv.NewWriter(w)
	if err := c.Write(CSVHeader); err != nil {
		return nil, err
	}
	return &RowWriter{csv: c}, nil
}

// NewJSONLWriter returns a writer of JSON lines (KeyRow).
func NewJSONLWriter(w io.Writer) *RowWriter {
	return &RowWriter{json: w}
}

// KeyRow is one line of "rdbtool memory --format jsonl". Field names are
// those of every rdbtool JSON output: db, key (the key as text, absent when
// it is not UTF-8) beside key_b64; sizes in bytes.
type KeyRow struct {
	DB                int     `json:"db"`
	Key               *string `json:"key,omitempty"`
	KeyB64            string  `json:"key_b64"`
	Type              string  `json:"type"`
	SizeInBytes       uint64  `json:"size_in_bytes"`
	Encoding          string  `json:"encoding"`
	NumElements       uint64  `json:"num_elements"`
	LenLargestElement *uint64 `json:"len_largest_element"`
	Expiry            string  `json:"expiry"`
	ExpireAtMs        *int64  `json:"expire_at_ms"`
}

// Write writes one key.
func (rw *RowWriter) Write(k *analyze.Key) error {
	expiry := ""
	if k.ExpireAt != 0 {
		expiry = time.UnixMilli(k.ExpireAt).UTC().Format("2006-01-02T15:04:05.000000")
	}
	if rw.csv != nil {
		largest := ""
		if k.LargestKnown {
			largest = u(k.Largest)
		}
		return rw.csv.Write([]string{strconv.Itoa(k.DB), k.Type, string(k.Key), u(k.Bytes), k.Encoding, u(k.Elements), largest, expiry})
	}
	row := KeyRow{DB: k.DB, Type: k.Type, KeyB64: base64.StdEncoding.EncodeToString(k.Key),
		SizeInBytes: k.Bytes, Encoding: k.Encoding, NumElements: k.Elements, Expiry: expiry}
	if utf8.Valid(k.Key) {
		s := string(k.Key)
		row.Key = &s
	}
	if k.LargestKnown {
		l := k.Largest
		row.LenLargestElement = &l
	}
	if k.ExpireAt != 0 {
		e := k.ExpireAt
		row.ExpireAtMs = &e
	}
	b, err := json.Marshal(&row)
	if err != nil {
		return err
	}
	_, err = rw.json.Write(append(jsontext.EscapeC1(b), '\n'))
	return err
}

// Flush flushes buffered CSV output.
func (rw *RowWriter) Flush() error {
	if rw.csv != nil {
		rw.csv.Flush()
		return rw.csv.Error()
	}
	return nil
}
