package plugintest

import (
	"context"
	"fmt"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

// Characterise runs the real plugin's characterise check on the CPU
// through the host's runner (docs/spec.md §10): one cell, which must pass
// (every copy, triad and GEMM sample checked by the host) with the copy
// and triad bandwidths and a GEMM rate in each of modes.
func Characterise(t *testing.T, spec exec.Spec, modes []string) matrix.Cell {
	t.Helper()
	run, err := runner.Run(context.Background(), runner.Options{
		Executor: exec.Local{}, Plugins: []exec.Spec{spec}, Checks: []string{pluginapi.CheckCharacterise},
		Devices:      []matrix.Device{{ID: "cpu", Kind: "cpu", Name: "test CPU"}},
		ReferenceDir: ReferenceDir(), OutDir: t.TempDir(), Perf: &CheapPerf,
	})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(run.Frameworks) == 1 && run.Frameworks[0].Unavailable != "" {
		Unavailable(t, fmt.Sprintf("%s: %s", spec.Name, run.Frameworks[0].Unavailable))
	}
	if len(run.Cells) != 1 {
		t.Fatalf("%d cells, want one characterise cell: %v", len(run.Cells), run.Notes)
	}
	c := run.Cells[0]
	logCell(t, c)
	if c.Status != matrix.Pass || c.Model != "" || c.Precision != "" {
		t.Fatalf("%s: %s: %s\n%s", c.CellKey, c.Status, c.Reason, c.StderrTail)
	}
	want := []string{pluginapi.TimingCopy, pluginapi.TimingTriad}
	for _, m := range modes {
		want = append(want, pluginapi.GEMMTiming(m))
	}
	got := map[string]matrix.Timing{}
	for _, tm := range c.Timings {
		got[tm.Name] = tm
	}
	for _, name := range want {
		tm, ok := got[name]
		switch {
		case !ok:
			t.Errorf("no %s series (has %v)", name, c.Timings)
		case tm.Summary.N < 5:
			t.Errorf("%s: %d trials, want at least 5", name, tm.Summary.N)
		case tm.GBPerSecond <= 0 && tm.GFLOPs <= 0:
			t.Errorf("%s: no rate", name)
		default:
			t.Logf("%s b%d: %.4g GB/s %.4g GFLOP/s (median of %d)", name, tm.Batch, tm.GBPerSecond, tm.GFLOPs, tm.Summary.N)
		}
	}
	if len(c.Tensors) != len(c.Timings) {
		t.Errorf("%d checks for %d series", len(c.Tensors), len(c.Timings))
	}
	return c
}
