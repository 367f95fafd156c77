package exec

import (
	"os"
	osexec "os/exec"

	"github.com/hashicorp/go-plugin"
)

// Spec is a plugin to start: a binary and what to give it.
type Spec struct {
	// Name is the framework name the plugin is expected to report
	// (from its file name: dlcompat-plugin-<name>).
	Name string
	Path string
	Args []string
	// Env is added to the plugin's environment.
	Env []string
	// Image is the container image the plugin runs in, for executors that
	// use one; it makes a framework-version row of its own.
	Image string
	// Executor starts this plugin; nil means the run's default executor.
	Executor Executor
}

// Executor configures how go-plugin starts a plugin.
type Executor interface {
	// Name is "local", "docker", ...
	Name() string
	// Configure fills cfg.Cmd or cfg.RunnerFunc for spec.
	Configure(spec Spec, cfg *plugin.ClientConfig) error
}

// Local runs plugins as subprocesses of the host.
type Local struct{}

var _ Executor = Local{}

func (Local) Name() string { return "local" }

// Configure starts the plugin binary directly. The plugin inherits the
// host environment (a Python-backed plugin needs PATH and friends) plus
// spec.Env. On Linux the kernel kills it if the host dies, so a SIGKILLed
// dlcompat leaves no plugin behind.
func (Local) Configure(spec Spec, cfg *plugin.ClientConfig) error {
	cmd := osexec.Command(spec.Path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.SysProcAttr = sysProcAttr()
	cfg.Cmd = cmd
	return nil
}

