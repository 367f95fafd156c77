package render

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
	"golang.org/x/net/html"

	"github.com/dlcompat/dlcompat/core/testenv"
)

func writeFile(t *testing.T, name string, write func(*os.File) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// injected reports whether a dumped DOM shows the payload at work.
func injected(dom string) bool {
	return strings.Contains(dom, "<title>pwned</title>") || strings.Contains(dom, `id="injected"`)
}

func TestHTMLInChromium(t *testing.T) {
	r := matrixtest.Hostile()
	page := writeFile(t, "report.html", func(f *os.File) error { return WriteHTML(f, r) })

	// The check can fail: the same payload in a page that does not escape
	// it does run.
	control := writeFile(t, "control.html", func(f *os.File) error {
		_, err := f.WriteString("<!DOCTYPE html><html><head><title>control</title></head><body><p>version " + matrixtest.Payload + "</p></body></html>")
		return err
	})
	if dom := string(testenv.Chromium(t, "--dump-dom", "file://"+control)); !injected(dom) {
		t.Fatalf("the unescaped control page did not run its script, so this test could not see an injection:\n%s", dom)
	}

	dom := string(testenv.Chromium(t, "--dump-dom", "file://"+page))
	if injected(dom) {
		t.Fatal("the report ran script from a framework version or another plugin-supplied string")
	}
	if !strings.Contains(dom, "<title>dlcompat "+r.RunID+"</title>") {
		t.Errorf("the page title changed or is missing")
	}
	// The payload is shown as text: the DOM holds it escaped.
	if n := strings.Count(dom, "&lt;script&gt;document.title='pwned'"); n < 5 {
		t.Errorf("the payload appears as text only %d times; want it visible wherever it was supplied", n)
	}
	if strings.Contains(dom, "<img") || strings.Contains(dom, "<script") {
		t.Error("an <img> or <script> element made it into the DOM")
	}
	// The matrix: a row per framework version, every cell a link to its
	// details, every status drawn with its own class.
	matrixTable := regexp.MustCompile(`(?s)<table class="matrix">.*?</table>`).FindString(dom)
	if got, want := strings.Count(matrixTable, "<tr>")-2, 2; got != want { // two header rows
		t.Errorf("matrix has %d rows, want %d (gorgonia and evil)", got, want)
	}
	if got := strings.Count(matrixTable, `<a class="st `); got != len(r.Cells) {
		t.Errorf("matrix shows %d checks, want every cell (%d)", got, len(r.Cells))
	}
	for _, s := range matrix.Statuses {
		if !strings.Contains(matrixTable, `<a class="st s-`+string(s)+`"`) {
			t.Errorf("no %s cell in the rendered matrix", s)
		}
	}
	for _, want := range []string{`id="devices"`, `id="perf"`, "<svg", "throughput (items/s", "latency at batch 1", "plugin's last lines", "goroutine 1 [running]"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}

	// A screenshot, kept where CI can collect it when asked.
	testenv.Screenshot(t, "report-chromium.png", 1280, 1600, page)
}

func TestHTMLIsSelfContained(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, matrixtest.Hostile()); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	// No script, nothing loaded: no element with src, no link or
	// stylesheet import, links only to fragments of the page, and url()
	// in styles only to the page's own SVG patterns.
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "link", "iframe", "object", "embed", "img":
				t.Errorf("report has a <%s> element", n.Data)
			}
			for _, a := range n.Attr {
				switch {
				case a.Key == "src", strings.HasPrefix(a.Key, "on"):
					t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
				case a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
					t.Errorf("<%s href=%q> leaves the page", n.Data, a.Val)
				}
			}
		}
		if n.Type == html.TextNode && n.Parent != nil && n.Parent.Data == "style" {
			if m := regexp.MustCompile(`url\((['"]?)[^#'")]|@import`).FindString(n.Data); m != "" {
				t.Errorf("style loads something: %q", m)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if !strings.Contains(s, `Content-Security-Policy" content="default-src 'none'`) {
		t.Error("no Content-Security-Policy")
	}
}
