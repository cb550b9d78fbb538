package rdb_test

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	hdtcore "github.com/hdt3213/rdb/core"
	hdtmodel "github.com/hdt3213/rdb/model"

	"github.com/rdbtool/rdbtool/internal/corpustest"
	"github.com/rdbtool/rdbtool/rdb"
)

// Differential test against github.com/hdt3213/rdb v1.3.2, an independent
// Go RDB parser: every file both parsers read must give the same keys,
// types, expiries and values. hdt3213 does not verify checksums and stops
// at RDB 12, so files it refuses are only counted.

// hdtKey is one key as hdt3213 decoded it, in our canonical form.
type hdtKey struct {
	DB       int
	Key      string
	Type     string
	ExpireAt int64
	Value    tpCanon
	Version  uint // streams: hdt3213's layout version
}

func hdtParse(path string) (keys []hdtKey, err error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	// hdt3213 prints a line to stdout for module types it has no handler
	// for; keep the test output clean.
	stdout := os.Stdout
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		os.Stdout = devnull
		defer func() { os.Stdout = stdout; devnull.Close() }()
	}
	dec := hdtcore.NewDecoder(fh)
	err = dec.Parse(func(o hdtmodel.RedisObject) bool {
		k := hdtKey{DB: o.GetDBIndex(), Key: strings.Clone(o.GetKey()), Type: o.GetType()}
		if exp := o.GetExpiration(); exp != nil {
			k.ExpireAt = exp.UnixMilli()
		}
		c := tpCanon{Type: o.GetType()}
		switch v := o.(type) {
		case *hdtmodel.StringObject:
			c.Str = string(v.Value)
		case *hdtmodel.ListObject:
			c.List = []string{}
			for _, it := range v.Values {
				c.List = append(c.List, string(it))
			}
		case *hdtmodel.SetObject:
			c.Set = []string{}
			for _, it := range v.Members {
				c.Set = append(c.Set, string(it))
			}
			sort.Strings(c.Set)
		case *hdtmodel.HashObject:
			c.Hash = map[string]string{}
			for f, val := range v.Hash {
				c.Hash[strings.Clone(f)] = string(val)
			}
			for f, at := range v.FieldExpirations {
				if at != 0 {
					if c.HashTTL == nil {
						c.HashTTL = map[string]int64{}
					}
					c.HashTTL[strings.Clone(f)] = at
				}
			}
		case *hdtmodel.ZSetObject:
			c.ZSet = map[string]float64{}
			for _, e := range v.Entries {
				c.ZSet[strings.Clone(e.Member)] = e.Score
			}
		case *hdtmodel.StreamObject:
			k.Version = v.Version
			c.Stream = hdtStream(v)
		case *hdtmodel.ModuleTypeObject:
			c = tpCanon{Type: "module"}
			k.Type = "module:" + v.ModuleType
		default:
			return true // aux, dbsize, functions: not requested
		}
		k.Value = c
		keys = append(keys, k)
		return true
	})
	return keys, err
}

func hdtID(id *hdtmodel.StreamId) string {
	if id == nil {
		return ""
	}
	return fmt.Sprintf("%d-%d", id.Ms, id.Sequence)
}

func hdtStream(v *hdtmodel.StreamObject) *tpStream {
	st := &tpStream{
		Entries:      []tpStreamEntry{},
		Length:       v.Length,
		LastID:       hdtID(v.LastId),
		FirstID:      hdtID(v.FirstId),
		MaxDeletedID: hdtID(v.MaxDeletedId),
		EntriesAdded: v.AddedEntriesCount,
		Groups:       []tpGroup{},
	}
	for _, n := range v.Entries {
		for _, m := range n.Msgs {
			if m.Deleted {
				continue
			}
			e := tpStreamEntry{ID: hdtID(m.Id), Fields: map[string]string{}}
			for f, val := range m.Fields {
				e.Fields[strings.Clone(f)] = strings.Clone(val)
			}
			st.Entries = append(st.Entries, e)
		}
	}
	for _, g := range v.Groups {
		tg := tpGroup{Name: strings.Clone(g.Name), LastID: hdtID(g.LastId), EntriesRead: int64(g.EntriesRead), Pending: []tpPending{}, Consumers: []tpConsumer{}}
		for _, p := range g.Pending {
			tg.Pending = append(tg.Pending, tpPending{hdtID(p.Id), int64(p.DeliveryTime), p.DeliveryCount})
		}
		for _, c := range g.Consumers {
			tc := tpConsumer{Name: strings.Clone(c.Name), SeenTime: int64(c.SeenTime), ActiveTime: int64(c.ActiveTime), Pending: []string{}}
			for _, id := range c.Pending {
				tc.Pending = append(tc.Pending, hdtID(id))
			}
			tg.Consumers = append(tg.Consumers, tc)
		}
		st.Groups = append(st.Groups, tg)
	}
	return st
}

