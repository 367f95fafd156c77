package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
)

// containerSpec is everything a container needs before it is created.
type containerSpec struct {
	pool          *dockertest.Pool
	spec          exec.Spec
	binary        string // absolute host path of the plugin
	referenceDir  string // absolute host path, or ""
	goPluginEnv   []string
	hostSocketDir string
	name          string
	labels        map[string]string
	limits        Limits // resolved
	// hostRoot is where /dev and /etc/group are read for an AMD GPU;
	// "" is "/" (tests give a tree of their own).
	hostRoot string
}

// container is a go-plugin runner.Runner: one plugin in one container.
type container struct {
	containerSpec

	id               string
	stdoutR, stderrR *io.PipeReader
	stdoutW, stderrW *io.PipeWriter

	rocm rocmAccess // an AMD GPU's device nodes and groups, set by Start

	exited   chan struct{} // closed when the container has stopped
	exitOnce sync.Once
	exitCode int
	exitErr  error
}

var _ runner.Runner = (*container)(nil)

func newContainer(cs containerSpec) *container {
	c := &container{containerSpec: cs, exited: make(chan struct{})}
	c.stdoutR, c.stdoutW = io.Pipe()
	c.stderrR, c.stderrW = io.Pipe()
	return c
}

// env is what the plugin gets: go-plugin's variables (the host's own
// environment is skipped), the socket directory as the container sees it,
// a writable HOME, the reference directory, and the spec's variables.
func (c *container) env() []string {
	var env []string
	for _, kv := range c.goPluginEnv {
		if !strings.HasPrefix(kv, plugin.EnvUnixSocketDir+"=") {
			env = append(env, kv)
		}
	}
	env = append(env, plugin.EnvUnixSocketDir+"="+SocketMount, "HOME=/tmp")
	if c.referenceDir != "" {
		env = append(env, EnvReferenceDir+"="+ReferenceMount)
	}
	return append(env, c.spec.Env...)
}

func (c *container) entrypoint() string { return path.Join(PluginDir, filepath.Base(c.binary)) }

func (c *container) configs() (*dc.Config, *dc.HostConfig, []deviceRequest) {
	cfg := &dc.Config{
		Image:      c.spec.Image,
		Entrypoint: []string{c.entrypoint()},
		Cmd:        c.spec.Args,
		Env:        c.env(),
		User:       c.limits.User,
		// Not /tmp: the engine (20.10) makes a working directory missing
		// from the image, and /tmp made so stays root's under its tmpfs.
		WorkingDir:   "/",
		Labels:       c.labels,
		AttachStdout: true,
		AttachStderr: true,
	}
	mounts := []dc.HostMount{
		{Type: "bind", Source: c.binary, Target: c.entrypoint(), ReadOnly: true},
		{Type: "bind", Source: c.hostSocketDir, Target: SocketMount},
	}
	if c.referenceDir != "" {
		mounts = append(mounts, dc.HostMount{Type: "bind", Source: c.referenceDir, Target: ReferenceMount, ReadOnly: true})
	}
	hc := &dc.HostConfig{
		AutoRemove:     true, // a plugin that exits (its host gone) takes its container with it
		NetworkMode:    "none",
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges"},
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": c.limits.tmpfs()},
		Mounts:         mounts,
		PidsLimit:      c.limits.Pids, // Unlimited (-1) is the engine's "no limit" too
	}
	if c.limits.MemoryBytes > 0 {
		hc.Memory, hc.MemorySwap = c.limits.MemoryBytes, c.limits.MemoryBytes // no swap beyond it
	}
	var devices []deviceRequest
	switch c.spec.Device.Kind {
	case "gpu":
		devices = []deviceRequest{GPURequest(c.spec.Device.UUID)}
	case "rocm":
		// No device request: AMD GPUs need no runtime of their own, only
		// /dev/kfd and the GPU's render node (the ROCm runtime uses the
		// GPUs whose render node it can open, so the container sees this
		// one alone) and the groups that own them.
		hc.Devices, hc.GroupAdd = c.rocm.devices, c.rocm.groups
	}
	return cfg, hc, devices
}

