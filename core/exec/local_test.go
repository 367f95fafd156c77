package exec_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
)

// The test binary re-runs itself as the plugin (and as the plugin's
// child) when envMode is set: the helper-process pattern.
const (
	envMode    = "DLCOMPAT_EXECTEST_MODE"
	envPidFile = "DLCOMPAT_EXECTEST_PIDFILE"
	// envOverride is set in the host and in Spec.Env.
	envOverride = "DLCOMPAT_EXECTEST_OVERRIDE"
)

func TestMain(m *testing.M) {
	switch os.Getenv(envMode) {
	case "":
		os.Exit(m.Run())
	case "child": // a descendant that outlives its parent: it never exits
		for {
			time.Sleep(time.Hour)
		}
	case "fail-handshake": // a child holds stdout; the plugin dies without a handshake
		spawnChild(false)
		fmt.Fprintln(os.Stderr, "helper: failing before the handshake")
		os.Exit(1)
	case "fail-handshake-escaped": // the same, with a child that left the process group
		spawnChild(true)
		os.Exit(1)
	case "serve": // a working plugin
		pluginapi.Serve(pluginapi.Manifest{Name: "stub"}, stub{})
		os.Exit(0)
	case "serve-with-child": // a working plugin with a child of its own
		spawnChild(false)
		pluginapi.Serve(pluginapi.Manifest{Name: "stub"}, stub{})
		os.Exit(0)
	}
	fmt.Fprintln(os.Stderr, "unknown", envMode)
	os.Exit(2)
}

// spawnChild starts the child with this process's stdout and stderr and
// writes its pid to $envPidFile; setsid takes it out of the process group.
func spawnChild(setsid bool) {
	self, _ := os.Executable()
	c := osexec.Command(self)
	c.Env = append(os.Environ(), envMode+"=child")
	c.Stdout, c.Stderr = os.Stdout, os.Stderr
	if setsid {
		c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := c.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	if err := os.WriteFile(os.Getenv(envPidFile), []byte(strconv.Itoa(c.Process.Pid)), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
}

type stub struct{}

func (stub) Describe(context.Context, pluginapi.DescribeRequest) (pluginapi.DescribeResponse, error) {
	// The version is what envOverride holds: what the plugin was given.
	return pluginapi.DescribeResponse{Framework: "stub", Version: os.Getenv(envOverride)}, nil
}

func (stub) Run(context.Context, pluginapi.RunRequest) (pluginapi.RunResponse, error) {
	return pluginapi.RunResponse{Status: pluginapi.StatusOK}, nil
}

// helper starts the test binary in mode as a Local plugin, as
// core/pluginhost does, with a StartTimeout far beyond the test's own
// bounds: nothing here may rely on it. It returns the client, its config
// and the file the plugin writes its child's pid to; a child still alive
// at the end of the test is killed.
func helper(t *testing.T, mode string, env ...string) (*plugin.Client, *plugin.ClientConfig, string) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("process groups and Pdeathsig: Linux only")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	cfg := &plugin.ClientConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: pluginapi.PluginSets(nil),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		StartTimeout:     10 * time.Minute,
		GRPCDialOptions:  pluginapi.ClientDialOptions(),
		Stderr:           io.Discard,
		Logger:           hclog.New(&hclog.LoggerOptions{Output: io.Discard, Level: hclog.Off}),
	}
	spec := exec.Spec{Name: "helper", Path: self, Env: append([]string{envMode + "=" + mode, envPidFile + "=" + pidFile}, env...)}
	if err := (exec.Local{}).Configure(spec, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if pid, err := readPid(pidFile); err == nil && !gone(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return plugin.NewClient(cfg), cfg, pidFile
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(b))
}

// gone reports whether pid has exited (a zombie that nobody reaps, as
// under a container's init, has).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z' || s[i+2] == 'X'
}

// waitGone waits until pid has exited; it fails the test if pid is still
// running after a bound no SIGKILLed process needs.
func waitGone(t *testing.T, what string, pid int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("%s (pid %d) still runs", what, pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// within runs f and fails the test if it has not returned after d: for
// calls that hung before a fix (d is far beyond what they need).
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s hung for %v", what, d)
	}
}

// TestHandshakeFailureWithChildHoldingStdout: a plugin that dies before
// its handshake while a child still holds its stdout must not hang the
// host (go-plugin reads stdout until EOF before it reaps the plugin), and
// the child dies with it, or, if it left the process group, is cut off.
func TestHandshakeFailureWithChildHoldingStdout(t *testing.T) {
	for _, tc := range []struct {
		desc, mode string
		killed     bool // the child dies with the plugin
	}{
		{"child in the plugin's process group", "fail-handshake", true},
		{"child that left the process group (setsid)", "fail-handshake-escaped", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			client, _, pidFile := helper(t, tc.mode)
			var err error
			within(t, time.Minute, "handshake and Kill", func() {
				_, err = client.Client()
				client.Kill()
			})
			if err == nil {
				t.Fatal("handshake succeeded")
			}
			pid, perr := readPid(pidFile)
			if perr != nil {
				t.Fatal(perr)
			}
			if tc.killed {
				waitGone(t, "the plugin's child", pid)
			}
		})
	}
}

