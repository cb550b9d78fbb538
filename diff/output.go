package diff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// WriteJSONL writes one JSON object per differing key: db, key_b64, kind,
// old_type/new_type, ttl (old_expire_at_ms/new_expire_at_ms) when the TTL
// differs, and details for value changes. With summaryOnly it writes the
// Summary as the only line instead.
func WriteJSONL(w io.Writer, res *Result, summaryOnly bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	if summaryOnly {
		if err := enc.Encode(&res.Summary); err != nil {
			return err
		}
		return bw.Flush()
	}
	if err := res.Each(func(kd *KeyDiff) error { return enc.Encode(kd) }); err != nil {
		return err
	}
	return bw.Flush()
}

// WriteJSON writes one document: {"summary": ..., "keys": [...]}.
func WriteJSON(w io.Writer, res *Result, summaryOnly bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString(`{"summary":`)
	b, err := json.Marshal(&res.Summary)
	if err != nil {
		return err
	}
	bw.Write(b)
	if !summaryOnly {
		bw.WriteString(`,"keys":[`)
		first := true
		err := res.Each(func(kd *KeyDiff) error {
			if !first {
				bw.WriteByte(',')
			}
			first = false
			b, err := json.Marshal(kd)
			if err != nil {
				return err
			}
			bw.WriteString("\n")
			_, err = bw.Write(b)
			return err
		})
		if err != nil {
			return err
		}
		bw.WriteString("\n]")
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// show renders bytes for people: quoted, with non-printable bytes
// escaped, cut after n characters.
func show(b []byte, n int) string {
	cut := false
	if len(b) > n {
		b, cut = b[:n], true
		for len(b) > 0 && !utf8.Valid(b) && len(b) > n-4 {
			b = b[:len(b)-1]
		}
	}
	s := strconv.Quote(string(b))
	if cut {
		s += "…"
	}
	return s
}

func showTime(ms int64) string {
	if ms == 0 {
		return "none"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000Z")
}

func pct(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

// WriteText writes the report for people: the verdict and the prefixes
// that lost most first, then tables by db, type and prefix, then each key.
func WriteText(w io.Writer, res *Result, summaryOnly bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	s := &res.Summary
	c := s.Counts
	if s.Same {
		fmt.Fprintf(bw, "SAME: no differences (%d keys compared)\n", s.A.Keys)
	} else {
		fmt.Fprintf(bw, "DIFFERENT: %d keys differ: %d removed, %d added, %d type changed, %d value changed, %d TTL changed\n",
			c.Total(), c.Removed, c.Added, c.TypeChanged, c.ValueChanged, c.TTLChanged)
	}
	// The prefixes that lost the largest share of their keys.
	var lost []Group
	for _, g := range s.ByPrefix {
		if g.Removed > 0 && g.LostFraction() >= 0.5 {
			lost = append(lost, g)
		}
	}
	sort.SliceStable(lost, func(i, j int) bool { return lost[i].Removed > lost[j].Removed })
	if len(lost) > 0 {
		n := min(len(lost), 5)
		fmt.Fprintf(bw, "LOST: %d prefix(es) lost half or more of their keys:\n", len(lost))
		for _, g := range lost[:n] {
			fmt.Fprintf(bw, "  %-30s %d -> %d keys, %d removed (%s of its keys)\n", show([]byte(g.Name), 40), g.KeysA, g.KeysB, g.Removed, pct(g.Removed, g.KeysA))
		}
	}
	for _, d := range s.ByDB {
		if d.KeysA > 0 && d.KeysB == 0 && d.Removed == d.KeysA {
			fmt.Fprintf(bw, "EMPTIED: db %s lost all its %d keys (FLUSHDB?)\n", d.Name, d.KeysA)
		}
	}
	fmt.Fprintf(bw, "\nA: %s (time %s, %d keys compared, %d expired left out)\n", s.A.Name, showTime(s.A.Time), s.A.Keys, s.A.Expired)
	fmt.Fprintf(bw, "B: %s (time %s, %d keys compared, %d expired left out)\n", s.B.Name, showTime(s.B.Time), s.B.Keys, s.B.Expired)
	if s.AsOf != 0 {
		fmt.Fprintf(bw, "Keys and hash fields expired as of %s are left out on both sides.\n", showTime(s.AsOf))
	}
	table := func(title string, gs []Group, limit int) {
		if len(gs) == 0 {
			return
		}
		fmt.Fprintf(bw, "\n%s\n", title)
		tw := tabwriter.NewWriter(bw, 2, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\tkeys A\tkeys B\tremoved\tadded\ttype\tvalue\tttl\tlost\t\n")
		for i, g := range gs {
			if limit > 0 && i == limit {
				fmt.Fprintf(tw, "(%d more)\t\t\t\t\t\t\t\t\t\n", len(gs)-limit)
				break
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", g.Name, g.KeysA, g.KeysB, g.Removed, g.Added, g.TypeChanged, g.ValueChanged, g.TTLChanged, pct(g.Removed, g.KeysA))
		}
		tw.Flush()
	}
	dbs := make([]Group, len(s.ByDB))
	for i, g := range s.ByDB {
		g.Name = "db " + g.Name
		dbs[i] = g
	}
	table("By database:", dbs, 0)
	table("By type:", s.ByType, 0)
	prefixes := make([]Group, len(s.ByPrefix))
	for i, g := range s.ByPrefix {
		g.Name = show([]byte(g.Name), 40)
		prefixes[i] = g
	}
	table("By key prefix (most differences first):", prefixes, 20)
	if summaryOnly || s.Same {
		return bw.Flush()
	}
	fmt.Fprintf(bw, "\nKeys:\n")
	err := res.Each(func(kd *KeyDiff) error {
		writeKeyText(bw, kd)
		return nil
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

var kindMark = map[Kind]string{Removed: "- removed", Added: "+ added  ", TypeChanged: "! type   ", ValueChanged: "~ value  ", TTLChanged: "~ ttl    "}

func writeKeyText(w *bufio.Writer, kd *KeyDiff) {
	fmt.Fprintf(w, "%s db %d %s", kindMark[kd.Kind], kd.DB, show(kd.Key, 120))
	switch kd.Kind {
	case Removed:
		fmt.Fprintf(w, " (%s", kd.OldType)
		if kd.OldExpireAt != 0 {
			fmt.Fprintf(w, ", expires %s", showTime(kd.OldExpireAt))
		}
		w.WriteString(")\n")
	case Added:
		fmt.Fprintf(w, " (%s", kd.NewType)
		if kd.NewExpireAt != 0 {
			fmt.Fprintf(w, ", expires %s", showTime(kd.NewExpireAt))
		}
		w.WriteString(")\n")
	case TypeChanged:
		fmt.Fprintf(w, " (%s -> %s)\n", kd.OldType, kd.NewType)
	default:
		fmt.Fprintf(w, " (%s)\n", kd.OldType)
	}
	if kd.TTL != nil {
		fmt.Fprintf(w, "      ttl: expires %s -> %s\n", showTime(kd.OldExpireAt), showTime(kd.NewExpireAt))
	}
	if d := kd.Details; d != nil {
		writeDetailsText(w, kd.OldType, d)
	}
}

func itemText(it Item) string {
	var parts []string
	if it.Index != nil {
		parts = append(parts, fmt.Sprintf("[%d]", *it.Index))
	}
	if it.ID != "" {
		parts = append(parts, it.ID)
	}
	if it.Member != nil {
		parts = append(parts, show(it.Member, 60))
	}
	if it.Old != nil || it.New != nil {
		parts = append(parts, show(it.Old, 60)+" -> "+show(it.New, 60))
	}
	if it.Value != nil {
		parts = append(parts, "= "+show(it.Value, 60))
	}
	if it.OldScore != nil && it.NewScore != nil {
		parts = append(parts, fmt.Sprintf("score %s -> %s", scoreText(*it.OldScore), scoreText(*it.NewScore)))
	} else if it.OldScore != nil {
		parts = append(parts, "score "+scoreText(*it.OldScore))
	} else if it.NewScore != nil {
		parts = append(parts, "score "+scoreText(*it.NewScore))
	}
	if it.OldExpireAt != nil || it.NewExpireAt != nil {
		var o, n int64
		if it.OldExpireAt != nil {
			o = *it.OldExpireAt
		}
		if it.NewExpireAt != nil {
			n = *it.NewExpireAt
		}
		switch {
		case it.OldExpireAt != nil && it.NewExpireAt != nil || it.Old == nil && it.New == nil && it.Value == nil:
			parts = append(parts, "expires "+showTime(o)+" -> "+showTime(n))
		case it.OldExpireAt != nil:
			parts = append(parts, "(expires "+showTime(o)+")")
		default:
			parts = append(parts, "(expires "+showTime(n)+")")
		}
	}
	return strings.Join(parts, " ")
}

func scoreText(s Score) string {
	b, _ := s.MarshalJSON()
	return strings.Trim(string(b), `"`)
}

func writeDetailsText(w *bufio.Writer, typ string, d *Details) {
	unit := map[string]string{"string": "bytes", "list": "elements", "set": "members", "zset": "members", "hash": "fields", "stream": "entries"}[typ]
	if unit != "" {
		fmt.Fprintf(w, "      %d -> %d %s", d.OldLen, d.NewLen, unit)
		if d.OldSHA256 != "" {
			fmt.Fprintf(w, ", sha256 %s… -> %s…", d.OldSHA256[:12], d.NewSHA256[:12])
		}
		w.WriteString("\n")
	}
	if d.OldPreview != nil || d.NewPreview != nil {
		fmt.Fprintf(w, "      old: %s\n      new: %s\n", show(d.OldPreview, 64), show(d.NewPreview, 64))
	}
	if l := d.List; l != nil {
		fmt.Fprintf(w, "      ends moved: head -%d +%d, tail -%d +%d\n", l.HeadRemoved, l.HeadAdded, l.TailRemoved, l.TailAdded)
	}
	list := func(label string, it *Items) {
		if it == nil {
			return
		}
		fmt.Fprintf(w, "      %s: %d\n", label, it.Count)
		for _, x := range it.Items {
			fmt.Fprintf(w, "        %s\n", itemText(x))
		}
		if int64(len(it.Items)) < it.Count {
			fmt.Fprintf(w, "        … and %d more\n", it.Count-int64(len(it.Items)))
		}
	}
	changed := "changed"
	if typ == "zset" {
		changed = "rescored"
	}
	list("removed", d.Removed)
	list("added", d.Added)
	list(changed, d.Changed)
	list("field TTL changed", d.FieldTTL)
	for _, m := range d.Meta {
		fmt.Fprintf(w, "      %s: %v -> %v\n", m.Name, m.Old, m.New)
	}
	if g := d.Groups; g != nil {
		if len(g.Added) > 0 {
			fmt.Fprintf(w, "      groups added: %s\n", strings.Join(g.Added, ", "))
		}
		if len(g.Removed) > 0 {
			fmt.Fprintf(w, "      groups removed: %s\n", strings.Join(g.Removed, ", "))
		}
		for _, m := range g.Changed {
			fmt.Fprintf(w, "      %s: %v -> %v\n", m.Name, m.Old, m.New)
		}
	}
	if d.Module != nil {
		fmt.Fprintf(w, "      module value: %v -> %v\n", d.Module.Old, d.Module.New)
	}
}