// Start creates the container, attaches to its output (before it starts,
// so the handshake line cannot be missed), and starts it. It never pulls:
// PrepareImage does that, when the policy allows.
func (c *container) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil && ctx.Err() == nil && !errors.Is(err, ErrImageMissing) && !errors.Is(err, ErrNoGPURuntime) && !errors.Is(err, ErrNoAMDDevice) {
			if gone := engineAnswers(ctx, c.pool); gone != nil {
				err = gone
			}
		}
		if err != nil && ctx.Err() == nil {
			err = environment{err}
		}
	}()
	if err := c.shareSocketDir(); err != nil {
		return err
	}
	if _, err := c.pool.Client.InspectImage(c.spec.Image); errors.Is(err, dc.ErrNoSuchImage) {
		return missingImage(c.spec.Image, PullNever)
	}
	if c.spec.Device.Kind == "rocm" {
		if c.rocm, err = rocmDevices(c.hostRoot, c.spec.Device); err != nil {
			return err
		}
	}
	cfg, hc, devices := c.configs()
	id, err := createContainer(ctx, c.pool.Client, c.name, cfg, hc, devices)
	if err != nil {
		return err
	}
	c.id = id
	success := make(chan struct{})
	cw, err := c.pool.Client.AttachToContainerNonBlocking(dc.AttachToContainerOptions{
		Container: id, OutputStream: c.stdoutW, ErrorStream: c.stderrW,
		Stream: true, Stdout: true, Stderr: true, Success: success,
	})
	if err != nil {
		c.remove(ctx)
		return fmt.Errorf("docker: attaching to %s: %v", c.name, err)
	}
	select {
	case <-success:
		success <- struct{}{}
	case <-ctx.Done():
		go func() { <-success; success <- struct{}{} }()
		_ = cw.Close()
		c.remove(ctx)
		return ctx.Err()
	}
	go func() {
		// The stream ends when the container stops: go-plugin then sees
		// the end of the plugin's stdout and stderr.
		_ = cw.Wait()
		c.stdoutW.Close()
		c.stderrW.Close()
	}()
	if err := c.pool.Client.StartContainerWithContext(id, nil, ctx); err != nil {
		c.remove(ctx)
		return c.startError(err)
	}
	go c.waitExit()
	return nil
}

// shareSocketDir readies go-plugin's socket directory for a plugin of
// another uid: the plugin's group gets it (go-plugin chowns it too, when
// it made it), with the sticky bit, so the plugin can create its socket
// and reach the host's, but cannot remove or replace anything it did not
// create. Only the host's uid and the plugin's group can enter it, and the
// run directory above it is the host's alone (0700), so nothing the
// plugin leaves there can be reached by another user of the host; the
// host removes it all when the plugin stops.
func (c *container) shareSocketDir() error {
	_, gid, err := c.limits.ids()
	if err == nil {
		err = os.Chown(c.hostSocketDir, -1, gid)
	}
	if err == nil {
		err = os.Chmod(c.hostSocketDir, 0o770|os.ModeSticky)
	}
	if err != nil {
		return fmt.Errorf("docker: sharing the socket directory with the plugin's group (user %s): %v (a dlcompat that is not root can only share it with its own group: leave the user's gid unset)", c.limits.User, err)
	}
	return nil
}

// startError turns the daemon's refusal into what the user must do.
func (c *container) startError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "could not select device driver") {
		return fmt.Errorf("%w, so a container cannot be given GPU %s (%s): install and configure the NVIDIA Container Toolkit (nvidia-ctk runtime configure --runtime=docker, then restart dockerd)",
			ErrNoGPURuntime, c.spec.Device.ID, c.spec.Device.UUID)
	}
	return fmt.Errorf("docker: starting %s (image %s): %s", c.name, c.spec.Image, strings.TrimSpace(msg))
}

// waitExit records the exit status; a container already auto-removed has
// stopped, with a status nobody can ask for any more.
func (c *container) waitExit() {
	code, err := c.pool.Client.WaitContainer(c.id)
	var nsc *dc.NoSuchContainer
	if errors.As(err, &nsc) {
		err = nil
	} else if err != nil {
		// The wait ends without a status only when the engine's
		// connection does.
		err = environment{fmt.Errorf("%w: waiting for container %s: %v", ErrEngineGone, c.name, err)}
	}
	c.markExited(code, err)
}

func (c *container) markExited(code int, err error) {
	c.exitOnce.Do(func() {
		c.exitCode, c.exitErr = code, err
		close(c.exited)
	})
}

