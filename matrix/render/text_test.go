package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// TestCountsAreGrammatical: one cell, one device, one sample read as
// such, and nothing is "0 cells: ".
func TestCountsAreGrammatical(t *testing.T) {
	check := func(desc, got, want string) {
		t.Helper()
		if !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q in it", desc, got, want)
		}
	}
	for _, tc := range []struct {
		desc string
		n    int
		noun string
		want string
	}{
		{"none", 0, "cell", "0 cells"},
		{"one", 1, "cell", "1 cell"},
		{"two", 2, "cell", "2 cells"},
		{"a noun ending in s", 1, "timing series", "1 timing series"},
		{"many of a noun ending in s", 3, "timing series", "3 timing series"},
	} {
		if got := matrix.Plural(tc.n, tc.noun); got != tc.want {
			t.Errorf("%s: Plural(%d, %q) = %q, want %q", tc.desc, tc.n, tc.noun, got, tc.want)
		}
	}

	one := matrixtest.EveryStatus()
	one.Cells = one.Cells[:1]
	if got := one.Summary(); got != "1 cell: 1 pass" {
		t.Errorf("one cell: %q", got)
	}
	empty := &matrix.Run{RunID: "r", Started: matrixtest.Start, Cells: []matrix.Cell{}}
	if got := empty.Summary(); got != "0 cells" {
		t.Errorf("no cells: %q", got)
	}
	var b bytes.Buffer
	WriteText(&b, empty)
	if strings.Contains(b.String(), "cells:") {
		t.Errorf("empty text report:\n%s", b.String())
	}

	// One short timing series: "1 timing series has".
	o, n := matrixtest.Base("old", 1).Run(), matrixtest.Base("new", 2).Run()
	matrixtest.CellAt(n, "gorgonia", "cpu", "cnn", "perf").Timings[0].Samples = []float64{1, 2, 3}
	check("one short series", strings.Join(diff.Compare(o, n, diff.DefaultThresholds).Warnings, "\n"), "1 timing series has fewer than 4 samples")

	// A host with one CPU, a device with one core, a series of one sample.
	r := matrixtest.Base("r", 1).Run()
	r.Host.CPUs = 1
	r.Devices[0].Cores = 1
	for i := range r.Cells {
		for j := range r.Cells[i].Timings {
			tm := &r.Cells[i].Timings[j]
			tm.Samples = tm.Samples[:1]
			tm.Summary = matrix.Summarize(tm.Samples)
		}
	}
	var h bytes.Buffer
	if err := WriteHTML(&h, r); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"1 CPUs", "1 cores", "over 1 samples", "1 timed iterations"} {
		if strings.Contains(h.String(), bad) {
			t.Errorf("HTML says %q", bad)
		}
	}
	check("HTML", h.String(), "linux/amd64, 1 CPU)")
}

// TestTextShowsASkipReasonOncePerFramework: a framework that is not
// installed skips every cell with one long install hint; the text report
// says it once, "caffe: 8 cells skipped: REASON", and keeps a line per
// cell, or per identical reason, for the other statuses. Markdown is
// unchanged.
func TestTextShowsASkipReasonOncePerFramework(t *testing.T) {
	hint := "caffe is not installed for python3: install it with scripts/build-images.sh caffe-cpu (Caffe runs in its bullseye image; " +
		"then run with --executor docker) or pip install caffe in a Python 3.9 environment with protobuf<4 and numpy<2, then rerun " +
		"dlcompat run --frameworks caffe; see README.md, Frameworks, for the images and interpreters each framework is looked for in"
	s := matrixtest.Spec{ID: "r", Host: "node-a", Seed: 1, Frameworks: [][2]string{{"gorgonia", "v0.9.18"}, {"caffe", "not installed"}},
		Devices: []matrix.Device{matrixtest.CPU(), matrixtest.A100(0, "550.54.15")}, Checks: []string{"forward", "backward"}}
	r := s.Run()
	for i := range r.Cells {
		if c := &r.Cells[i]; c.Framework == "caffe" {
			c.Status, c.Reason, c.MaxAbsErr, c.MaxRelErr = matrix.Skip, hint, nil, nil
		}
	}
	r.Frameworks[1].Unavailable = hint
	g := matrixtest.CellAt(r, "gorgonia", "gpu:0", "lstm", "backward")
	g.Status, g.Reason = matrix.Error, "RuntimeError: CUDA error"
	one := matrixtest.CellAt(r, "gorgonia", "gpu:0", "lstm", "forward")
	one.Status, one.Reason = matrix.Skip, "gorgonia cannot use gpu:0 (it offers: cpu)"

	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := strings.Count(out, hint); n != 1 {
		t.Errorf("the install hint appears %d times, want once:\n%s", n, out)
	}
	for _, want := range []string{
		"  - caffe: 8 cells skipped: " + hint + "\n",
		"  - gorgonia v0.9.18 × gpu:0 × lstm × forward: skip: gorgonia cannot use gpu:0 (it offers: cpu)\n",
		"  - gorgonia v0.9.18 × gpu:0 × lstm × backward: error: RuntimeError: CUDA error\n",
		"caffe not installed via local — unavailable (the reason is with its skipped cells, below)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	var md bytes.Buffer
	WriteMarkdown(&md, r)
	if !strings.Contains(md.String(), "- caffe not installed, 8 cells: skip: "+mdEscape(hint)) {
		t.Errorf("Markdown changed:\n%s", md.String())
	}
}

// TestTerminalEscapesAreShownNotSent: a plugin's strings reach the
// terminal as text: ESC, OSC, BEL, CSI and stray bytes are escaped.
func TestTerminalEscapesAreShownNotSent(t *testing.T) {
	hostile := "v1\x1b[2J\x1b]0;owned\x07\u009b31m\xff\r"
	r := &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: "r",
		Frameworks: []matrix.Framework{{Name: "fw", Version: hostile, Executor: "local"}},
		Cells: []matrix.Cell{{CellKey: matrix.CellKey{Framework: "fw", FrameworkVersion: hostile, Device: "cpu", Model: "cnn", Check: "forward"},
			Status: matrix.Fail, Reason: "bad" + hostile}}}
	for name, write := range map[string]func(*bytes.Buffer) error{
		"text":     func(b *bytes.Buffer) error { return WriteText(b, r) },
		"markdown": func(b *bytes.Buffer) error { return WriteMarkdown(b, r) },
	} {
		var b bytes.Buffer
		if err := write(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, c := range []string{"\x1b", "\x07", "\u009b", "\xff", "\r"} {
			if strings.Contains(out, c) {
				t.Errorf("%s: %q reaches the terminal", name, c)
			}
		}
		if !strings.Contains(out, `v1\x1b[2J\x1b]0;owned\x07\u009b31m\xff\x0d`) {
			t.Errorf("%s: the escaped version is not shown:\n%s", name, out)
		}
	}
}
