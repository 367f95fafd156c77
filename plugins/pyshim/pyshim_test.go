package pyshim

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
)

//go:embed testdata/fake_worker.py
var fakeSource string

// envServe makes the test binary serve the fake plugin (helper process).
const envServe = "DLCOMPAT_PYSHIM_TEST_SERVE"

func TestMain(m *testing.M) {
	if os.Getenv(envServe) == "1" {
		Serve(fakeConfig())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fakeConfig() Config {
	return Config{
		Manifest: pluginapi.Manifest{Name: "fake", Install: "apt-get install -y python3-fake"},
		Module:   "json", WorkerSource: fakeSource,
	}
}

// TestDefaults checks what New fills in, which the plugins' Configs leave
// out.
func TestDefaults(t *testing.T) {
	p := New(fakeConfig())
	c := p.cfg
	if c.WorkerModule != "fake_worker" {
		t.Errorf("WorkerModule %q, want fake_worker", c.WorkerModule)
	}
	if strings.Join(c.Interpreters, ",") != "python3,/usr/bin/python3" {
		t.Errorf("Interpreters %q", c.Interpreters)
	}
	caps := c.Capabilities
	if strings.Join(caps.Models, ",") != "cnn,lstm" || !caps.Activations ||
		len(caps.Checks) != len(pluginapi.AllChecks) || strings.Join(caps.Precisions, ",") != pluginapi.PrecisionFP32 {
		t.Errorf("Capabilities %+v", caps)
	}
	tf := Config{Manifest: pluginapi.Manifest{Name: "tensorflow"}}.WithTFVenv()
	if tf.Install != TFVenvInstall || len(tf.Interpreters) != 3 || tf.Interpreters[1] != TFVenvPython || len(tf.Env) != 2 {
		t.Errorf("WithTFVenv: %+v", tf)
	}
}

var refDir = filepath.Join("..", "..", "testdata", "reference")

// python returns an interpreter with numpy, which the worker library
// needs: Debian's (after scripts/setup.sh), or the TensorFlow venv.
func python(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", TFVenvPython, "python3"} {
		if err := osexec.Command(p, "-c", "import numpy").Run(); err == nil {
			return p
		}
	}
	testenv.Need(t, false, "needs a python3 with numpy: scripts/setup.d/30-python.sh installs python3-numpy")
	return ""
}

// fake returns the fake plugin in mode, on a real interpreter.
func fake(t *testing.T, mode string) *Plugin {
	t.Helper()
	return fakeOn(t, mode, python(t))
}

// fakeOn returns the fake plugin in mode, on the interpreter py.
func fakeOn(t *testing.T, mode, py string) *Plugin {
	t.Helper()
	t.Setenv("DLCOMPAT_PYTHON_FAKE", py)
	t.Setenv("FAKE_MODE", mode)
	p := New(fakeConfig())
	t.Cleanup(p.Close)
	return p
}

// describe is p's Describe, which must not fail.
func describe(t *testing.T, p *Plugin) pluginapi.DescribeResponse {
	t.Helper()
	d, err := p.Describe(context.Background(), pluginapi.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func request(t *testing.T, check string) pluginapi.RunRequest {
	t.Helper()
	w, err := os.ReadFile(filepath.Join(refDir, "cnn.weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.ReadFile(filepath.Join(refDir, "cnn.input.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return pluginapi.RunRequest{Model: "cnn", Check: check, Device: "cpu", Precision: "fp32", Weights: w, Inputs: in, WantActivations: true, Perf: pluginapi.DefaultPerfOptions()}
}

func run(t *testing.T, p *Plugin, check string) pluginapi.RunResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := p.Run(ctx, request(t, check))
	if err != nil {
		t.Fatalf("Run: transport error %v", err)
	}
	return resp
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

func TestWorkerComputesAndStdoutCannotCorruptFrames(t *testing.T) {
	exerciseWorker(t, python(t), "")
}

// pythonVersions are the CPythons a framework image may bring, besides
// 3.11 (this machine's, python()): scripts/setup.d/35-python-versions.sh
// makes a numpy venv for each one the machine has. Debian bookworm ships
// only 3.11 and no registry here serves interpreters, so they come from
// the machine's pyenv; 3.9 also runs for real in the Caffe image's tests.
var pythonVersions = []string{"3.9", "3.10", "3.12", "3.13"}

// hasInterpreter reports whether set-up can find CPython v here, the
// way 35-python-versions.sh looks (python3.X on PATH, pyenv's versions).
func hasInterpreter(v string) bool {
	if err := osexec.Command("python"+v, "-c", "import venv").Run(); err == nil {
		return true
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		root = filepath.Join(os.Getenv("HOME"), ".pyenv")
	}
	found, _ := filepath.Glob(filepath.Join(root, "versions", v+".*", "bin", "python3"))
	return len(found) > 0
}

// TestWorkerOnEveryPython runs the worker library through every check,
// and through a failing one, on each CPython from 3.9 to 3.13 that set-up
// provided. Where the machine has the interpreter, its venv must exist
// (under make test or CI): set-up is not allowed to leave it out quietly.
func TestWorkerOnEveryPython(t *testing.T) {
	dir := os.Getenv("DLCOMPAT_PYVERS_DIR")
	if dir == "" {
		dir = "/opt/dlcompat"
	}
	ran := 0
	for _, v := range pythonVersions {
		py := filepath.Join(dir, "venv-py"+v, "bin", "python3")
		t.Run(v, func(t *testing.T) {
			if _, err := os.Stat(py); err != nil {
				if hasInterpreter(v) {
					testenv.Need(t, false, fmt.Sprintf("this machine has Python %s but not %s: run scripts/setup.d/35-python-versions.sh", v, py))
				}
				t.Skipf("this machine has no Python %s (python%s, pyenv): nothing to test it on", v, v)
			}
			ran++
			exerciseWorker(t, py, v+".")
			resp := run(t, fakeOn(t, "raise", py), "forward")
			if resp.Status != pluginapi.StatusError || !strings.Contains(resp.Message, "ValueError") {
				t.Errorf("raise on %s: %s %q", v, resp.Status, resp.Message)
			}
		})
	}
	t.Logf("the worker library ran on %d of the Pythons %v besides 3.11", ran, pythonVersions)
}

// exerciseWorker runs every check through the fake worker on py, whose
// version must start with versionPrefix.
func exerciseWorker(t *testing.T, py, versionPrefix string) {
	t.Helper()
	p := fakeOn(t, "ok", py)
	d := describe(t, p)
	if d.Version != "0.1+ok" || d.Unavailable != "" || d.Interpreter != py || d.Build["python"] == "" || d.Build["numpy"] == "" {
		t.Errorf("describe: %+v", d)
	}
	if !strings.HasPrefix(d.Build["python"], versionPrefix) {
		t.Errorf("ran on Python %s, want %s*", d.Build["python"], versionPrefix)
	}
	if len(d.Devices) != 1 || d.Devices[0].ID != "cpu" {
		t.Errorf("devices: %+v", d.Devices)
	}
	for _, check := range []string{"forward", "backward", "determinism", "forward"} {
		resp := run(t, p, check)
		if resp.Status != pluginapi.StatusOK {
			t.Fatalf("%s: %s %s", check, resp.Status, resp.Message)
		}
		f, err := tensor.Decode(resp.Outputs)
		if err != nil {
			t.Fatalf("%s: %v", check, err)
		}
		var want []string
		switch check {
		case "forward":
			want = []string{"logits", "act.fc"}
		case "backward":
			want = []string{"loss", "grad.w"}
		case "determinism":
			want = []string{"logits", "loss", "grad.w", "repeat.logits", "repeat.loss", "repeat.grad.w"}
		}
		for _, n := range want {
			tt, ok := f.Tensors[n]
			if !ok {
				t.Errorf("%s: no %s in %v", check, n, f.Names())
			} else if tt.DType != tensor.F32 {
				t.Errorf("%s: %s is %s, want F32", check, n, tt.DType)
			}
		}
		if resp.ComputeSeconds <= 0 || resp.MemoryKind == "" {
			t.Errorf("%s: compute %g s, memory %d %q", check, resp.ComputeSeconds, resp.PeakMemoryBytes, resp.MemoryKind)
		}
	}
	resp := run(t, p, "perf")
	if resp.Status != pluginapi.StatusOK || len(resp.Timings) != 4 {
		t.Fatalf("perf: %s %s %+v", resp.Status, resp.Message, resp.Timings)
	}
	for _, tm := range resp.Timings {
		if len(tm.Samples) < 20 || len(tm.Samples) > 1000 || tm.Unit != "s" {
			t.Errorf("perf %s b%d: %d samples in %q", tm.Name, tm.Batch, len(tm.Samples), tm.Unit)
		}
		// Adaptive timing (docs/spec.md §7.1): the target reached, or a cap.
		if tm.Precision <= 0 || (!tm.Capped && tm.Precision > 0.02) {
			t.Errorf("perf %s b%d: precision %g, capped %v after %d samples", tm.Name, tm.Batch, tm.Precision, tm.Capped, len(tm.Samples))
		}
		// The timed window, for the host's telemetry (docs/spec.md §11.1):
		// on the wall clock, no shorter than its samples add up to.
		sum := 0.0
		for _, s := range tm.Samples {
			sum += s
		}
		if w := tm.WindowEnd.Sub(tm.WindowStart).Seconds(); tm.WindowStart.IsZero() || w < sum || time.Since(tm.WindowEnd) > time.Minute || time.Since(tm.WindowEnd) < 0 {
			t.Errorf("perf %s b%d: window %v – %v (%v s) for samples adding to %v s", tm.Name, tm.Batch, tm.WindowStart, tm.WindowEnd, w, sum)
		}
	}
}

func TestGarbageOnStdoutIsACrashWithTheWorkersLines(t *testing.T) {
	p := fake(t, "garbage")
	for i := 0; i < 2; i++ { // the second call gets a fresh worker
		resp := run(t, p, "forward")
		if resp.Status != pluginapi.StatusCrash {
			t.Fatalf("status %s, want crash", resp.Status)
		}
		wantContains(t, "message", resp.Message, "garbage", "not a protocol frame", "Segmentation fault? no", "fake: about to write garbage")
	}
}

func TestEarlyExitIsACrashWithTheWorkersLines(t *testing.T) {
	p := fake(t, "exit")
	resp := run(t, p, "backward")
	if resp.Status != pluginapi.StatusCrash {
		t.Fatalf("status %s, want crash", resp.Status)
	}
	wantContains(t, "message", resp.Message, "exited (exit status 3)", "fake: the framework aborts here", "cnn backward on cpu")
}

func TestExceptionIsAnErrorAndTheWorkerLivesOn(t *testing.T) {
	p := fake(t, "raise")
	resp := run(t, p, "forward")
	if resp.Status != pluginapi.StatusError {
		t.Fatalf("status %s, want error", resp.Status)
	}
	wantContains(t, "message", resp.Message, "ValueError: fake framework error in cnn", "fake_worker.py")
	pid := p.w.cmd.Process.Pid
	run(t, p, "forward")
	if p.w == nil || p.w.cmd.Process.Pid != pid {
		t.Errorf("an exception restarted the worker")
	}
}

func TestBrokenImportIsAnErrorNotASkip(t *testing.T) {
	p := fake(t, "broken")
	d := describe(t, p)
	if d.Unavailable != "" || len(d.Warnings) == 0 {
		t.Errorf("an installed but broken framework must run (and fail), not be unavailable: %+v", d)
	}
	resp := run(t, p, "forward")
	if resp.Status != pluginapi.StatusError {
		t.Fatalf("status %s, want error", resp.Status)
	}
	wantContains(t, "message", resp.Message, "does not import", "libfake.so.1: cannot open shared object file")
}

func TestDeathBeforeHelloIsAnErrorWithTheWorkersLines(t *testing.T) {
	p := fake(t, "startexit")
	d := describe(t, p)
	// It lists no device (the host then runs its cells on every device,
	// where they fail), and the warning quotes the worker's last words.
	if len(d.Devices) != 0 || d.Unavailable != "" || len(d.Warnings) == 0 {
		t.Errorf("describe of a worker that dies before its hello: %+v", d)
	} else {
		wantContains(t, "warning", d.Warnings[0], "does not start", "it said: fake: dying before hello")
	}
	resp := run(t, p, "forward")
	if resp.Status != pluginapi.StatusError {
		t.Fatalf("status %s, want error", resp.Status)
	}
	wantContains(t, "message", resp.Message, "exit status 5", "fake: dying before hello")
}

func TestMissingModuleIsUnavailableWithTheInstallCommand(t *testing.T) {
	p := fake(t, "missing")
	d := describe(t, p)
	wantContains(t, "Unavailable", d.Unavailable, "No module named 'dlcompat_no_such_framework'", "apt-get install -y python3-fake", "DLCOMPAT_PYTHON_FAKE")
	if resp := run(t, p, "forward"); resp.Status != pluginapi.StatusSkip {
		t.Errorf("run: %s %s, want skip", resp.Status, resp.Message)
	}
}

func TestNoDefaultInterpreterHasTheModule(t *testing.T) {
	t.Setenv("DLCOMPAT_PYTHON_FAKE", "") // so that the cleanup restores it
	os.Unsetenv("DLCOMPAT_PYTHON_FAKE")  // unset, not empty, for this test
	cfg := fakeConfig()
	cfg.Module = "dlcompat_no_such_framework"
	cfg.Interpreters = []string{"/nonexistent/python3", python(t)}
	p := New(cfg)
	defer p.Close()
	d := describe(t, p)
	wantContains(t, "Unavailable", d.Unavailable, "/nonexistent/python3 (not found)", "no dlcompat_no_such_framework", "apt-get install -y python3-fake")
}

func TestMissingInterpreterIsAnErrorThatNamesIt(t *testing.T) {
	t.Setenv("DLCOMPAT_PYTHON_FAKE", "/nonexistent/bin/python3")
	p := New(fakeConfig())
	_, err := p.Describe(context.Background(), pluginapi.DescribeRequest{})
	if !errors.Is(err, ErrInterpreter) {
		t.Fatalf("err %v, want ErrInterpreter", err)
	}
	wantContains(t, "error", err.Error(), "DLCOMPAT_PYTHON_FAKE=/nonexistent/bin/python3", "does not exist")

	// The plugin binary refuses to start, and the host says why.
	spec := helperSpec(t, "ok", "DLCOMPAT_PYTHON_FAKE=/nonexistent/bin/python3")
	_, err = pluginhost.Start(context.Background(), exec.Local{}, spec)
	if err == nil {
		t.Fatal("the plugin started with a missing interpreter")
	}
	wantContains(t, "start error", err.Error(), "DLCOMPAT_PYTHON_FAKE=/nonexistent/bin/python3", "does not exist")
}

// helperSpec is this test binary re-run as the fake plugin.
func helperSpec(t *testing.T, mode string, env ...string) exec.Spec {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	e := []string{envServe + "=1", "FAKE_MODE=" + mode}
	if len(env) == 0 {
		e = append(e, "DLCOMPAT_PYTHON_FAKE="+python(t))
	}
	return exec.Spec{Name: "fake", Path: self, Env: append(e, env...)}
}

// TestHostKeepsTheWorkersLines drives the fake plugin through the host's
// runner: a worker that dies or writes garbage makes crash cells whose
// reason and stderr tail carry the worker's own last lines.
func TestHostKeepsTheWorkersLines(t *testing.T) {
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"exit", []string{"fake: the framework aborts here"}},
		{"garbage", []string{"fake: about to write garbage", "Segmentation fault? no"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			o := runner.Options{
				Executor: exec.Local{}, Plugins: []exec.Spec{helperSpec(t, tc.mode)},
				Models: nil, Checks: []string{pluginapi.CheckForward},
				Devices:      []matrix.Device{{ID: "cpu", Kind: "cpu", Name: "test CPU"}},
				ReferenceDir: refDir, OutDir: t.TempDir(),
			}
			r, err := runner.Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Cells) != 2 {
				t.Fatalf("%d cells", len(r.Cells))
			}
			for _, c := range r.Cells {
				if c.Status != matrix.Crash {
					t.Errorf("%s: %s %s, want crash", c.CellKey, c.Status, c.Reason)
				}
				wantContains(t, "reason", c.Reason, tc.want...)
				wantContains(t, "stderr tail", c.StderrTail, tc.want[0])
			}
		})
	}
}

// TestWorkersAreValidPython39 parses every worker as Python 3.9 (Caffe's
// image has nothing newer), so 3.10+ grammar such as match statements is
// an error here, not a surprise in the container. ast only checks grammar
// (an int | None annotation still passes): the caffe plugin's tests run
// the library and its worker on the real 3.9.
func TestWorkersAreValidPython39(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "*", "*_worker.py"))
	files = append(files, filepath.Join("worker", "dlcompat_worker.py"), filepath.Join("testdata", "fake_worker.py"))
	if len(files) < 6 {
		t.Fatalf("found only %v", files)
	}
	const check = `import ast, sys
for f in sys.argv[1:]:
    ast.parse(open(f).read(), f, feature_version=(3, 9))`
	if out, err := osexec.Command(python(t), append([]string{"-c", check}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("not Python 3.9: %v\n%s", err, out)
	}
}

// TestInferenceRuntimeHasNoTrainStep: a backend that does not train (an
// inference runtime, Backend.trains = False) times latency and throughput
// only, and refuses backward and determinism with an error that says so.
func TestInferenceRuntimeHasNoTrainStep(t *testing.T) {
	p := fake(t, "inference")
	resp := run(t, p, "perf")
	if resp.Status != pluginapi.StatusOK {
		t.Fatalf("perf: %s %s", resp.Status, resp.Message)
	}
	var names []string
	for _, tm := range resp.Timings {
		names = append(names, tm.Name)
	}
	if got := strings.Join(names, ","); got != "latency,throughput,throughput" {
		t.Errorf("series %s, want latency and the two throughputs", got)
	}
	for _, check := range []string{"backward", "determinism"} {
		resp := run(t, p, check)
		if resp.Status != pluginapi.StatusError {
			t.Fatalf("%s: %s, want error", check, resp.Status)
		}
		wantContains(t, check, resp.Message, "inference only", "does not implement check "+check)
	}
}

// A call's peak memory is its own (docs/spec.md §7.5): after an lstm
// forward that touched 256 MiB, a cnn forward that touched nothing must
// not report it. Against a getrusage peak (the process's since it began)
// this fails.
func TestPeakMemoryIsTheCallsOwn(t *testing.T) {
	p := fake(t, "memory")
	req := request(t, pluginapi.CheckForward)
	req.Model = "lstm"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big, err := p.Run(ctx, req)
	if err != nil || big.Status != pluginapi.StatusOK {
		t.Fatalf("lstm forward: %v %s %s", err, big.Status, big.Message)
	}
	small := run(t, p, pluginapi.CheckForward)
	if big.MemoryKind != pluginapi.MemoryCallPeakRSS || small.MemoryKind != pluginapi.MemoryCallPeakRSS {
		t.Fatalf("kinds %q, %q; want %q", big.MemoryKind, small.MemoryKind, pluginapi.MemoryCallPeakRSS)
	}
	if big.PeakMemoryBytes < 256<<20 || small.PeakMemoryBytes > big.PeakMemoryBytes-128<<20 {
		t.Errorf("peak %d B for the call that touched 256 MiB, %d B for the next", big.PeakMemoryBytes, small.PeakMemoryBytes)
	}
}

// perf times the call, on the clock it names (docs/spec.md §7.1): the
// host's monotonic clock around a forward that sleeps 3 ms, and the net's
// event timer, when it has one, in place of the host's.
func TestPerfTimesTheCallOnTheClockItNames(t *testing.T) {
	for _, tc := range []struct {
		mode, timer string
		lo, hi      float64
	}{
		{"slow", pluginapi.TimerHost, 0.003, 0.030},
		{"events", pluginapi.TimerCUDAEvent, 0.001, 0.001},
	} {
		p := fake(t, tc.mode)
		req := request(t, pluginapi.CheckPerf)
		req.Perf.Iterations, req.Perf.Warmup, req.Perf.TargetPrecision = 10, 1, 0
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		resp, err := p.Run(ctx, req)
		cancel()
		if err != nil || resp.Status != pluginapi.StatusOK {
			t.Fatalf("%s: %v %s %s", tc.mode, err, resp.Status, resp.Message)
		}
		for _, tm := range resp.Timings {
			if tm.Name == pluginapi.TimingTrainStep {
				continue // backward does not sleep
			}
			med := matrix.Summarize(tm.Samples).Median
			if tm.Timer != tc.timer || med < tc.lo || med > tc.hi {
				t.Errorf("%s: %s b%d: median %g s on %q; want %g–%g s on %q", tc.mode, tm.Name, tm.Batch, med, tm.Timer, tc.lo, tc.hi, tc.timer)
			}
		}
	}
}