// TestKillKillsDescendants: killing a plugin (at once, or go-plugin's
// way) kills its descendants too, and removes its socket.
func TestKillKillsDescendants(t *testing.T) {
	for _, tc := range []struct {
		desc string
		kill func(*plugin.Client, runner.Runner)
	}{
		{"KillTree, then go-plugin's Kill", func(c *plugin.Client, r runner.Runner) {
			tk, ok := r.(exec.TreeKiller)
			if !ok {
				t.Fatalf("the local runner %T cannot kill its tree", r)
			}
			tk.KillTree()
			c.Kill()
		}},
		{"go-plugin's Kill alone", func(c *plugin.Client, _ runner.Runner) { c.Kill() }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			client, cfg, pidFile := helper(t, "serve-with-child")
			started := capture(cfg)
			if _, err := client.Client(); err != nil {
				t.Fatal(err)
			}
			pid, err := readPid(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			sock := client.ReattachConfig().Addr.String()
			if _, err := os.Stat(sock); err != nil {
				t.Fatalf("the plugin's socket: %v", err)
			}
			within(t, time.Minute, "Kill", func() { tc.kill(client, started()) })
			waitGone(t, "the plugin's child", pid)
			if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the killed plugin's socket %s is left: %v", sock, err)
			}
		})
	}
}

// TestKilledPluginLeavesNoSocket: a SIGKILLed plugin cannot remove its
// socket; the host does.
func TestKilledPluginLeavesNoSocket(t *testing.T) {
	client, cfg, _ := helper(t, "serve")
	started := capture(cfg)
	if _, err := client.Client(); err != nil {
		t.Fatal(err)
	}
	sock := client.ReattachConfig().Addr.String()
	tk, ok := started().(exec.TreeKiller)
	if !ok {
		t.Fatalf("the local runner %T cannot kill its tree", started())
	}
	tk.KillTree()
	within(t, time.Minute, "Kill", client.Kill)
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed plugin's socket %s is left: %v", sock, err)
	}
}

// TestSpecEnvWinsOverHost: Spec.Env (a variant such as Keras's backend)
// is what the plugin sees, even where the host's environment has the
// same variable (go-plugin appends the host's environment after Cmd's).
func TestSpecEnvWinsOverHost(t *testing.T) {
	t.Setenv(envOverride, "host")
	client, _, _ := helper(t, "serve", envOverride+"=spec")
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(pluginapi.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	d, err := raw.(pluginapi.Framework).Describe(context.Background(), pluginapi.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != "spec" {
		t.Errorf("the plugin saw %s=%q, want the spec's %q", envOverride, d.Version, "spec")
	}
}

// A local plugin's processes are its subprocess and that one's children
// (the framework's worker), not the host; once reaped, it has none.
func TestPluginsProcessTree(t *testing.T) {
	client, cfg, pidFile := helper(t, "serve-with-child")
	started := capture(cfg)
	defer client.Kill()
	if _, err := client.Client(); err != nil {
		t.Fatal(err)
	}
	child, err := readPid(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pr, ok := started().(exec.ProcessRooted)
	if !ok {
		t.Fatalf("the local runner %T cannot name its process", started())
	}
	root, err := pr.RootPID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tree := exec.ProcessTree(root)
	if tree[0] != root || !slices.Contains(tree, child) || slices.Contains(tree, os.Getpid()) {
		t.Errorf("tree of %d: %v, want it, its child %d, and not the host %d", root, tree, child, os.Getpid())
	}
	client.Kill()
	if !eventuallyTrue(5*time.Second, func() bool {
		_, err := pr.RootPID(context.Background())
		return errors.Is(err, exec.ErrNoProcess)
	}) {
		t.Error("a killed plugin still names its process")
	}
}

// capture wraps cfg's RunnerFunc (Local's) so that the test reaches the
// runner it makes once the client starts, as core/pluginhost does.
func capture(cfg *plugin.ClientConfig) func() runner.Runner {
	var mu sync.Mutex
	var started runner.Runner
	newRunner := cfg.RunnerFunc
	cfg.RunnerFunc = func(l hclog.Logger, cmd *osexec.Cmd, dir string) (runner.Runner, error) {
		r, err := newRunner(l, cmd, dir)
		mu.Lock()
		started = r
		mu.Unlock()
		return r, err
	}
	return func() runner.Runner {
		mu.Lock()
		defer mu.Unlock()
		return started
	}
}

func eventuallyTrue(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// BenchmarkProcessTree is what naming a plugin's processes costs, once
// per perf cell: a pass over /proc.
func BenchmarkProcessTree(b *testing.B) {
	for b.Loop() {
		exec.ProcessTree(os.Getpid())
	}
}
