package pyshim

import (
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"time"

	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// Config describes one Python-backed framework plugin.
type Config struct {
	// Manifest holds the framework's facts the host reads before starting
	// the plugin: its Name (which also names the interpreter variable,
	// $DLCOMPAT_PYTHON_<NAME>), default Images, Interpreters (tried in
	// order when the variable is unset: the first in which Module is
	// installed is used; default python3 on PATH, then /usr/bin/python3),
	// Install (the one command that installs the framework for the local
	// executor, shown when it is missing) and Variant.
	pluginapi.Manifest
	// Module is the Python module that must be installed ("torch").
	Module string
	// WorkerModule and WorkerSource are the framework's worker module
	// (embedded by the plugin); it must define main(proto_out).
	// WorkerModule defaults to <Name>_worker.
	WorkerModule string
	WorkerSource string
	// Env is added to the worker's environment.
	Env []string
	// Capabilities are the plugin's. Models default to both reference
	// models, with activations (a plugin that names its models sets
	// Activations itself); Checks and Precisions default to all checks and
	// fp32.
	Capabilities pluginapi.Capabilities
	// DeviceOnly marks a plugin that runs no model, only device checks
	// (pluginapi.DeviceChecks, which Capabilities.Checks then lists): its
	// Models stay empty, so the host plans it no model cell.
	DeviceOnly bool
}

// Errors of this package.
var (
	// ErrInterpreter: the configured interpreter does not exist.
	ErrInterpreter = errors.New("python interpreter not found")
)

// Plugin is a pluginapi.Framework backed by a Python worker. It runs one
// request at a time on one long-lived worker, and starts a fresh worker
// after one died.
type Plugin struct {
	cfg Config

	mu       sync.Mutex
	resolved bool
	argv     []string // the interpreter command
	source   string   // how it was chosen
	missing  string   // non-empty: the module is installed nowhere
	w        *worker
	startErr error // the last failed start, reported by Run
}

var _ pluginapi.Framework = (*Plugin)(nil)

// New returns the plugin for cfg, with its defaults filled in.
func New(cfg Config) *Plugin {
	if cfg.WorkerModule == "" {
		cfg.WorkerModule = cfg.Name + "_worker"
	}
	if len(cfg.Interpreters) == 0 {
		cfg.Interpreters = []string{"python3", "/usr/bin/python3"}
	}
	if len(cfg.Capabilities.Models) == 0 && !cfg.DeviceOnly {
		cfg.Capabilities.Models = []string{"cnn", "lstm"}
		cfg.Capabilities.Activations = true
	}
	if len(cfg.Capabilities.Checks) == 0 {
		cfg.Capabilities.Checks = pluginapi.AllChecks
	}
	if len(cfg.Capabilities.Precisions) == 0 {
		cfg.Capabilities.Precisions = []string{pluginapi.PrecisionFP32}
	}
	return &Plugin{cfg: cfg}
}

// Serve runs the plugin for cfg: a plugin's main is one call to it. A
// configured interpreter that does not exist stops the plugin before the
// handshake, with a message that names it.
func Serve(cfg Config) {
	p := New(cfg)
	pluginapi.ServeManifest(p.cfg.Manifest)
	if _, err := p.Interpreter(); err != nil {
		fmt.Fprintf(os.Stderr, "dlcompat-plugin-%s: %v\n", cfg.Name, err)
		os.Exit(1)
	}
	pluginapi.Serve(p.cfg.Manifest, p)
}

// CheckInterpreter reports whether the interpreter named by value (a path
// or a command line, as in $DLCOMPAT_PYTHON_<FRAMEWORK>) exists.
func CheckInterpreter(variable, value string) error {
	f := strings.Fields(value)
	if len(f) == 0 {
		return fmt.Errorf("%w: %s is set but empty; unset it or name an interpreter", ErrInterpreter, variable)
	}
	if _, err := osexec.LookPath(f[0]); err != nil {
		return fmt.Errorf("%w: %s=%s: %s does not exist or is not executable; fix the path or unset %s", ErrInterpreter, variable, value, f[0], variable)
	}
	return nil
}

// probeScript exits 0 when the module is installed, without importing it.
const probeScript = "import importlib.util,sys;sys.exit(0 if importlib.util.find_spec(sys.argv[1]) else 3)"

// Interpreter resolves the interpreter command (once) and returns it.
func (p *Plugin) Interpreter() ([]string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.resolveLocked()
}

func (p *Plugin) resolveLocked() ([]string, error) {
	if p.resolved {
		return p.argv, nil
	}
	v := pluginapi.InterpreterEnv(p.cfg.Name)
	if val, ok := os.LookupEnv(v); ok {
		if err := CheckInterpreter(v, val); err != nil {
			return nil, err
		}
		p.argv, p.source, p.resolved = strings.Fields(val), "$"+v, true
		return p.argv, nil
	}
	var tried []string
	var first []string
	for _, c := range p.cfg.Interpreters {
		f := strings.Fields(c)
		path, err := osexec.LookPath(f[0])
		if err != nil {
			tried = append(tried, c+" (not found)")
			continue
		}
		if first == nil {
			first = f
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = osexec.CommandContext(ctx, f[0], append(f[1:], "-c", probeScript, p.cfg.Module)...).Run()
		cancel()
		if err == nil {
			p.argv, p.source, p.resolved = f, "first of the defaults with "+p.cfg.Module, true
			return p.argv, nil
		}
		tried = append(tried, fmt.Sprintf("%s (%s: no %s)", c, path, p.cfg.Module))
	}
	if first == nil {
		p.missing = fmt.Sprintf("no python interpreter: tried %s", strings.Join(tried, ", "))
	} else {
		p.missing = fmt.Sprintf("%s is not installed for %s", p.cfg.Module, strings.Join(tried, ", "))
	}
	p.argv, p.source, p.resolved = first, "defaults", true
	return p.argv, nil
}

// unavailable is Describe's Unavailable when the framework is not
// installed: the reason and the one command that installs it.
func (p *Plugin) unavailable(reason string) string {
	return fmt.Sprintf("%s; install it with: %s (or point %s at an interpreter that has it)",
		reason, p.cfg.Install, pluginapi.InterpreterEnv(p.cfg.Name))
}

// ensureLocked returns a running worker, starting one if needed.
func (p *Plugin) ensureLocked(ctx context.Context) (*worker, error) {
	if p.w != nil && p.w.alive() {
		return p.w, nil
	}
	p.w = nil
	if p.startErr != nil {
		// A worker that could not start will not start on a second try
		// either (the same interpreter, the same import): say so at once.
		return nil, p.startErr
	}
	argv, err := p.resolveLocked()
	if err != nil {
		return nil, err
	}
	if p.missing != "" {
		return nil, errNotInstalled{p.missing}
	}
	modules := [][2]string{{LibraryModule, librarySource}, {p.cfg.WorkerModule, p.cfg.WorkerSource}}
	w, err := startWorker(ctx, argv, p.cfg.Env, modules)
	if err != nil {
		if ctx.Err() == nil {
			p.startErr = err
		}
		return nil, err
	}
	if !w.hello.OK {
		w.close()
		if w.hello.Missing {
			err = errNotInstalled{fmt.Sprintf("%s does not import in %s: %s", p.cfg.Module, strings.Join(argv, " "), w.hello.Error)}
		} else {
			err = fmt.Errorf("%s is installed in %s but does not import: %s\nits last lines:\n%s",
				p.cfg.Module, strings.Join(argv, " "), w.hello.Error, pluginapi.LastLines(w.stderr.String(), 20))
		}
		p.startErr = err
		return nil, err
	}
	p.w = w
	return w, nil
}

type errNotInstalled struct{ reason string }

func (e errNotInstalled) Error() string { return e.reason }

// Describe starts the worker and reports what it found: the framework's
// version and devices, or why it cannot run.
func (p *Plugin) Describe(ctx context.Context, _ pluginapi.DescribeRequest) (pluginapi.DescribeResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := pluginapi.DescribeResponse{Framework: p.cfg.Name, Version: "unknown", Capabilities: p.cfg.Capabilities,
		Build: map[string]string{}}
	w, err := p.ensureLocked(ctx)
	if argv := p.argv; argv != nil {
		d.Interpreter = strings.Join(argv, " ")
	}
	var ni errNotInstalled
	switch {
	case errors.Is(err, ErrInterpreter):
		return d, err
	case errors.As(err, &ni):
		d.Version = "not installed"
		d.Unavailable = p.unavailable(ni.reason)
		return d, nil
	case err != nil:
		// Installed but broken: it lists no devices (it could not ask the
		// framework), so the host runs its cells on every device it plans,
		// and each reports this as an error rather than hide it as a skip.
		msg := pluginapi.FirstLine(err.Error())
		if last := pluginapi.LastLine(err.Error()); last != msg {
			msg += "; it said: " + last
		}
		d.Warnings = append(d.Warnings, "the framework does not start; every check will report: "+msg)
		return d, nil
	}
	h := w.hello
	if h.Describe.Framework != "" && h.Describe.Framework != p.cfg.Name {
		d.Warnings = append(d.Warnings, fmt.Sprintf("worker says it is %q", h.Describe.Framework))
	}
	if h.Describe.Version != "" {
		d.Version = h.Describe.Version
	}
	for k, v := range h.Describe.Build {
		d.Build[k] = v
	}
	d.Build["python"] = h.Python
	d.Build["numpy"] = h.Numpy
	if h.Executable != "" {
		d.Build["python_executable"] = h.Executable
	}
	d.Build["interpreter_from"] = p.source
	for _, dv := range h.Describe.Devices {
		d.Devices = append(d.Devices, pluginapi.Device{ID: dv.ID, Kind: dv.Kind, Name: dv.Name, UUID: dv.UUID, Precisions: dv.Precisions})
	}
	d.Warnings = append(d.Warnings, h.Describe.Warnings...)
	if ps := h.Describe.Capabilities.Precisions; len(ps) > 0 {
		// The worker knows which modes its framework runs (docs/spec.md §9).
		d.Capabilities.Precisions = ps
	}
	return d, nil
}

func errorResponse(format string, a ...any) pluginapi.RunResponse {
	return pluginapi.RunResponse{Status: pluginapi.StatusError, Message: fmt.Sprintf(format, a...)}
}

// Run forwards one check to the worker.
func (p *Plugin) Run(ctx context.Context, req pluginapi.RunRequest) (pluginapi.RunResponse, error) {
	return p.run(ctx, req, "")
}

// RunDType is Run with the worker computing in dtype ("float64" for the
// oracle cross-check; "" is the framework's float32).
func (p *Plugin) RunDType(ctx context.Context, req pluginapi.RunRequest, dtype string) (pluginapi.RunResponse, error) {
	return p.run(ctx, req, dtype)
}

func (p *Plugin) run(ctx context.Context, req pluginapi.RunRequest, dtype string) (pluginapi.RunResponse, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, err := p.ensureLocked(ctx)
	var ni errNotInstalled
	switch {
	case errors.As(err, &ni):
		return pluginapi.RunResponse{Status: pluginapi.StatusSkip, Message: p.unavailable(ni.reason)}, nil
	case err != nil && ctx.Err() != nil:
		return pluginapi.RunResponse{}, ctx.Err()
	case err != nil:
		return errorResponse("%s: %v", p.cfg.Name, err), nil
	}
	perf := req.Perf
	if req.Check == pluginapi.CheckPerf {
		if err := perf.Validate(); err != nil {
			return errorResponse("%v", err), nil
		}
	}
	hdr := map[string]any{
		"type": "run", "model": req.Model, "check": req.Check, "device": req.Device,
		"precision": req.Precision, "want_activations": req.WantActivations,
		"perf": map[string]any{"warmup": perf.Warmup, "iterations": perf.Iterations, "latency_batch": perf.LatencyBatch,
			"throughput_batches": perf.ThroughputBatches, "train_batch": perf.TrainBatch,
			"max_iterations": perf.MaxIterations, "max_seconds": perf.MaxSeconds, "target_precision": perf.TargetPrecision},
	}
	if dtype != "" {
		hdr["dtype"] = dtype
	}
	var r result
	blobs, err := w.call(ctx, hdr, &r, req.Weights, req.Inputs)
	if err != nil {
		p.w = nil
		if ctx.Err() != nil {
			return pluginapi.RunResponse{}, ctx.Err()
		}
		// The worker died or broke the protocol: that is a crash of the
		// framework's process (docs/spec.md §5.6), not an error it raised.
		resp := errorResponse("%v", w.fail(fmt.Sprintf("%s %s on %s", req.Model, req.Check, req.Device), err))
		resp.Status = pluginapi.StatusCrash
		return resp, nil
	}
	// The worker's response is the schema's RunResponse (worker.go
	// decodes it strictly); only the outputs travel as a blob.
	resp := r.RunResponse
	switch r.Status {
	case pluginapi.StatusOK:
		if len(blobs) != 1 {
			return errorResponse("worker answered ok with %d blobs, want 1", len(blobs)), nil
		}
		resp.Outputs = blobs[0]
	case pluginapi.StatusError, pluginapi.StatusSkip:
	default:
		return errorResponse("worker answered status %q: %s", r.Status, r.Message), nil
	}
	return resp, nil
}

// Close ends the worker, if one runs.
func (p *Plugin) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w != nil {
		p.w.close()
		p.w = nil
	}
}

// The local TensorFlow + Keras environment that scripts/setup.d/30-python.sh
// installs (pins in scripts/setup.d/requirements-tf.txt), and the one
// command that makes it by hand.
const (
	TFVenvPython  = "/opt/dlcompat/venv-tf/bin/python3"
	TFVenvInstall = "python3 -m venv /opt/dlcompat/venv-tf && /opt/dlcompat/venv-tf/bin/pip install tensorflow-cpu==2.21.0 keras==3.15.1"
)

// JAXPins are the jax packages in that environment (and in TFImage), as
// requirements-tf.txt pins them: the jax plugin's framework and Keras's
// second backend.
const JAXPins = "jax==0.10.2 jaxlib==0.10.2"

// TFImage is the local image with TensorFlow, Keras and jax that
// scripts/build-images.sh builds (scripts/images/tensorflow-cpu).
const TFImage = "dlcompat/tensorflow-cpu:bookworm"

// WithTFVenv returns c with what the plugins that run on the local
// TensorFlow venv (tensorflow, keras, jax) share: the venv's install command,
// the interpreters tried (python3, the venv's, /usr/bin/python3) and
// TensorFlow's environment.
func (c Config) WithTFVenv() Config {
	c.Install = TFVenvInstall
	c.Interpreters = []string{"python3", TFVenvPython, "/usr/bin/python3"}
	c.Env = []string{"CUDA_DEVICE_ORDER=PCI_BUS_ID", "TF_CPP_MIN_LOG_LEVEL=2"}
	return c
}
