package pluginhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// BinaryPrefix is the file-name prefix of plugin binaries.
const BinaryPrefix = "dlcompat-plugin-"

// Errors of this package.
var (
	// ErrNoPlugins: the plugin directory holds no plugin binary.
	ErrNoPlugins = errors.New("no plugins found")
	// ErrStart: a plugin could not be started or did not complete the
	// handshake (infrastructure, exit 3 when nothing else could run).
	ErrStart = errors.New("plugin did not start")
	// errAbandoned: a start given up because the run ended (the run's
	// own error says so; never shown alone).
	errAbandoned = errors.New("start abandoned")
)

// Plugin is a plugin binary found by Discover, with its manifest.
type Plugin struct {
	Path     string
	Manifest pluginapi.Manifest
	// ManifestErr says why the binary printed no manifest (a plugin built
	// before manifests, or not one of ours); Manifest then holds the name
	// alone, from the file name.
	ManifestErr string
}

// Spec is the plugin as the spec that starts it, before any executor,
// image or variant is chosen.
func (p Plugin) Spec() exec.Spec {
	return exec.Spec{Name: p.Manifest.Name, Framework: p.Manifest.Name, Path: p.Path}
}

// ManifestTimeout bounds one plugin binary's answer to ManifestArg: it
// prints constants, so only a binary that is not a plugin takes long.
const ManifestTimeout = 10 * time.Second

// Discover lists the plugin binaries in dir (files named
// dlcompat-plugin-<framework>, executable), sorted by name, each with the
// manifest it prints (pluginapi.ManifestArg). The file name names the
// framework, whatever the manifest says.
func Discover(ctx context.Context, dir string) ([]Plugin, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w in %s: %v (build them with `make build`, or point --plugins-dir elsewhere)", ErrNoPlugins, dir, err)
	}
	var found []Plugin
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, BinaryPrefix) || e.IsDir() {
			continue
		}
		info, err := e.Info()
		if err != nil || info.Mode()&0o111 == 0 {
			continue
		}
		path, _ := filepath.Abs(filepath.Join(dir, name))
		p := Plugin{Path: path}
		p.Manifest, err = ReadManifest(ctx, path)
		if err != nil {
			p.ManifestErr = err.Error()
		}
		p.Manifest.Name = strings.TrimPrefix(name, BinaryPrefix)
		found = append(found, p)
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w in %s (build them with `make build`)", ErrNoPlugins, dir)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Manifest.Name < found[j].Manifest.Name })
	return found, nil
}

// ReadManifest runs the plugin binary at path with pluginapi.ManifestArg
// and decodes what it prints.
func ReadManifest(ctx context.Context, path string) (pluginapi.Manifest, error) {
	ctx, cancel := context.WithTimeout(ctx, ManifestTimeout)
	defer cancel()
	cmd := osexec.CommandContext(ctx, path, pluginapi.ManifestArg)
	cmd.WaitDelay = time.Second // a child holding stdout must not hang discovery
	var out bytes.Buffer
	cmd.Stdout = &limitedWriter{w: &out, left: 1 << 20}
	if err := cmd.Run(); err != nil {
		return pluginapi.Manifest{}, fmt.Errorf("%s %s: %v", path, pluginapi.ManifestArg, err)
	}
	var m pluginapi.Manifest
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return pluginapi.Manifest{}, fmt.Errorf("%s %s: not a manifest: %v", path, pluginapi.ManifestArg, err)
	}
	return m, nil
}

// limitedWriter keeps the first left bytes and drops the rest.
type limitedWriter struct {
	w    io.Writer
	left int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > l.left {
		p = p[:l.left]
	}
	l.left -= len(p)
	_, err := l.w.Write(p)
	return n, err
}

// StartError is a plugin that did not start or complete the handshake.
// It wraps ErrStart and keeps what the plugin wrote, so a cell can say
// the plugin's own last words, not just go-plugin's.
type StartError struct {
	Spec   exec.Spec
	Err    error
	Stderr string
}

