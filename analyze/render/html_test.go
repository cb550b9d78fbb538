package render

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rdbtool/rdbtool/analyze"
)

// htmlReport renders the HTML report of a few corpus files.
func htmlReport(t *testing.T) (*analyze.Report, []byte) {
	t.Helper()
	var inputs []analyze.Input
	for _, f := range []string{"redis-7.4.1/main.rdb", "redis-7.0.15/main.rdb", "valkey-8.0.1/cluster.rdb"} {
		inputs = append(inputs, openInput(filepath.Join("..", "..", "testdata", "corpus", f)))
	}
	rep, err := analyze.New(analyze.Options{}).Analyze(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := HTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	return rep, buf.Bytes()
}

// TestHTMLStructure checks the page is well-formed (it is written so that
// an XML parser accepts it), self-contained, and holds the treemap, the
// charts and the top keys.
func TestHTMLStructure(t *testing.T) {
	rep, page := htmlReport(t)

	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	var (
		stack    []string
		tmRects  int
		svgs     int
		inTitle  bool
		titles   []string
		cellText strings.Builder
		inKey    bool
		keyCells = map[string]bool{}
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed at offset %d: %v", d.InputOffset(), err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
				if (a.Name.Local == "src" || a.Name.Local == "href") && strings.Contains(a.Value, "//") {
					t.Errorf("external reference %s=%q", a.Name.Local, a.Value)
				}
			}
			switch tok.Name.Local {
			case "svg":
				svgs++
			case "rect":
				if attr["class"] == "tm" {
					tmRects++
					for _, k := range []string{"x", "y", "width", "height"} {
						if _, ok := attr[k]; !ok {
							t.Errorf("treemap rect without %s", k)
						}
					}
				}
			case "title":
				inTitle = true
			case "td":
				if attr["class"] == "key" {
					inKey = true
					cellText.Reset()
				}
			case "link", "img", "iframe":
				t.Errorf("<%s> element: the page must be self-contained", tok.Name.Local)
			}
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != tok.Name.Local {
				t.Fatalf("unbalanced </%s>", tok.Name.Local)
			}
			stack = stack[:len(stack)-1]
			switch tok.Name.Local {
			case "title":
				inTitle = false
			case "td":
				if inKey {
					keyCells[cellText.String()] = true
					inKey = false
				}
			}
		case xml.CharData:
			if inTitle {
				titles = append(titles, string(tok))
			}
			if inKey {
				cellText.Write(tok)
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %v", stack)
	}

	// One rectangle per treemap node.
	var want int
	for _, g := range treemap(rep) {
		want += 1 + len(g.Children)
	}
	if want < 5 || tmRects != want {
		t.Errorf("treemap has %d rects, want %d (>= 5)", tmRects, want)
	}
	if svgs < 4 { // treemap, types, two TTL charts, files
		t.Errorf("%d svg charts", svgs)
	}
	// Every treemap rectangle has its tooltip.
	if len(titles) < tmRects {
		t.Errorf("%d <title> tooltips for %d treemap rects", len(titles), tmRects)
	}
	// The biggest keys are listed.
	for _, b := range rep.BigKeys {
		for _, k := range b.ByMemory[:min(3, len(b.ByMemory))] {
			if !keyCells[string(k.Key)] {
				t.Errorf("big key %q (%s) not in the page", k.Key, b.Type)
			}
		}
	}
	// Every file is in the per-file table.
	for _, f := range rep.Files {
		if !keyCells[f.Name] {
			t.Errorf("file %s not in the page", f.Name)
		}
	}
	// No network: no URLs at all outside text, no @import or url(...).
	if m := regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?(https?:)?//`).Find(page); m != nil {
		t.Errorf("external URL: %s", m)
	}
	for _, bad := range []string{"@import", "url(", "<link"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, s := range []string{`id="treemap"`, `id="ttl"`, `id="types"`, `id="files"`, `id="bigkeys"`} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("missing %s", s)
		}
	}
}

// TestSquarify checks the treemap layout covers its rectangle with areas
// in proportion.
func TestSquarify(t *testing.T) {
	vals := []float64{60, 25, 10, 3, 1, 1}
	rs := squarify(vals, 0, 0, 600, 400)
	var area float64
	for i, r := range rs {
		a := r[2] * r[3]
		area += a
		want := vals[i] / 100 * 600 * 400
		if d := a - want; d > 1 || d < -1 {
			t.Errorf("rect %d area %.1f, want %.1f", i, a, want)
		}
		if r[0] < -1e-9 || r[1] < -1e-9 || r[0]+r[2] > 600+1e-6 || r[1]+r[3] > 400+1e-6 {
			t.Errorf("rect %d %v outside", i, r)
		}
	}
	if area < 600*400-1 {
		t.Errorf("covered %.1f", area)
	}
}

// TestHTMLBrowser renders the page in headless Chromium and checks the
// screenshot is not blank. It runs when chromium is installed; with
// RDBTOOL_BROWSER_TESTS=1 a missing chromium is a failure.
func TestHTMLBrowser(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("RDBTOOL_BROWSER_TESTS") == "1" {
			t.Fatal("chromium is not installed: run scripts/test.sh (it installs chromium for the browser tests)")
		}
		t.Skip("chromium is not installed (set RDBTOOL_BROWSER_TESTS=1 to make this a failure)")
	}
	_, page := htmlReport(t)
	dir := t.TempDir()
	htmlPath := filepath.Join(dir, "report.html")
	pngPath := filepath.Join(dir, "report.png")
	if err := os.WriteFile(htmlPath, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+pngPath, "--window-size=1400,2000",
		"file://"+htmlPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, out)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() < 1000 || b.Dy() < 1000 {
		t.Fatalf("screenshot %v", b)
	}
	// A blank or unstyled page has a handful of colours; the charts add
	// many. Count distinct colours on a grid, and check the treemap's area
	// (top part of the page) is not all one colour.
	colours := map[[3]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[[3]uint32{r >> 12, g >> 12, bl >> 12}] = true
		}
	}
	if len(colours) < 12 {
		t.Errorf("screenshot has %d distinct colours: blank or unstyled", len(colours))
	}
	if n := distinctIn(img, image.Rect(60, 260, 1340, 800)); n < 4 {
		t.Errorf("treemap area has %d colours", n)
	}
}

func distinctIn(img image.Image, r image.Rectangle) int {
	seen := map[[3]uint32]bool{}
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y += 5 {
		for x := r.Min.X; x < r.Max.X; x += 5 {
			c0, c1, c2, _ := img.At(x, y).RGBA()
			seen[[3]uint32{c0 >> 12, c1 >> 12, c2 >> 12}] = true
		}
	}
	return len(seen)
}
