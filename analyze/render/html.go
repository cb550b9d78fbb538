package render

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/internal/display"
)

// HTML writes the report as one self-contained HTML page: inline CSS,
// inline SVG charts computed here, and a few lines of inline script to sort
// tables. It loads nothing from the network. The page shows memory by key
// prefix as a treemap, totals by type and encoding, the TTL histogram, the
// per-file breakdown, databases, the biggest keys and the LFU hot keys.
func HTML(w io.Writer, r *analyze.Report) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	h := &htmlWriter{w: bw}
	h.page(r)
	if h.err != nil {
		return h.err
	}
	return bw.Flush()
}

type htmlWriter struct {
	w   *bufio.Writer
	err error
}

func (h *htmlWriter) p(format string, args ...any) {
	if h.err != nil {
		return
	}
	if len(args) == 0 {
		_, h.err = h.w.WriteString(format)
		return
	}
	_, h.err = fmt.Fprintf(h.w, format, args...)
}

// esc escapes text for element content and attribute values. Key names
// and aux values are bytes, not text: control characters and bytes that are
// not UTF-8 are shown as \xNN, so the page stays valid UTF-8 and nothing
// from the data reaches the page as markup or control characters.
func esc(s string) string {
	clean := utf8.ValidString(s)
	for i := 0; clean && i < len(s); i++ {
		clean = s[i] >= 0x20 && s[i] != 0x7f || s[i] == '\t' || s[i] == '\n'
	}
	if !clean || hasC1(s) {
		var b strings.Builder
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && n == 1) || (r < 0x20 && r != '\t' && r != '\n') || (r >= 0x7f && r < 0xa0) {
				for _, c := range []byte(s[i : i+n]) {
					fmt.Fprintf(&b, "\\x%02x", c)
				}
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		}
		s = b.String()
	}
	return html.EscapeString(s)
}

// hasC1 reports whether s holds a C1 control character (U+0080-U+009F).
func hasC1(s string) bool {
	for _, r := range s {
		if r >= 0x80 && r < 0xa0 {
			return true
		}
	}
	return false
}

func pct(part, whole uint64) string {
	if whole == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*float64(part)/float64(whole), 'f', 1, 64) + "%"
}

// palette holds well-separated hues for top-level groups.
var palette = []int{210, 28, 140, 350, 265, 45, 185, 315, 95, 0, 235, 160}

func hue(i int) int { return palette[i%len(palette)] }

const htmlStyle = `
:root{--fg:#1d2430;--muted:#5b6576;--line:#dfe3ea;--bg:#f6f7f9;--card:#fff;--accent:#2f6fdb}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#18202d;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:20px;font-weight:600}
header .sub{color:#aab4c4;font-size:13px}
main{padding:18px 28px 40px;max-width:1400px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:0 0 18px}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:14px 0 6px;color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 18px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:150px;flex:1}
.card .v{font-size:22px;font-weight:600}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid section{margin:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{background:#eef1f5;font-weight:600;cursor:pointer;user-select:none}
th:first-child,td:first-child,td.t,th.t{text-align:left}
td.key{font-family:ui-monospace,Menlo,Consolas,monospace;max-width:420px;overflow:hidden;text-overflow:ellipsis}
tr:hover td{background:#f3f6fb}
.note{color:var(--muted);font-size:12px;margin:6px 0 0}
svg text{font-family:inherit}
.tm rect{stroke:#fff;stroke-width:1}
.tm text{fill:#fff;font-size:11px;pointer-events:none}
.tm text.g{font-size:12px;font-weight:600}
.bar{fill:var(--accent)}
.bar2{fill:#e0892b}
.axis{stroke:#9aa3b2;stroke-width:1}
.lbl{fill:var(--muted);font-size:11px}
.val{fill:var(--fg);font-size:11px}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:middle}
@media (max-width:1000px){.grid{grid-template-columns:1fr}}
`