func (e *StartError) Error() string   { return ErrStart.Error() + ": " + e.Err.Error() }
func (e *StartError) Unwrap() []error { return []error{ErrStart, e.Err} }

// LastStderrLine is the plugin's last non-empty stderr line, or "".
func (e *StartError) LastStderrLine() string { return pluginapi.LastLine(e.Stderr) }

// Instance is a started plugin.
type Instance struct {
	Spec      exec.Spec
	Executor  string
	Framework pluginapi.Framework
	Desc      pluginapi.DescribeResponse
	// Version is the negotiated protocol version.
	Version int

	client *plugin.Client
	stderr *Tail
	runner *startedRunner
}

// startedRunner keeps the go-plugin runner an executor's RunnerFunc made,
// which go-plugin does not hand back: it is the one that knows the
// plugin's processes.
type startedRunner struct {
	mu sync.Mutex
	r  runner.Runner
}

// capture wraps cfg's RunnerFunc so that the runner it makes is kept.
func (s *startedRunner) capture(cfg *plugin.ClientConfig) {
	newRunner := cfg.RunnerFunc
	if newRunner == nil {
		return
	}
	cfg.RunnerFunc = func(l hclog.Logger, cmd *osexec.Cmd, dir string) (runner.Runner, error) {
		r, err := newRunner(l, cmd, dir)
		s.mu.Lock()
		s.r = r
		s.mu.Unlock()
		return r, err
	}
}

// get is the runner, nil before the plugin started (or for an Instance
// made without Start).
func (s *startedRunner) get() runner.Runner {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r
}

// HostPIDs returns the host PIDs of the plugin's processes: its own and
// its descendants' (the framework's worker), for the device memory they
// hold. An executor whose runner cannot name its process says so.
func (i *Instance) HostPIDs(ctx context.Context) ([]int, error) {
	pr, ok := i.runner.get().(exec.ProcessRooted)
	if !ok {
		return nil, fmt.Errorf("the %s executor cannot say which host processes are the plugin's", i.Executor)
	}
	root, err := pr.RootPID(ctx)
	if err != nil {
		return nil, err
	}
	return exec.ProcessTree(root), nil
}

// StartTimeout bounds start-up plus handshake.
const StartTimeout = 30 * time.Second

// DescribeTimeout bounds the plugin's Describe, which for a Python plugin
// starts the worker and imports the framework: TensorFlow alone took 5 to
// 12 s on a loaded 2-core machine, and longer from a cold disk or image.
const DescribeTimeout = 5 * time.Minute

