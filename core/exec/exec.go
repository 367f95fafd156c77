package exec

import (
	"context"
	"errors"
	"fmt"
	osexec "os/exec"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/dlcompat/dlcompat/matrix"
)

// Spec is a plugin to start: a binary and what to give it.
type Spec struct {
	// Name names the spec's row: the framework (from the plugin's file
	// name, dlcompat-plugin-<framework>), and for a variant
	// "<framework>+<variant>".
	Name string
	// Framework is the framework alone, without the variant.
	Framework string
	// Variant is the value of the framework's variant axis this spec runs
	// (Keras's backend), set in Env; "" when the plugin has no axis or
	// runs its default.
	Variant string
	Path    string
	Args    []string
	// Env is added to the plugin's environment.
	Env []string
	// Image is the container image the plugin runs in, for executors that
	// use one; it makes a framework-version row of its own.
	Image string
	// Executor starts this plugin; nil means the run's default executor.
	Executor Executor
	// Device pins the plugin to one host device, for executors that pin
	// (see DevicePinner): a container then sees that GPU alone. The zero
	// value means the plugin sees every device.
	Device Device
}

// Base is the framework the spec runs: Framework, or Name for a spec
// built without one.
func (s Spec) Base() string {
	if s.Framework != "" {
		return s.Framework
	}
	return s.Name
}

// Device is a host device a plugin is pinned to.
type Device struct {
	ID   string // "cpu", "gpu:0", "rocm:0": the host's id, as in the matrix
	Kind string // "cpu" | "gpu" | "rocm"
	UUID string // the GPU's UUID ("GPU-…"); empty for the CPU
	// RenderNode is an AMD GPU's DRM render node on the host
	// ("/dev/dri/renderD128"), which a container gets with /dev/kfd.
	RenderNode string
}

// ErrEnvironment is matched (errors.Is) by an executor's errors about what
// a plugin runs in rather than the plugin itself: no engine, no image, no
// GPU runtime. The plugin never ran, so rebuilding it would not help.
var ErrEnvironment = errors.New("the plugin's environment is not available")

// Executor configures how go-plugin starts a plugin.
type Executor interface {
	// Name is "local", "docker", ...
	Name() string
	// Configure fills cfg.Cmd or cfg.RunnerFunc for spec.
	Configure(spec Spec, cfg *plugin.ClientConfig) error
}

// Optional interfaces an Executor may implement; the runner checks for
// them, so an executor that needs none stays as small as Local.
type (
	// RunScoped is an executor that holds resources for a whole run
	// (containers, a socket directory). The runner opens it with the run's
	// id before the first plugin starts and closes it when the run ends,
	// however it ends; what a killed host cannot close, the executor must
	// clean up itself.
	RunScoped interface {
		Open(ctx context.Context, runID string) error
		Close() error
	}
	// DevicePinner is an executor that starts one plugin per device (a
	// container given exactly one GPU): the runner then starts each plugin
	// once per selected device, with Spec.Device set.
	DevicePinner interface {
		PinsDevices() bool
	}
	// ImagePreparer is an executor that runs images. The runner calls
	// PrepareImage before starting a spec that names an image: it makes
	// sure the image is there (pulling it only if the executor's policy
	// allows) and returns its digest, which the results record.
	ImagePreparer interface {
		PrepareImage(ctx context.Context, image string) (digest string, err error)
	}
	// EnvironmentChecker is an executor whose environment can fail during
	// a run (a Docker engine that stops). After a plugin died or could not
	// start, the runner asks CheckEnvironment: an error (matching
	// ErrEnvironment) means the environment is gone, not the plugin, so the
	// cells left are not the plugin's crashes but unknown, for --resume,
	// and the run is an infrastructure failure.
	EnvironmentChecker interface {
		CheckEnvironment(ctx context.Context) error
	}
	// Recorder is an executor whose settings bear on what a run measures
	// (a container's limits): the runner records Settings, which must
	// marshal to JSON, in the run's configuration, so the results say
	// what each plugin ran under and --resume cannot change it.
	Recorder interface {
		Settings() any
	}
	// GPURuntimeChecker is an executor that needs something of its own
	// to give a plugin a GPU (docker: the NVIDIA container runtime). The
	// runner asks it once, before the cells, when the run has a GPU, and
	// records the answer in the run's preflight; nil means it is there,
	// an error says what is missing and how to install it.
	GPURuntimeChecker interface {
		CheckGPURuntime(ctx context.Context) error
	}
	// PackageLister is an executor that can say what is installed where a
	// plugin runs: an image's packages (docker), the interpreter's
	// (local). interpreter is what the plugin reported it runs ("" for a
	// plugin written in Go, whose list is its binary's modules). The
	// runner asks once per framework row; an executor caches by what it
	// lists (an image ID).
	PackageLister interface {
		ListPackages(ctx context.Context, spec Spec, interpreter string) (*matrix.Packages, error)
	}
)

// Local runs plugins as subprocesses of the host.
type Local struct{}

var _ Executor = Local{}

func (Local) Name() string { return "local" }

// Configure starts the plugin binary directly, through a runner of this
// package (see localRunner). The plugin inherits the host environment (a
// Python-backed plugin needs PATH and friends) plus spec.Env, which wins.
// The plugin runs in a process group of its own: when it exits or is
// killed, its descendants are killed with it, and its stdout and stderr
// are read for at most ExitDrain after that, so a descendant that escaped
// the group cannot hold the host. Its socket lives in a directory of this
// host process's, removed when the plugin ends (see socketDir). On Linux
// the kernel kills the plugin if the host dies, so a SIGKILLed dlcompat
// leaves no plugin behind (the plugin's own descendants: see doc.go).
func (Local) Configure(spec Spec, cfg *plugin.ClientConfig) error {
	root, err := acquireSocketDir()
	if err != nil {
		return fmt.Errorf("%s: the plugin's socket directory: %w", spec.Name, err)
	}
	r := &localRunner{spec: spec, done: make(chan struct{})}
	cfg.Cmd = nil
	cfg.RunnerFunc = func(_ hclog.Logger, cmd *osexec.Cmd, socketDir string) (runner.Runner, error) {
		r.init(cmd, socketDir)
		return r, nil
	}
	cfg.UnixSocketConfig = &plugin.UnixSocketConfig{TempDir: root}
	return nil
}
