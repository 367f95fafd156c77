package plugintest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

// PlantedFailsInEveryMode is PlantedFailsInImage in each of precisions
// (fp32 among them: a reduced mode is judged against its fp32 twin,
// docs/spec.md §9): the forward cell of b.Model must fail in every mode,
// naming b.Layer as the first diverging layer — a reduced mode's looser
// tolerance must not hide a conversion bug, nor fp64's tighter one find
// another layer first. It returns the cells, one per mode.
func PlantedFailsInEveryMode(t *testing.T, name, image string, b Bug, precisions []string, env ...string) []matrix.Cell {
	t.Helper()
	if ok, why := DockerImage(image); !ok {
		Unavailable(t, why)
	}
	spec := Spec(t, name, env...)
	spec.Path = BuildPlanted(t, name, b)
	spec.Image = image
	ro := runner.Options{
		Executor: docker.New(docker.Options{Pull: docker.PullNever, ReferenceDir: ReferenceDir()}),
		Plugins:  []exec.Spec{spec}, Models: []reference.Model{b.Model}, Checks: []string{pluginapi.CheckForward},
		Precisions:   precisions,
		Devices:      []matrix.Device{{ID: "cpu", Kind: "cpu", Name: "test CPU"}},
		ReferenceDir: ReferenceDir(), OutDir: t.TempDir(), Perf: &CheapPerf,
	}
	run, err := runner.Run(context.Background(), ro)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(run.Frameworks) != 1 || len(run.Cells) != len(precisions) {
		t.Fatalf("%s with %q planted: %d frameworks, %d cells, want 1 and %d: %v", name, b.What, len(run.Frameworks), len(run.Cells), len(precisions), run.Notes)
	}
	if f := run.Frameworks[0]; f.Unavailable != "" {
		Unavailable(t, fmt.Sprintf("%s: %s", name, f.Unavailable))
	}
	want := "first diverging layer: " + b.Layer
	seen := map[string]bool{}
	for _, c := range run.Cells {
		seen[c.Precision] = true
		logCell(t, c)
		for _, te := range c.Tensors {
			if te.Name == "logits" || te.Name == pluginapi.ActivationPrefix+b.Layer {
				t.Logf("%s %s with %q planted: %s off by up to %.3g (pass %v)", name, c.Precision, b.What, te.Name, float64(te.MaxAbsErr), te.Pass)
			}
		}
		if c.Status != matrix.Fail || c.FirstDivergingLayer != b.Layer || !strings.Contains(c.Reason, want) {
			t.Errorf("%s %s with %q planted: %s, first diverging layer %q, reason %q; want fail with %q\nstderr tail:\n%s",
				name, c.Precision, b.What, c.Status, c.FirstDivergingLayer, c.Reason, want, c.StderrTail)
		}
	}
	for _, p := range precisions {
		if !seen[p] {
			t.Errorf("%s: no %s cell", name, p)
		}
	}
	return run.Cells
}
