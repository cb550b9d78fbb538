package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/internal/jsontext"
	"github.com/rdbtool/rdbtool/salvage"
)

// checkReport is one line of "rdbtool check --format json": one object per
// file. Field names are those of every rdbtool JSON output (db, key beside
// key_b64, sizes in bytes).
type checkReport struct {
	File         string           `json:"file"`
	Status       string           `json:"status"` // ok, invalid (repeated keys only), damaged, unreadable
	Error        string           `json:"error,omitempty"`
	Dialect      string           `json:"dialect,omitempty"`
	RDBVersion   int              `json:"rdb_version,omitempty"`
	Checksum     string           `json:"checksum,omitempty"`
	Keys         int64            `json:"keys"`
	ProblemCount int              `json:"problem_count"`
	NoteCount    int              `json:"note_count"`
	LostCount    int64            `json:"lost_count"`
	DamagedBytes int64            `json:"damaged_bytes"`
	Damaged      []checkRange     `json:"damaged"`
	HiddenLost   *checkLossBound  `json:"hidden_lost,omitempty"`
	Problems     []checkProblem   `json:"problems"` // at most --max-problems
	Notes        []checkProblem   `json:"notes"`    // at most --max-problems
	LostKeys     []checkLostKey   `json:"lost_keys"`
	DBs          []checkDBSummary `json:"dbs"`
}

type checkRange struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

type checkLossBound struct {
	Min      int64 `json:"min"`
	Max      int64 `json:"max"`
	Exact    bool  `json:"exact"`
	Estimate int64 `json:"estimate"`
}

type checkProblem struct {
	Kind   string  `json:"kind"`
	Offset int64   `json:"offset"`
	End    int64   `json:"end,omitempty"`
	DB     *int    `json:"db,omitempty"` // absent when unknown
	Key    *string `json:"key,omitempty"`
	KeyB64 *string `json:"key_b64,omitempty"`
	What   string  `json:"what"`
}

type checkLostKey struct {
	DB     int     `json:"db"`
	Key    *string `json:"key,omitempty"`
	KeyB64 string  `json:"key_b64"`
	Offset int64   `json:"offset"`
	Why    string  `json:"why"`
}

type checkDBSummary struct {
	DB      int   `json:"db"`
	Keys    int64 `json:"keys"`
	Expires int64 `json:"keys_with_expiry"`
	Lost    int64 `json:"lost"`
}

// keyText is the key as text when it is UTF-8 (the "key" field), else nil.
func keyText(k []byte) *string {
	if !utf8.Valid(k) {
		return nil
	}
	s := string(k)
	return &s
}

func newCheckProblem(p salvage.Problem) checkProblem {
	c := checkProblem{Kind: p.Kind.String(), Offset: p.Offset, What: p.What}
	if p.End > p.Offset {
		c.End = p.End
	}
	if p.DB >= 0 {
		db := p.DB
		c.DB = &db
	}
	if p.Key != nil {
		c.Key = keyText(p.Key)
		b := base64.StdEncoding.EncodeToString(p.Key)
		c.KeyB64 = &b
	}
	return c
}

// fill records the result's figures; status is decided by the caller.
func (c *checkReport) fill(res *salvage.Result) {
	c.Dialect, c.RDBVersion, c.Checksum = res.Dialect.String(), res.Version, res.Checksum.String()
	if res.ChecksumMismatch {
		c.Checksum = "mismatch"
	}
	c.Keys, c.ProblemCount, c.NoteCount = res.Keys, res.ProblemCount, res.NoteCount
	c.LostCount, c.DamagedBytes = res.LostCount, res.DamagedBytes
	for _, d := range res.Damaged {
		c.Damaged = append(c.Damaged, checkRange{d.Start, d.End})
	}
	if res.DamagedBytes > 0 {
		h := res.Hidden
		c.HiddenLost = &checkLossBound{h.Min, h.Max, h.Exact, h.Estimate}
	}
	for _, k := range res.Lost {
		c.LostKeys = append(c.LostKeys, checkLostKey{DB: k.DB, Key: keyText(k.Key), KeyB64: base64.StdEncoding.EncodeToString(k.Key), Offset: k.Offset, Why: k.Why})
	}
	for _, d := range res.DBs {
		c.DBs = append(c.DBs, checkDBSummary{d.DB, d.Keys, d.Expires, d.Lost})
	}
}

// write writes c as one line, with empty lists as [] rather than null.
func (c *checkReport) write(w io.Writer) error {
	for _, l := range []*[]checkProblem{&c.Problems, &c.Notes} {
		if *l == nil {
			*l = []checkProblem{}
		}
	}
	if c.Damaged == nil {
		c.Damaged = []checkRange{}
	}
	if c.LostKeys == nil {
		c.LostKeys = []checkLostKey{}
	}
	if c.DBs == nil {
		c.DBs = []checkDBSummary{}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = w.Write(append(jsontext.EscapeC1(b), '\n'))
	return err
}