// htmlScript sorts a table when its header is clicked (numbers by the
// data-v attribute when present).
const htmlScript = `//<![CDATA[
document.querySelectorAll("table.sort").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){
    th.addEventListener("click",function(){
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
      var desc=th.getAttribute("data-desc")!=="1";
      th.setAttribute("data-desc",desc?"1":"0");
      rows.sort(function(a,b){
        var x=a.cells[i],y=b.cells[i];
        var vx=x.getAttribute("data-v"),vy=y.getAttribute("data-v");
        var c=(vx!==null)?(parseFloat(vx)-parseFloat(vy)):x.textContent.localeCompare(y.textContent);
        return desc?-c:c;
      });
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
//]]>`

func (h *htmlWriter) page(r *analyze.Report) {
	title := "rdbtool memory report"
	if len(r.Files) == 1 {
		title += ": " + r.Files[0].Name
	} else if len(r.Files) > 1 {
		title += ": " + strconv.Itoa(len(r.Files)) + " files"
	}
	h.p("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	h.p("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	h.p("<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n", esc(title), htmlStyle)
	var servers []string
	seen := map[string]bool{}
	for _, f := range r.Files {
		if !seen[f.Server] {
			seen[f.Server] = true
			servers = append(servers, f.Server)
		}
	}
	h.p("<header><h1>%s</h1><div class=\"sub\">Estimated MEMORY USAGE per key &#183; model %s &#183; allocator %s &#183; schema %d</div></header>\n<main>\n",
		esc(title), esc(strings.Join(servers, ", ")), esc(r.Allocator), r.SchemaVersion)
	h.cards(r)
	h.treemapSection(r)
	h.p("<div class=\"grid\">\n")
	h.typesSection(r)
	h.ttlSection(r)
	h.p("</div>\n<div style=\"height:18px\"></div>\n")
	h.filesSection(r)
	h.bigKeysSection(r)
	h.hotKeysSection(r)
	h.prefixTableSection(r)
	h.modulesSection(r)
	h.p("</main>\n<script>%s</script>\n</body>\n</html>\n", htmlScript)
}

func (h *htmlWriter) cards(r *analyze.Report) {
	t := &r.Totals
	var bytes int64
	for _, f := range r.Files {
		bytes += f.Bytes
	}
	h.p("<div class=\"cards\">\n")
	card := func(v, l string) {
		h.p("<div class=\"card\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>\n", esc(v), esc(l))
	}
	card(display.Bytes(t.Memory), "estimated memory")
	card(display.Bytes(r.Load.UsedMemory), "used_memory once loaded ("+r.Load.Server+", "+r.Load.Allocator+")")
	var usedMem uint64
	for _, f := range r.Files {
		usedMem += f.UsedMemAux
	}
	if usedMem > 0 {
		card(display.Bytes(usedMem), "used-mem in the file (the writing server's used_memory when it saved)")
	}
	card(display.Count(t.Keys), "keys")
	card(display.Count(t.Elements), "elements")
	card(display.Bytes(uint64(bytes)), "RDB size ("+strconv.Itoa(len(r.Files))+" file"+plural(len(r.Files))+")")
	card(pct(t.WithTTL, t.Keys), "keys with a TTL")
	card(display.Count(t.Expired), "expired at snapshot")
	h.p("</div>\n")
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// tmNode is one treemap rectangle.
type tmNode struct {
	Label    string
	Memory   uint64
	Keys     uint64
	Group    int // index of the top-level group (colour)
	Level    int // 1: group, 2: child
	X, Y     float64
	W, H     float64
	Children []*tmNode
}

const (
	tmWidth    = 1300.0
	tmHeight   = 560.0
	tmGroups   = 40 // top-level rectangles before "other"
	tmChildren = 24 // children per group before "other"
)

// treemap lays memory by prefix out as a squarified treemap: top-level
// prefixes, each split into its second-level prefixes. The collapsed tail
// and what the table does not account for get rectangles of their own.
func treemap(r *analyze.Report) []*tmNode {
	var groups []*tmNode
	byPrefix := map[string]*tmNode{}
	for _, row := range r.Prefixes.Rows {
		if row.Level != 1 {
			continue
		}
		label := row.Prefix
		if label == "" {
			label = "(no separator)"
		}
		g := &tmNode{Label: label, Memory: row.Memory, Keys: row.Keys, Level: 1}
		groups = append(groups, g)
		byPrefix[row.Prefix] = g
	}
	var accounted uint64
	for _, g := range groups {
		accounted += g.Memory
	}
	// Second level: a level-2 prefix belongs to the level-1 prefix it
	// starts with (the longest such).
	for _, row := range r.Prefixes.Rows {
		if row.Level != 2 {
			continue
		}
		var parent *tmNode
		for i := len(row.Prefix) - 2; i >= 0; i-- {
			if strings.ContainsRune(r.Prefixes.Separators, rune(row.Prefix[i])) {
				parent = byPrefix[row.Prefix[:i+1]]
				break
			}
		}
		if parent == nil {
			continue
		}
		parent.Children = append(parent.Children, &tmNode{Label: row.Prefix, Memory: row.Memory, Keys: row.Keys, Level: 2})
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Memory > groups[j].Memory })
	if len(groups) > tmGroups {
		other := &tmNode{Label: "(other prefixes)", Level: 1}
		for _, g := range groups[tmGroups:] {
			other.Memory += g.Memory
			other.Keys += g.Keys
		}
		groups = append(groups[:tmGroups], other)
	}
	if r.Totals.Memory > accounted && r.Prefixes.Depth > 0 {
		groups = append(groups, &tmNode{Label: "(collapsed tail)", Memory: r.Totals.Memory - accounted, Level: 1})
	}
	if len(groups) == 0 && r.Totals.Memory > 0 {
		groups = append(groups, &tmNode{Label: "(all keys)", Memory: r.Totals.Memory, Keys: r.Totals.Keys, Level: 1})
	}
	var vals []float64
	kept := groups[:0]
	for _, g := range groups {
		if g.Memory > 0 {
			kept = append(kept, g)
		}
	}
	groups = kept
	for _, g := range groups {
		vals = append(vals, float64(g.Memory))
	}
	rects := squarify(vals, 0, 0, tmWidth, tmHeight)
	for i, g := range groups {
		g.Group = i
		g.X, g.Y, g.W, g.H = rects[i][0], rects[i][1], rects[i][2], rects[i][3]
		ch := g.Children
		g.Children = nil
		sort.SliceStable(ch, func(i, j int) bool { return ch[i].Memory > ch[j].Memory })
		var sum uint64
		for _, c := range ch {
			sum += c.Memory
		}
		if len(ch) == 0 || g.W < 30 || g.H < 36 {
			continue
		}
		// The children beyond the first few, and what the level-2 rows do
		// not account for (keys with one segment, the collapsed tail),
		// share one rectangle.
		var other tmNode
		if len(ch) > tmChildren {
			for _, c := range ch[tmChildren:] {
				other.Memory += c.Memory
				other.Keys += c.Keys
			}
			ch = ch[:tmChildren]
		}
		if sum < g.Memory {
			other.Memory += g.Memory - sum
			other.Keys = g.Keys
			for _, c := range ch {
				other.Keys -= min(other.Keys, c.Keys)
			}
		}
		if other.Memory > 0 {
			other.Label, other.Level = g.Label+"* (other)", 2
			ch = append(ch, &other)
		}
		// Leave a strip for the group's label.
		const pad, head = 2.0, 16.0
		var cv []float64
		var cn []*tmNode
		for _, c := range ch {
			if c.Memory > 0 {
				cv = append(cv, float64(c.Memory))
				cn = append(cn, c)
			}
		}
		cr := squarify(cv, g.X+pad, g.Y+head, g.W-2*pad, g.H-head-pad)
		for j, c := range cn {
			c.Group = i
			c.X, c.Y, c.W, c.H = cr[j][0], cr[j][1], cr[j][2], cr[j][3]
		}
		g.Children = cn
	}
	return groups
}

// squarify lays vals (largest first) out in the rectangle x, y, w, h with
// the squarified treemap algorithm; it returns x, y, w, h for each.
func squarify(vals []float64, x, y, w, h float64) [][4]float64 {
	out := make([][4]float64, len(vals))
	var total float64
	for _, v := range vals {
		total += v
	}
	if total <= 0 || w <= 0 || h <= 0 {
		return out
	}
	areas := make([]float64, len(vals))
	for i, v := range vals {
		areas[i] = v * w * h / total
	}
	worst := func(row []float64, side float64) float64 {
		var s, mx float64
		mn := math.Inf(1)
		for _, a := range row {
			s += a
			mx = max(mx, a)
			mn = min(mn, a)
		}
		if s == 0 || mn == 0 {
			return math.Inf(1)
		}
		return max(side*side*mx/(s*s), s*s/(side*side*mn))
	}
	for i := 0; i < len(areas); {
		side := min(w, h)
		j := i + 1
		best := worst(areas[i:j], side)
		for j < len(areas) {
			nw := worst(areas[i:j+1], side)
			if nw > best {
				break
			}
			best = nw
			j++
		}
		var rowSum float64
		for _, a := range areas[i:j] {
			rowSum += a
		}
		if j == len(areas) {
			rowSum = w * h // the last row takes what is left (rounding)
		}
		if w >= h {
			cw := rowSum / h
			yy := y
			for k := i; k < j; k++ {
				hh := areas[k] / cw
				if k == j-1 {
					hh = y + h - yy
				}
				out[k] = [4]float64{x, yy, cw, hh}
				yy += hh
			}
			x += cw
			w -= cw
		} else {
			rh := rowSum / w
			xx := x
			for k := i; k < j; k++ {
				ww := areas[k] / rh
				if k == j-1 {
					ww = x + w - xx
				}
				out[k] = [4]float64{xx, y, ww, rh}
				xx += ww
			}
			y += rh
			h -= rh
		}
		i = j
	}
	return out
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// fitText shortens s to fit width w at about 7 pixels a character.
func fitText(s string, w float64) string {
	n := int((w - 8) / 7)
	if n <= 0 {
		return ""
	}
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	if n <= 1 {
		return ""
	}
	return string(rs[:n-1]) + "…"
}

// fitTextLeft shortens s from the left (paths keep their file name).
func fitTextLeft(s string, w float64) string {
	n := int((w - 6) / 6.5)
	rs := []rune(s)
	if n <= 1 || len(rs) <= n {
		return s
	}
	return "…" + string(rs[len(rs)-n+1:])
}

func (h *htmlWriter) treemapSection(r *analyze.Report) {
	h.p("<section id=\"prefixes\"><h2>Memory by key prefix</h2>\n")
	if r.Totals.Memory == 0 {
		h.p("<p class=\"note\">No keys.</p></section>\n")
		return
	}
	nodes := treemap(r)
	h.p("<svg class=\"tm\" id=\"treemap\" viewBox=\"0 0 %s %s\" width=\"100%%\" role=\"img\" aria-label=\"treemap of memory by key prefix\">\n", f1(tmWidth), f1(tmHeight))
	total := r.Totals.Memory
	for _, g := range nodes {
		hu := hue(g.Group)
		light := 42
		if strings.HasPrefix(g.Label, "(") {
			hu, light = 215, 60 // grey-blue for other/collapsed
		}
		sat := 55
		if light == 60 {
			sat = 12
		}
		h.p("<g><rect class=\"tm\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"hsl(%d,%d%%,%d%%)\"><title>%s&#10;%s (%s) in %s keys</title></rect>\n",
			f1(g.X), f1(g.Y), f1(g.W), f1(g.H), hu, sat, light, esc(g.Label), esc(display.Bytes(g.Memory)), pct(g.Memory, total), esc(display.Count(g.Keys)))
		for j, c := range g.Children {
			l := 48 + (j*7)%24
			h.p("<rect class=\"tm\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" fill=\"hsl(%d,%d%%,%d%%)\"><title>%s&#10;%s (%s) in %s keys</title></rect>\n",
				f1(c.X), f1(c.Y), f1(c.W), f1(c.H), hu, sat, l, esc(c.Label), esc(display.Bytes(c.Memory)), pct(c.Memory, total), esc(display.Count(c.Keys)))
			if c.W > 40 && c.H > 28 {
				if t := fitText(c.Label, c.W); t != "" {
					h.p("<text x=\"%s\" y=\"%s\">%s</text>", f1(c.X+4), f1(c.Y+13), esc(t))
					h.p("<text x=\"%s\" y=\"%s\">%s</text>\n", f1(c.X+4), f1(c.Y+26), esc(display.Bytes(c.Memory)))
				}
			}
		}
		if g.W > 40 && g.H > 14 {
			label := g.Label
			if len(g.Children) == 0 && g.H > 28 {
				if t := fitText(label, g.W); t != "" {
					h.p("<text class=\"g\" x=\"%s\" y=\"%s\">%s</text>", f1(g.X+4), f1(g.Y+13), esc(t))
					h.p("<text x=\"%s\" y=\"%s\">%s &#183; %s</text>\n", f1(g.X+4), f1(g.Y+27), esc(display.Bytes(g.Memory)), pct(g.Memory, total))
				}
			} else if t := fitText(label+"  "+display.Bytes(g.Memory)+" · "+pct(g.Memory, total), g.W); t != "" {
				h.p("<text class=\"g\" x=\"%s\" y=\"%s\">%s</text>\n", f1(g.X+4), f1(g.Y+12), esc(t))
			}
		}
		h.p("</g>\n")
	}
	h.p("</svg>\n")
	c := r.Prefixes.Collapsed
	h.p("<p class=\"note\">Area is estimated memory. Prefixes end at one of %q, up to %d levels; hover a rectangle for its figures.",
		r.Prefixes.Separators, r.Prefixes.Depth)
	if c.Prefixes > 0 {
		h.p(" The prefix table was bounded to %d rows: %s prefix entries (%s) were folded into the collapsed tail.",
			r.Prefixes.Limit, esc(display.Count(c.Prefixes)), esc(display.Bytes(c.Memory)))
	}
	h.p("</p>\n</section>\n")
}

// hbars draws labelled horizontal bars.
func (h *htmlWriter) hbars(width, labelW float64, labels []string, vals []uint64, texts []string, colors []string) {
	const rowH = 22.0
	var mx uint64
	for _, v := range vals {
		mx = max(mx, v)
	}
	height := rowH*float64(len(vals)) + 4
	h.p("<svg viewBox=\"0 0 %s %s\" width=\"100%%\" role=\"img\">\n", f1(width), f1(height))
	for i, v := range vals {
		y := float64(i)*rowH + 2
		bw := 0.0
		if mx > 0 {
			bw = (width - labelW - 110) * float64(v) / float64(mx)
		}
		h.p("<text class=\"lbl\" x=\"%s\" y=\"%s\" text-anchor=\"end\">%s</text>", f1(labelW-6), f1(y+14), esc(fitTextLeft(labels[i], labelW)))
		h.p("<rect x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"2\" fill=\"%s\"><title>%s: %s</title></rect>",
			f1(labelW), f1(y+3), f1(max(bw, 1)), f1(rowH-6), colors[i], esc(labels[i]), esc(texts[i]))
		h.p("<text class=\"val\" x=\"%s\" y=\"%s\">%s</text>\n", f1(labelW+max(bw, 1)+5), f1(y+14), esc(texts[i]))
	}
	h.p("</svg>\n")
}

func (h *htmlWriter) typesSection(r *analyze.Report) {
	h.p("<section id=\"types\"><h2>Memory by type and encoding</h2>\n")
	var labels, texts, colors []string
	var vals []uint64
	typeHue := map[string]int{}
	for _, t := range r.Types {
		if _, ok := typeHue[t.Type]; !ok {
			typeHue[t.Type] = hue(len(typeHue))
		}
	}
	for _, t := range r.Types {
		labels = append(labels, t.Type+" / "+t.Encoding)
		vals = append(vals, t.Memory)
		texts = append(texts, display.Bytes(t.Memory)+" · "+pct(t.Memory, r.Totals.Memory))
		colors = append(colors, fmt.Sprintf("hsl(%d,55%%,48%%)", typeHue[t.Type]))
	}
	h.hbars(620, 190, labels, vals, texts, colors)
	h.p("<table class=\"sort\"><thead><tr><th>type</th><th class=\"t\">encoding</th><th>keys</th><th>memory</th><th>share</th><th>elements</th><th>avg/key</th></tr></thead><tbody>\n")
	for _, t := range r.Types {
		avg := uint64(0)
		if t.Keys > 0 {
			avg = t.Memory / t.Keys
		}
		h.p("<tr><td><span class=\"swatch\" style=\"background:hsl(%d,55%%,48%%)\"></span>%s</td><td class=\"t\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td></tr>\n",
			typeHue[t.Type], esc(t.Type), esc(t.Encoding), t.Keys, display.Count(t.Keys), t.Memory, display.Bytes(t.Memory), t.Memory, pct(t.Memory, r.Totals.Memory),
			t.Elements, display.Count(t.Elements), avg, display.Bytes(avg))
	}
	h.p("</tbody></table>\n</section>\n")
}

func (h *htmlWriter) ttlSection(r *analyze.Report) {
	h.p("<section id=\"ttl\"><h2>Time to live</h2>\n")
	h.vbars("Keys", analyze.TTLBuckets, r.TTL.Keys[:], display.Count, "bar")
	h.vbars("Memory", analyze.TTLBuckets, r.TTL.Memory[:], display.Bytes, "bar2")
	h.p("<p class=\"note\">Relative to the snapshot time")
	if len(r.Files) > 0 && r.Files[0].SnapshotTime > 0 {
		h.p(" (%s)", esc(time.Unix(r.Files[0].SnapshotTime, 0).UTC().Format("2006-01-02 15:04:05 UTC")))
	}
	h.p(". &#8220;never&#8221; is keys without an expiry.</p>\n</section>\n")
}

// vbars draws a small vertical bar chart.
func (h *htmlWriter) vbars(title string, labels []string, vals []uint64, format func(uint64) string, class string) {
	const width, height, top, bottom, left = 620.0, 170.0, 22.0, 24.0, 8.0
	var mx uint64
	for _, v := range vals {
		mx = max(mx, v)
	}
	h.p("<h3>%s</h3>\n<svg viewBox=\"0 0 %s %s\" width=\"100%%\" role=\"img\" aria-label=\"%s by TTL\">\n", esc(title), f1(width), f1(height), esc(title))
	slot := (width - 2*left) / float64(len(vals))
	base := height - bottom
	h.p("<line class=\"axis\" x1=\"%s\" y1=\"%s\" x2=\"%s\" y2=\"%s\"/>\n", f1(left), f1(base), f1(width-left), f1(base))
	for i, v := range vals {
		bh := 0.0
		if mx > 0 {
			bh = (base - top) * float64(v) / float64(mx)
		}
		if v > 0 {
			bh = max(bh, 1.5)
		}
		x := left + float64(i)*slot + slot*0.15
		h.p("<rect class=\"%s\" x=\"%s\" y=\"%s\" width=\"%s\" height=\"%s\" rx=\"2\"><title>%s: %s</title></rect>",
			class, f1(x), f1(base-bh), f1(slot*0.7), f1(bh), esc(labels[i]), esc(format(v)))
		h.p("<text class=\"val\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>", f1(x+slot*0.35), f1(base-bh-5), esc(format(v)))
		h.p("<text class=\"lbl\" x=\"%s\" y=\"%s\" text-anchor=\"middle\">%s</text>\n", f1(x+slot*0.35), f1(base+16), esc(labels[i]))
	}
	h.p("</svg>\n")
}

func (h *htmlWriter) filesSection(r *analyze.Report) {
	h.p("<section id=\"files\"><h2>Files</h2>\n")
	if len(r.Files) > 1 {
		var labels, texts, colors []string
		var vals []uint64
		for i, f := range r.Files {
			labels = append(labels, f.Name)
			vals = append(vals, f.Memory)
			texts = append(texts, display.Bytes(f.Memory)+" · "+display.Count(f.Keys)+" keys")
			colors = append(colors, fmt.Sprintf("hsl(%d,55%%,48%%)", hue(i)))
		}
		h.hbars(1300, 360, labels, vals, texts, colors)
	}
	h.p("<table class=\"sort\"><thead><tr><th>file</th><th class=\"t\">server</th><th>RDB</th><th>file size</th><th>keys</th><th>memory</th><th>share</th><th>elements</th><th>with TTL</th><th>expired</th></tr></thead><tbody>\n")
	for _, f := range r.Files {
		h.p("<tr><td class=\"key\">%s</td><td class=\"t\">%s (%s)</td><td>%s %d</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td></tr>\n",
			esc(f.Name), esc(f.Server), esc(f.ServerSource), esc(f.Dialect), f.RDBVersion, f.Bytes, display.Bytes(uint64(f.Bytes)),
			f.Keys, display.Count(f.Keys), f.Memory, display.Bytes(f.Memory), f.Memory, pct(f.Memory, r.Totals.Memory),
			f.Elements, display.Count(f.Elements), f.WithTTL, display.Count(f.WithTTL), f.Expired, display.Count(f.Expired))
	}
	h.p("</tbody></table>\n")
	if len(r.DBs) > 0 {
		h.p("<h3>Databases</h3>\n<table class=\"sort\"><thead><tr><th>db</th><th>keys</th><th>memory</th><th>share</th><th>elements</th><th>with TTL</th><th>expired</th></tr></thead><tbody>\n")
		for _, d := range r.DBs {
			h.p("<tr><td>%d</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td></tr>\n",
				d.DB, d.Keys, display.Count(d.Keys), d.Memory, display.Bytes(d.Memory), d.Memory, pct(d.Memory, r.Totals.Memory),
				d.Elements, display.Count(d.Elements), d.WithTTL, display.Count(d.WithTTL), d.Expired, display.Count(d.Expired))
		}
		h.p("</tbody></table>\n")
	}
	h.p("</section>\n")
}

func (h *htmlWriter) keyTable(keys []analyze.KeyRef, multiFile bool, freq bool) {
	h.p("<table class=\"sort\"><thead><tr><th>key</th>")
	if multiFile {
		h.p("<th class=\"t\">file</th>")
	}
	h.p("<th>db</th><th class=\"t\">type</th><th class=\"t\">encoding</th><th>memory</th><th>elements</th><th>largest element</th><th>TTL</th>")
	if freq {
		h.p("<th>LFU</th>")
	}
	h.p("</tr></thead><tbody>\n")
	for _, k := range keys {
		h.p("<tr><td class=\"key\" title=\"%s\">%s</td>", esc(string(k.Key)), esc(string(k.Key)))
		if multiFile {
			h.p("<td class=\"t\">%s</td>", esc(k.File))
		}
		largest := "?"
		if k.LargestElement >= 0 {
			largest = display.Bytes(uint64(k.LargestElement))
		}
		ttl := "none"
		if k.ExpireAt > 0 {
			ttl = time.UnixMilli(k.ExpireAt).UTC().Format("2006-01-02 15:04")
		}
		h.p("<td>%d</td><td class=\"t\">%s</td><td class=\"t\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td>",
			k.DB, esc(k.Type), esc(k.Encoding), k.Memory, display.Bytes(k.Memory), k.Elements, display.Count(k.Elements), k.LargestElement, largest, k.ExpireAt, esc(ttl))
		if freq {
			h.p("<td data-v=\"%d\">%d</td>", k.Freq, k.Freq)
		}
		h.p("</tr>\n")
	}
	h.p("</tbody></table>\n")
}

func (h *htmlWriter) bigKeysSection(r *analyze.Report) {
	h.p("<section id=\"bigkeys\"><h2>Biggest keys</h2>\n")
	multi := len(r.Files) > 1
	h.p("<h3>By memory, all types</h3>\n")
	h.keyTable(r.BiggestKeys, multi, false)
	for _, b := range r.BigKeys {
		h.p("<h3>Biggest %s keys by memory</h3>\n", esc(b.Type))
		h.keyTable(b.ByMemory, multi, false)
		if b.Type == "string" || sameKeys(b.ByMemory, b.ByElements) {
			continue
		}
		h.p("<h3>Biggest %s keys by elements</h3>\n", esc(b.Type))
		h.keyTable(b.ByElements, multi, false)
	}
	h.p("</section>\n")
}

func (h *htmlWriter) hotKeysSection(r *analyze.Report) {
	if len(r.HotKeys) == 0 {
		return
	}
	h.p("<section id=\"hotkeys\"><h2>Hot keys (LFU counter)</h2>\n")
	h.keyTable(r.HotKeys, len(r.Files) > 1, true)
	h.p("</section>\n")
}

func (h *htmlWriter) prefixTableSection(r *analyze.Report) {
	if len(r.Prefixes.Rows) == 0 {
		return
	}
	h.p("<section id=\"prefixtable\"><h2>Top prefixes</h2>\n")
	h.p("<table class=\"sort\"><thead><tr><th>prefix</th><th>level</th><th>keys</th><th>memory</th><th>share</th><th>with TTL</th><th>avg/key</th></tr></thead><tbody>\n")
	rows := r.Prefixes.Rows
	if len(rows) > 50 {
		rows = rows[:50]
	}
	for _, p := range rows {
		avg := uint64(0)
		if p.Keys > 0 {
			avg = p.Memory / p.Keys
		}
		label := p.Prefix
		if label == "" {
			label = "(no separator)"
		}
		h.p("<tr><td class=\"key\">%s</td><td>%d</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td></tr>\n",
			esc(label), p.Level, p.Keys, display.Count(p.Keys), p.Memory, display.Bytes(p.Memory), p.Memory, pct(p.Memory, r.Totals.Memory),
			p.WithTTL, display.Count(p.WithTTL), avg, display.Bytes(avg))
	}
	h.p("</tbody></table>\n")
	if len(r.Prefixes.Rows) > len(rows) {
		h.p("<p class=\"note\">%d more prefixes in the JSON report.</p>\n", len(r.Prefixes.Rows)-len(rows))
	}
	h.p("</section>\n")
}

func (h *htmlWriter) modulesSection(r *analyze.Report) {
	if len(r.Modules) == 0 && len(r.Functions) == 0 {
		return
	}
	h.p("<section id=\"modules\"><h2>Modules and functions</h2>\n")
	if len(r.Modules) > 0 {
		h.p("<table class=\"sort\"><thead><tr><th>module type</th><th>keys</th><th>memory</th><th>aux records</th></tr></thead><tbody>\n")
		for _, m := range r.Modules {
			h.p("<tr><td>%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td><td data-v=\"%d\">%s</td></tr>\n",
				esc(m.Name), m.Keys, display.Count(m.Keys), m.Memory, display.Bytes(m.Memory), m.AuxRecords, display.Count(m.AuxRecords))
		}
		h.p("</tbody></table>\n<p class=\"note\">Module values count 0 bytes: their mem_usage callbacks cannot run outside the server.</p>\n")
	}
	if len(r.Functions) > 0 {
		h.p("<h3>Function libraries</h3><p>%s</p>\n", esc(strings.Join(r.Functions, ", ")))
	}
	h.p("</section>\n")
}