// ourKeys reads a file with our reader in the same canonical form.
func ourKeys(path string, opts ...rdb.Option) ([]hdtKey, error) {
	f, _, err := tpRead(path, opts...)
	if f == nil {
		return nil, err
	}
	var out []hdtKey
	for _, k := range f.Keys {
		h := hdtKey{DB: k.DB, Key: k.Key, Type: k.Type.String(), ExpireAt: k.ExpireAt}
		if k.Type == rdb.TypeModule {
			h.Type = "module:" + k.Value.Module.Name
			h.Value = tpCanon{Type: "module"}
		} else {
			h.Value = tpCanonOf(k.Value, false)
		}
		out = append(out, h)
	}
	return out, err
}

// hdtNormalize adapts our stream metadata to what hdt3213's model can
// hold: it has no "absent" values, and reports fields a stream layout does
// not store the way Redis fills them in when it loads such a file.
func hdtNormalize(ours *tpCanon, theirs hdtKey) {
	s := ours.Stream
	if s == nil {
		return
	}
	if theirs.Version < 2 {
		// Type 15 has no first ID, max deleted ID or entries-added counter.
		s.FirstID, s.MaxDeletedID, s.EntriesAdded = "", "", 0
	}
	for gi := range s.Groups {
		g := &s.Groups[gi]
		if g.EntriesRead < 0 {
			g.EntriesRead = 0 // not stored before type 19; hdt3213 has 0
		}
		for ci := range g.Consumers {
			if g.Consumers[ci].ActiveTime < 0 {
				// Not stored before type 21; hdt3213 reports the seen time.
				g.Consumers[ci].ActiveTime = g.Consumers[ci].SeenTime
			}
		}
	}
}

// hdtKnownDefect returns why a difference between hdt3213 and us is a
// defect of hdt3213 v1.3.2 that the corpus ground truth shows, or "".
// Every file hdt3213 reads agrees with us today, so there are no entries;
// a new one must name the defect and match only its exact pattern.
func hdtKnownDefect(file string, ours, theirs hdtKey) string {
	return ""
}

type diffStats struct {
	files, hdtFailed, keys, values int
	known                          map[string]int
	failures                       []string
}

func diffOneFile(t *testing.T, name, path string, st *diffStats, opts ...rdb.Option) {
	theirs, herr := hdtParse(path)
	ours, err := ourKeys(path, opts...)
	if herr != nil {
		st.hdtFailed++
		st.failures = append(st.failures, fmt.Sprintf("%s: %v", name, herr))
		if err != nil && name != "librdb/future_v19.rdb" {
			t.Errorf("%s: hdt3213 fails (%v) and so do we: %v", name, herr, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: hdt3213 reads it, we fail: %v", name, err)
		return
	}
	st.files++
	key := func(k hdtKey) string { return fmt.Sprintf("%d/%q", k.DB, k.Key) }
	byKey := map[string]hdtKey{}
	for _, k := range theirs {
		byKey[key(k)] = k
	}
	if len(ours) != len(theirs) {
		t.Errorf("%s: we read %d keys, hdt3213 %d", name, len(ours), len(theirs))
	}
	for _, o := range ours {
		h, ok := byKey[key(o)]
		if !ok {
			t.Errorf("%s: key %s: hdt3213 does not have it", name, key(o))
			continue
		}
		o.Version = h.Version // hdt3213 bookkeeping, not a value
		hdtNormalize(&o.Value, h)
		if reflect.DeepEqual(o, h) {
			st.keys++
			st.values += tpCount(o.Value)
			continue
		}
		if why := hdtKnownDefect(name, o, h); why != "" {
			st.known[why]++
			st.keys++
			continue
		}
		t.Errorf("%s: key %s differs: %s", name, key(o), tpDiff(o, h))
	}
}

func TestDifferentialHDT3213(t *testing.T) {
	st := &diffStats{known: map[string]int{}}
	for _, f := range corpustest.Files(t) {
		diffOneFile(t, f.Name, f.RDB, st)
	}
	corpusFiles, corpusFailed := st.files, st.hdtFailed
	for _, path := range tpThirdPartyFiles(t) {
		name := tpRel(path)
		var opts []rdb.Option
		switch name {
		case "librdb/invalid_chksum_v8.rdb":
			// hdt3213 does not check the CRC; compare the content.
			opts = append(opts, rdb.WithoutChecksum())
		}
		diffOneFile(t, name, path, st, opts...)
	}
	t.Logf("corpus: %d files compared, %d refused by hdt3213", corpusFiles, corpusFailed)
	t.Logf("third-party: %d files compared, %d refused by hdt3213", st.files-corpusFiles, st.hdtFailed-corpusFailed)
	t.Logf("total: %d files, %d keys compared (%d values equal); hdt3213 failed on %d files", st.files, st.keys, st.values, st.hdtFailed)
	if st.files < 120 || st.keys < 300 {
		t.Errorf("only %d files and %d keys compared", st.files, st.keys)
	}
	for why, n := range st.known {
		t.Logf("known hdt3213 defect on %d keys: %s", n, why)
	}
	for _, f := range st.failures {
		t.Logf("hdt3213 failed: %s", f)
	}
}
