// Package plugintest runs a real framework plugin, built from its source
// with `go build` exactly as `make build` builds it, through the host's
// runner against the golden files, and asserts what docs/spec.md §5 asks of every
// cell. Each framework's test calls it; it is for tests only.
//
// A framework that is not installed makes the test skip with the plugin's
// own reason (and the command that installs it), except in CI (see InCI),
// where the setup scripts must have installed it: there it fails.
package plugintest

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
)

// RepoRoot is the module root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
}

// ReferenceDir is testdata/reference.
func ReferenceDir() string { return filepath.Join(RepoRoot(), "testdata", "reference") }

// Unavailable skips the test with why, or fails it where nothing may
// skip (core/testenv: CI, make test).
func Unavailable(t testing.TB, why string) {
	t.Helper()
	testenv.Need(t, false, why+" (scripts/setup.sh installs it; see scripts/setup.d/)")
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Build builds plugins/<name> as dlcompat-plugin-<name> (static, like
// `make build`) once per test binary and returns its path.
func Build(t testing.TB, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "dlcompat-plugintest")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pluginhost.BinaryPrefix+name)
	cmd := osexec.Command("go", "build", "-trimpath", "-o", path, "./plugins/"+name)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the %s plugin: %v\n%s", name, err, out)
	}
	built[name] = path
	return path
}

// Spec is the plugin of name with env added to its environment.
func Spec(t testing.TB, name string, env ...string) exec.Spec {
	return exec.Spec{Name: name, Path: Build(t, name), Env: env}
}

// Options of Check.
type Options struct {
	Checks []string          // default: every check
	Models []reference.Model // default: both
	// Precisions are the modes to run, each a cell; default fp32. Every
	// mode must pass, at its own tolerances (docs/spec.md §9).
	Precisions []string
	// Executor starts the plugin; default exec.Local{}. With an executor
	// that runs images, the spec names its Image.
	Executor exec.Executor
	// Unsupported are checks the plugin declares it does not implement
	// (an inference runtime: backward, determinism). Their cells, run like
	// the others, must be skip with the runner's reason, and without
	// backward perf has no train_step series.
	Unsupported []string
	// Env is added to the plugin's environment (CheckInImage).
	Env []string
}

// CheapPerf keeps perf cells short in tests: they prove the code path,
// not the speed.
var CheapPerf = pluginapi.PerfOptions{Warmup: 1, Iterations: 3, LatencyBatch: 1, ThroughputBatches: []int{4}, TrainBatch: 4}

// CheckInImage is Check of the plugin called name in image, through the
// docker executor (never pulling): the plugin's container test. An image
// that is not built makes the test skip with the command that builds it,
// or fail where nothing may skip (Unavailable).
func CheckInImage(t *testing.T, name, image string, o Options) *matrix.Run {
	t.Helper()
	if ok, why := DockerImage(image); !ok {
		Unavailable(t, why)
	}
	spec := Spec(t, name, o.Env...)
	spec.Image = image
	o.Executor = docker.New(docker.Options{Pull: docker.PullNever, ReferenceDir: ReferenceDir()})
	return Check(t, spec, o)
}

// Check runs spec's cells on the CPU through the runner and asserts that
// every one passes, that forward returned every activation of the model
// and each is within tolerance (so each layout conversion is proven layer
// by layer), and that backward returned every parameter's gradient within
// tolerance; a check in o.Unsupported must be a skip that says the plugin
// does not implement it. It logs each cell's measured errors and returns
// the run.
func Check(t *testing.T, spec exec.Spec, o Options) *matrix.Run {
	t.Helper()
	if o.Executor == nil {
		o.Executor = exec.Local{}
	}
	ro := runner.Options{
		Executor: o.Executor, Plugins: []exec.Spec{spec}, Models: o.Models, Checks: o.Checks, Precisions: o.Precisions,
		Devices:      []matrix.Device{{ID: "cpu", Kind: "cpu", Name: "test CPU"}},
		ReferenceDir: ReferenceDir(), OutDir: t.TempDir(), Perf: &CheapPerf,
	}
	run, err := runner.Run(context.Background(), ro)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(run.Frameworks) != 1 {
		t.Fatalf("%s did not start: %v", spec.Name, run.Notes)
	}
	if f := run.Frameworks[0]; f.Unavailable != "" {
		Unavailable(t, fmt.Sprintf("%s: %s", spec.Name, f.Unavailable))
	} else if f.Interpreter == "" {
		t.Errorf("%s: Describe reports no interpreter", spec.Name)
	} else {
		t.Logf("%s %s via %s, interpreter %s", f.Name, f.Version, f.Executor, f.Interpreter)
	}
	want := len(o.Checks)
	if want == 0 {
		want = len(pluginapi.AllChecks)
	}
	if len(o.Models) == 0 {
		want *= len(reference.Models)
	} else {
		want *= len(o.Models)
	}
	if len(o.Precisions) > 0 {
		want *= len(o.Precisions)
	}
	if len(run.Cells) != want {
		t.Fatalf("%d cells, want %d", len(run.Cells), want)
	}
	series := 3 // latency, throughput, train step
	if pluginapi.Has(o.Unsupported, pluginapi.CheckBackward) {
		series = 2
	}
	for _, c := range run.Cells {
		logCell(t, c)
		if pluginapi.Has(o.Unsupported, c.Check) {
			if want := "does not implement check " + c.Check; c.Status != matrix.Skip || !strings.Contains(c.Reason, want) {
				t.Errorf("%s: %s %q, want skip: %q", c.CellKey, c.Status, c.Reason, want)
			}
			continue
		}
		if c.Status != matrix.Pass {
			t.Errorf("%s: %s: %s (first diverging layer %q, worst %s)\nstderr tail:\n%s", c.CellKey, c.Status, c.Reason, c.FirstDivergingLayer, c.Worst, c.StderrTail)
			continue
		}
		// Linux lets every worker reset its high-water mark, in a container
		// too: a CPU cell's memory is its call's own (docs/spec.md §7.5).
		if c.Device == "cpu" && c.MemoryKind != pluginapi.MemoryCallPeakRSS {
			t.Errorf("%s: memory kind %q, want %q", c.CellKey, c.MemoryKind, pluginapi.MemoryCallPeakRSS)
		}
		m := reference.Model(c.Model)
		switch c.Check {
		case pluginapi.CheckForward:
			var names []string
			for _, a := range reference.Activations(m) {
				names = append(names, pluginapi.ActivationPrefix+a)
			}
			requireTensors(t, c, names)
		case pluginapi.CheckBackward:
			var names []string
			for _, p := range reference.Params(m) {
				names = append(names, pluginapi.GradPrefix+p.Name)
			}
			requireTensors(t, c, names)
		case pluginapi.CheckPerf:
			if len(c.Timings) != series {
				t.Errorf("%s: %d timing series, want %d (latency, throughput, and train step unless backward is unsupported)", c.CellKey, len(c.Timings), series)
			}
			for _, tm := range c.Timings {
				if tm.Summary.N != CheapPerf.Iterations || tm.Summary.Median <= 0 {
					t.Errorf("%s: %s b%d: %d samples, median %g", c.CellKey, tm.Name, tm.Batch, tm.Summary.N, tm.Summary.Median)
				}
				if c.Device == "cpu" && tm.Timer != pluginapi.TimerHost {
					t.Errorf("%s: %s b%d: timer %q, want %q on the CPU", c.CellKey, tm.Name, tm.Batch, tm.Timer, pluginapi.TimerHost)
				}
			}
		}
		for _, w := range c.Warnings {
			if strings.Contains(w, "activation") {
				t.Errorf("%s: %s", c.CellKey, w)
			}
		}
	}
	return run
}