// Wait blocks until the container has stopped.
func (c *container) Wait(ctx context.Context) error {
	select {
	case <-c.exited:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.exitErr != nil {
		return c.exitErr
	}
	if c.exitCode != 0 {
		return fmt.Errorf("container %s exited with status %d", c.name, c.exitCode)
	}
	return nil
}

// Kill removes the container now (and so stops it).
func (c *container) Kill(ctx context.Context) error {
	if c.id == "" {
		return nil
	}
	err := removeContainer(ctx, c.pool.Client, c.id)
	select {
	case <-c.exited:
	case <-ctx.Done():
	}
	return err
}

// remove cleans up after a failed start, even one whose context was
// cancelled.
func (c *container) remove(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	_ = removeContainer(ctx, c.pool.Client, c.id)
	c.markExited(-1, nil)
	c.stdoutW.Close()
	c.stderrW.Close()
}

func (c *container) Stdout() io.ReadCloser { return c.stdoutR }
func (c *container) Stderr() io.ReadCloser { return c.stderrR }

// Name is the plugin and its image, for go-plugin's messages.
func (c *container) Name() string {
	return filepath.Base(c.binary) + " in " + c.spec.Image
}

// ID is the container's id.
func (c *container) ID() string { return c.id }

var _ exec.ProcessRooted = (*container)(nil)

// RootPID is the host PID of the container's first process, the plugin
// (the engine's State.Pid): NVML, on the host, knows the container's
// processes by their host PIDs.
func (c *container) RootPID(ctx context.Context) (int, error) {
	if c.id == "" {
		return 0, exec.ErrNoProcess
	}
	info, err := c.pool.Client.InspectContainerWithContext(c.id, ctx)
	if err != nil {
		return 0, fmt.Errorf("inspecting container %s: %v", c.name, err)
	}
	if !info.State.Running || info.State.Pid <= 0 {
		return 0, exec.ErrNoProcess
	}
	return info.State.Pid, nil
}

// PluginToHost maps the socket the plugin announces to the host's path.
func (c *container) PluginToHost(pluginNet, pluginAddr string) (string, string, error) {
	if pluginNet != "unix" || path.Dir(pluginAddr) != SocketMount {
		return "", "", fmt.Errorf("plugin %s announced %s %s, not a unix socket in %s (rebuild it with `make build`)", c.Name(), pluginNet, pluginAddr, SocketMount)
	}
	hostAddr := filepath.Join(c.hostSocketDir, path.Base(pluginAddr))
	// The host dials only a socket that the plugin made: not a link to
	// one of the host's (the engine's, say), nor anything else it planted.
	fi, err := os.Lstat(hostAddr)
	if err != nil {
		return "", "", fmt.Errorf("plugin %s announced %s, which is not there: %v", c.Name(), pluginAddr, err)
	}
	uid, _, _ := c.limits.ids()
	if owner, known := fileUID(fi); fi.Mode().Type() != os.ModeSocket || known && owner != uid {
		return "", "", fmt.Errorf("plugin %s announced %s, which is not a socket of the plugin's uid %d (%v): refused", c.Name(), pluginAddr, uid, fi.Mode())
	}
	return pluginNet, hostAddr, nil
}

// HostToPlugin maps a host socket in the shared directory to the
// container's path.
func (c *container) HostToPlugin(hostNet, hostAddr string) (string, string, error) {
	if hostNet != "unix" || filepath.Dir(hostAddr) != c.hostSocketDir {
		return "", "", fmt.Errorf("host address %s %s is not in the shared socket directory %s", hostNet, hostAddr, c.hostSocketDir)
	}
	return hostNet, path.Join(SocketMount, filepath.Base(hostAddr)), nil
}

// Diagnose says what became of the container, for a plugin that did not
// complete the handshake.
func (c *container) Diagnose(ctx context.Context) string {
	if c.id == "" {
		return "the container was never created"
	}
	info, err := c.pool.Client.InspectContainerWithContext(c.id, ctx)
	if err != nil {
		return fmt.Sprintf("container %s (image %s) is gone: it stopped and was removed", c.name, c.spec.Image)
	}
	s := info.State
	switch {
	case s.Running:
		return fmt.Sprintf("container %s (image %s) runs, but %s printed something other than go-plugin's handshake on stdout", c.name, c.spec.Image, c.entrypoint())
	case s.OOMKilled:
		return fmt.Sprintf("container %s (image %s) was killed for using more than its memory limit (%s)", c.name, c.spec.Image, c.limits)
	default:
		note := fmt.Sprintf("container %s (image %s) exited with status %d", c.name, c.spec.Image, s.ExitCode)
		if s.Error != "" {
			note += ": " + s.Error
		}
		if s.ExitCode == 127 || s.ExitCode == 126 {
			note += " (the plugin binary could not be executed in this image: plugins must be static, CGO_ENABLED=0)"
		}
		return note
	}
}

// environment marks a container's failure to start as the environment's,
// not the plugin's (exec.ErrEnvironment).
type environment struct{ err error }

func (e environment) Error() string        { return e.err.Error() }
func (e environment) Unwrap() error        { return e.err }
func (e environment) Is(target error) bool { return target == exec.ErrEnvironment }

// removeContainer force-removes a container and returns once it is gone.
// One already gone is not an error; one the daemon is already removing
// (auto-remove) is waited for.
func removeContainer(ctx context.Context, client *dc.Client, id string) error {
	err := client.RemoveContainer(dc.RemoveContainerOptions{ID: id, Force: true, RemoveVolumes: true, Context: ctx})
	var nsc *dc.NoSuchContainer
	switch {
	case err == nil || errors.As(err, &nsc):
		return nil
	case !strings.Contains(err.Error(), "already in progress"):
		return fmt.Errorf("docker: removing container %.12s: %v", id, err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := client.InspectContainerWithContext(id, ctx); errors.As(err, &nsc) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("docker: container %.12s is still being removed: %v", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// removeRun removes every container labelled with runID and, unless
// owner is "", with owner as their LabelOwner; it returns how many it
// found.
func removeRun(ctx context.Context, pool *dockertest.Pool, runID, owner string) (removed int, err error) {
	labels := []string{LabelRun + "=" + runID} // label filters must all match
	if owner != "" {
		labels = append(labels, LabelOwner+"="+owner)
	}
	cs, err := pool.Client.ListContainers(dc.ListContainersOptions{All: true, Context: ctx,
		Filters: map[string][]string{"label": labels}})
	if err != nil {
		return 0, fmt.Errorf("docker: listing the containers of run %s: %v", runID, err)
	}
	var errs []error
	for _, ct := range cs {
		if err := removeContainer(ctx, pool.Client, ct.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return len(cs), errors.Join(errs...)
}
