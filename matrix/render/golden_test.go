package render

import (
	"bytes"
	"testing"

	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// TestReportGolden renders the fixed run in every report format, so a
// change in any report is a visible diff of testdata/report.*.golden
// (go test ./matrix/render -update rewrites them).
func TestReportGolden(t *testing.T) {
	r := matrixtest.Report()
	for _, name := range RunFormats() {
		write, err := ForRun(name)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := write(&b, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		matrixtest.Golden(t, "report."+name+".golden", b.Bytes())
	}
}

// TestRegistry: both commands find their formats, by name and alias, and
// a format without a view of a document is refused with the valid list.
func TestRegistry(t *testing.T) {
	for _, tc := range []struct {
		desc, name string
		run, diff  bool
	}{
		{"text", "text", true, true},
		{"markdown alias", "markdown", true, true},
		{"junit has no diff view", "junit", true, false},
		{"unknown", "pdf", false, false},
	} {
		_, errRun := ForRun(tc.name)
		_, errDiff := ForDiff(tc.name)
		if (errRun == nil) != tc.run || (errDiff == nil) != tc.diff {
			t.Errorf("%s: ForRun %v, ForDiff %v", tc.desc, errRun, errDiff)
		}
	}
	_, err := ForDiff("junit")
	if want := `unknown format "junit" (valid: text, md, html, json)`; err == nil || err.Error() != want {
		t.Errorf("ForDiff(junit): %v, want %s", err, want)
	}
}