// Start launches a plugin, negotiates the protocol and calls Describe.
func Start(ctx context.Context, ex exec.Executor, spec exec.Spec) (*Instance, error) {
	tail := NewTail(64 << 10)
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: pluginapi.PluginSets(nil),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Stderr:           tail, // raw process stderr: panics, crashes
		SyncStderr:       tail, // what the plugin writes to os.Stderr after Serve
		SyncStdout:       tail,
		StartTimeout:     StartTimeout,
		GRPCDialOptions:  pluginapi.ClientDialOptions(),
		Logger:           hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Off}),
	}
	if err := ex.Configure(spec, cfg); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStart, spec.Name, err)
	}
	started := &startedRunner{}
	started.capture(cfg)
	client := plugin.NewClient(cfg)
	fail := func(err error) (*Instance, error) {
		client.Kill()
		msg := ""
		if t := pluginapi.LastLines(tail.String(), 20); t != "" {
			msg = "\nplugin stderr:\n" + t
		}
		return nil, &StartError{Spec: spec, Err: fmt.Errorf("%s (%s): %v%s", spec.Name, spec.Path, err, msg), Stderr: tail.String()}
	}
	rpc, err := handshake(ctx, client)
	if errors.Is(err, errAbandoned) {
		// Not fail(): Kill would wait for the handshake it gave up on.
		return nil, &StartError{Spec: spec, Err: fmt.Errorf("%s (%s): %w", spec.Name, spec.Path, err), Stderr: tail.String()}
	}
	if errors.Is(err, exec.ErrEnvironment) {
		return fail(err) // the plugin never ran: no hint about rebuilding it
	}
	if err != nil {
		return fail(fmt.Errorf("%v (host protocol %d; if the plugin was built from another dlcompat release, rebuild it with `make build`)", err, pluginapi.ProtocolVersion))
	}
	raw, err := rpc.Dispense(pluginapi.PluginName)
	if err != nil {
		return fail(err)
	}
	fw, ok := raw.(pluginapi.Framework)
	if !ok {
		return fail(fmt.Errorf("dispensed %T, not a Framework", raw))
	}
	inst := &Instance{Spec: spec, Executor: ex.Name(), Framework: fw, client: client, stderr: tail, runner: started, Version: client.NegotiatedVersion()}
	dctx, cancel := context.WithTimeout(ctx, DescribeTimeout)
	defer cancel()
	inst.Desc, err = fw.Describe(dctx, pluginapi.DescribeRequest{HostCapabilities: []string{"activations", "determinism-repeat"}})
	if err != nil {
		return fail(err)
	}
	return inst, nil
}

// handshake is client.Client(), given up when ctx ends: go-plugin holds
// the client's lock for the whole handshake (so Kill would wait too) and
// watches no context, and an interrupted run should not wait out
// StartTimeout. The abandoned plugin is killed once its handshake ends;
// should the host exit first, the executor's own guard (Pdeathsig, the
// container watchdog) stops it.
func handshake(ctx context.Context, client *plugin.Client) (plugin.ClientProtocol, error) {
	type result struct {
		rpc plugin.ClientProtocol
		err error
	}
	done := make(chan result, 1)
	go func() {
		rpc, err := client.Client()
		done <- result{rpc, err}
	}()
	select {
	case r := <-done:
		return r.rpc, r.err
	case <-ctx.Done():
		go func() {
			<-done
			client.Kill()
		}()
		return nil, fmt.Errorf("%w: %w", errAbandoned, ctx.Err())
	}
}

// Exited reports whether the plugin process has exited.
func (i *Instance) Exited() bool { return i.client.Exited() }

// StderrTail returns the last lines the plugin wrote.
func (i *Instance) StderrTail() string { return i.stderr.String() }

// Kill stops the plugin now, without the graceful wait: it is used on a
// hung or finished plugin, and in both cases there is nothing to save.
func (i *Instance) Kill() {
	if tk, ok := i.runner.get().(exec.TreeKiller); ok { // a local plugin: its whole process group
		tk.KillTree()
		i.client.Kill()
		return
	}
	if rc := i.client.ReattachConfig(); rc != nil && rc.Pid > 0 && rc.ReattachFunc == nil {
		if p, err := os.FindProcess(rc.Pid); err == nil {
			_ = p.Kill()
		}
	}
	i.client.Kill()
}

// Close ends the plugin gracefully.
func (i *Instance) Close() { i.client.Kill() }

// Tail keeps the end of a plugin's stderr: a pluginapi.Tail whose String
// leaves out go-plugin's own debug log lines.
type Tail struct{ *pluginapi.Tail }

// NewTail returns a Tail keeping the last max bytes.
func NewTail(max int) *Tail { return &Tail{pluginapi.NewTail(max)} }

// String returns the kept bytes without go-plugin's own debug log lines
// (JSON objects with "@level":"debug"), which only bury the plugin's.
func (t *Tail) String() string {
	raw := t.Tail.String()
	if !strings.Contains(raw, `"@level":"debug"`) {
		return raw
	}
	var keep []string
	for _, l := range strings.SplitAfter(raw, "\n") {
		if !strings.HasPrefix(l, `{"@level":"debug"`) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}
