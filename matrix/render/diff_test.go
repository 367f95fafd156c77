package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// TestDiffWarnsAboutSuspiciousArguments: one run compared with itself,
// or OLD and NEW given the wrong way round, say so in a warning, in
// every format.
func TestDiffWarnsAboutSuspiciousArguments(t *testing.T) {
	for _, tc := range []struct {
		desc string
		edit func(o, n *matrix.Run)
		want string // "" for no warning
	}{
		{"two runs in order", func(o, n *matrix.Run) { n.Started = o.Started.Add(24 * time.Hour) }, ""},
		{"a run with itself", func(o, n *matrix.Run) { n.RunID = o.RunID }, "OLD and NEW have the same run_id old: this compares a run with itself"},
		{"swapped", func(o, n *matrix.Run) { o.Started = n.Started.Add(24 * time.Hour) }, "NEW started 2026-11-20T02:00:00Z, before OLD (2026-11-21T02:00:00Z): if OLD is the baseline, the arguments may be swapped"},
	} {
		o, n := matrixtest.Base("old", 1).Run(), matrixtest.Base("new", 2).Run()
		tc.edit(o, n)
		c := diff.Compare(o, n, diff.DefaultThresholds)
		got := strings.Join(c.Warnings, "\n")
		if tc.want == "" {
			if got != "" {
				t.Errorf("%s: warnings %q", tc.desc, got)
			}
			continue
		}
		if len(c.Warnings) != 1 || !strings.Contains(got, tc.want) {
			t.Errorf("%s: warnings %q, want one with %q", tc.desc, c.Warnings, tc.want)
		}
		for _, f := range DiffFormats() {
			var b bytes.Buffer
			if err := Diff(&b, c, f); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if f == "json" {
				var back diff.Comparison
				if err := json.Unmarshal(b.Bytes(), &back); err != nil {
					t.Fatal(err)
				}
				out = strings.Join(back.Warnings, "\n")
			}
			if !strings.Contains(out, "warning: ") && f != "json" || !strings.Contains(out, tc.want) {
				t.Errorf("%s: --format %s does not show the warning %q", tc.desc, f, tc.want)
			}
		}
	}
}

func TestDiffRenderings(t *testing.T) {
	o := matrixtest.Base("20261120T020000Z-aaaaaa", 1).Run()
	nw := matrixtest.Base("20261121T020000Z-bbbbbb", 2)
	nw.Devices = []matrix.Device{matrixtest.CPU(), matrixtest.A100(0, "555.42.02")}
	nw.Slow = map[string]float64{"pytorch": 1.3}
	n := nw.Run()
	c := matrixtest.CellAt(n, "gorgonia", "gpu:0", "lstm", "forward")
	c.Status, c.Reason = matrix.Fail, "logits: 12 of 80 values outside rtol 1e-4, atol 1e-5 | <b>not bold</b>"
	c.MaxAbsErr, c.MaxRelErr = matrix.F(3e-3), matrix.F(0.4)
	cmp := diff.Compare(o, n, diff.DefaultThresholds)
	cmp.Old.File, cmp.New.File = "old.json", "new.json"
	for _, f := range []string{"text", "md"} {
		var b bytes.Buffer
		if err := Diff(&b, cmp, f); err != nil {
			t.Fatal(err)
		}
		matrixtest.Golden(t, "diff."+f+".golden", b.Bytes())
	}
	var h bytes.Buffer
	if err := Diff(&h, cmp, "html"); err != nil {
		t.Fatal(err)
	}
	if s := h.String(); !strings.Contains(s, "&lt;b&gt;not bold&lt;/b&gt;") || strings.Contains(s, "<b>not bold") || !strings.Contains(s, "slower (p=") {
		t.Errorf("diff HTML does not escape or lacks the slowdown")
	}
	var j bytes.Buffer
	if err := Diff(&j, cmp, "json"); err != nil {
		t.Fatal(err)
	}
	var back diff.Comparison
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back.Cells) != len(cmp.Cells) || back.Count(diff.Regression) != cmp.Count(diff.Regression) {
		t.Errorf("JSON round trip: %v, %d cells", err, len(back.Cells))
	}
	if cmp.Count(diff.Regression) != 5 { // 4 slower pytorch perf cells and the failing forward
		t.Errorf("summary %s", cmp.Summary())
	}
}
