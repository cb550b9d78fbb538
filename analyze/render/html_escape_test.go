package render

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rdbtool/rdbtool/analyze"
	"github.com/rdbtool/rdbtool/rdb"
)

// TestHTMLHostileKeyNames: key names that are markup, attribute breakouts,
// control sequences and invalid UTF-8 reach the page as escaped text only.
func TestHTMLHostileKeyNames(t *testing.T) {
	keys := []string{
		`<script>alert(1)</script>`,
		`"><img src=x onerror=alert(1)>`,
		`' onmouseover='alert(2)`,
		"</title><script>alert(3)</script>",
		"esc\x1b[31mred\x07bell",
		"bad\xff\xfeutf8",
		"c1\u009b2J",
	}
	var buf bytes.Buffer
	w, err := rdb.NewWriter(&buf, rdb.WriterOptions{Target: rdb.Target{Dialect: rdb.DialectRedis, Version: 10}})
	if err != nil {
		t.Fatal(err)
	}
	w.SelectDB(0)
	for i, k := range keys {
		// Values of different sizes put every key in the biggest-keys tables.
		if err := w.WriteString(rdb.KeyHeader{Key: []byte(k)}, bytes.Repeat([]byte("v"), 100*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "hostile.rdb")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := analyze.New(analyze.Options{}).Analyze(context.Background(), []analyze.Input{openInput(p)})
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := HTML(&page, rep); err != nil {
		t.Fatal(err)
	}
	out := page.String()
	if !utf8.ValidString(out) {
		t.Error("the page is not valid UTF-8")
	}
	for _, bad := range []string{"<script>alert", "<img", "onmouseover='", "\x1b", "\x07", "\u009b"} {
		if strings.Contains(out, bad) {
			t.Errorf("the page holds %q unescaped", bad)
		}
	}
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&#34;&gt;&lt;img src=x onerror=alert(1)&gt;",
		"&#39; onmouseover=&#39;alert(2)",
		`esc\x1b[31mred\x07bell`,
		`bad\xff\xfeutf8`,
		`c1\xc2\x9b2J`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	// Still well-formed: no name broke out of its element or attribute.
	d := xml.NewDecoder(strings.NewReader(out))
	d.Strict = true
	d.Entity = xml.HTMLEntity
	scripts := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "script" || se.Name.Local == "img" {
				scripts++
			}
			for _, a := range se.Attr {
				if strings.HasPrefix(a.Name.Local, "on") {
					t.Errorf("element %s has an event attribute %s", se.Name.Local, a.Name.Local)
				}
			}
		}
	}
	if scripts != 1 {
		t.Errorf("%d script/img elements, want only the page's own script", scripts)
	}
}