// requireTensors checks that every named tensor was compared and passed.
func requireTensors(t *testing.T, c matrix.Cell, names []string) {
	t.Helper()
	got := map[string]matrix.TensorError{}
	for _, te := range c.Tensors {
		got[te.Name] = te
	}
	for _, n := range names {
		te, ok := got[n]
		switch {
		case !ok:
			t.Errorf("%s: the plugin returned no %s", c.CellKey, n)
		case !te.Pass:
			t.Errorf("%s: %s outside tolerance: max abs %.3g, max rel %.3g at %v (%d violations)", c.CellKey, n, float64(te.MaxAbsErr), float64(te.MaxRelErr), te.WorstIndex, te.Violations)
		}
	}
}

func logCell(t *testing.T, c matrix.Cell) {
	t.Helper()
	line := fmt.Sprintf("%s %s %s %s %s: %s", c.Framework, c.FrameworkVersion, c.Device, c.Model, c.Check, c.Status)
	if c.MaxAbsErr != nil {
		line += fmt.Sprintf(" max abs %.3g", float64(*c.MaxAbsErr))
	}
	if c.MaxRelErr != nil {
		line += fmt.Sprintf(" max rel %.3g", float64(*c.MaxRelErr))
	}
	if c.Worst != "" {
		line += " worst " + c.Worst
	}
	t.Log(line)
}

// DockerImage reports whether docker answers and has image; it returns
// the reason when not.
func DockerImage(image string) (bool, string) {
	if _, err := osexec.LookPath("docker"); err != nil {
		return false, "no docker command (scripts/setup.d/10-docker.sh installs it)"
	}
	if out, err := osexec.Command("docker", "image", "inspect", "--format", "{{.Id}}", image).CombinedOutput(); err != nil {
		return false, fmt.Sprintf("docker has no image %s (scripts/build-images.sh builds it): %s", image, strings.TrimSpace(string(out)))
	}
	return true, ""
}

// DockerPython is an interpreter command line that runs python3 in image,
// with no network: the worker reads everything from its stdin.
func DockerPython(image string) string {
	return "docker run --rm -i --network none " + image + " python3"
}

// RunUnavailable runs spec's forward and backward cells through the runner
// and returns the run, for plugins expected to be unavailable here.
func RunUnavailable(t *testing.T, spec exec.Spec) *matrix.Run {
	t.Helper()
	ro := runner.Options{
		Executor: exec.Local{}, Plugins: []exec.Spec{spec}, Checks: []string{pluginapi.CheckForward, pluginapi.CheckBackward},
		Devices:      []matrix.Device{{ID: "cpu", Kind: "cpu", Name: "test CPU"}},
		ReferenceDir: ReferenceDir(), OutDir: t.TempDir(), Perf: &CheapPerf,
	}
	// Nothing executes, so the run is an infrastructure failure (exit 3,
	// docs/spec.md §11), and its document still holds every cell.
	run, err := runner.Run(context.Background(), ro)
	if !errors.Is(err, runner.ErrInfra) {
		t.Fatalf("run: %v, want an infrastructure failure (no cell executed)", err)
	}
	if run == nil || len(run.Cells) != 4 {
		t.Fatalf("%v, want 4 cells", run)
	}
	return run
}
