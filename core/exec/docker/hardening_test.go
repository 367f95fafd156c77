//go:build linux

package docker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
)

// probeResult is what the hostile probe (testdata/probe) printed, and how
// its container ended.
type probeResult struct {
	lines   []string
	stderr  string
	waitErr error
	sockDir string
	runner  runner.Runner
}

// has reports whether the probe printed exactly this line.
func (p probeResult) has(line string) bool {
	for _, l := range p.lines {
		if l == line {
			return true
		}
	}
	return false
}

// last is the highest N the probe printed in "key N" lines (0 for none).
func (p probeResult) last(key string) int {
	n := 0
	for _, l := range p.lines {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			if i, err := strconv.Atoi(v); err == nil && i > n {
				n = i
			}
		}
	}
	return n
}

// runProbe starts the probe as a plugin through ex's real container
// configuration (Configure's RunnerFunc, as go-plugin calls it), with a
// socket directory made as go-plugin makes it and a file of the host's
// in it, and waits for the container to end. inspect, when set, sees the
// container's HostConfig while it runs.
func runProbe(t *testing.T, ex *docker.Executor, inspect func(id string), args ...string) probeResult {
	t.Helper()
	bin := build(t, "core/exec/docker/testdata/probe", "probe", false)
	cfg := &plugin.ClientConfig{}
	if err := ex.Configure(exec.Spec{Name: "probe", Path: bin, Image: gorgoniaImage, Args: args}, cfg); err != nil {
		t.Fatal(err)
	}
	sockDir, err := os.MkdirTemp(cfg.UnixSocketConfig.TempDir, "plugin-dir")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.UnixSocketConfig.Group != "" {
		// What go-plugin's client does for a group.
		gid, _ := strconv.Atoi(cfg.UnixSocketConfig.Group)
		if err := os.Chown(sockDir, -1, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(sockDir, "host-file"), []byte("the host's"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := osexec.Command(bin)
	cmd.Env = []string{plugin.EnvUnixSocketDir + "=" + sockDir}
	if cfg.UnixSocketConfig.Group != "" {
		cmd.Env = append(cmd.Env, plugin.EnvUnixSocketGroup+"="+cfg.UnixSocketConfig.Group)
	}
	r, err := cfg.RunnerFunc(hclog.NewNullLogger(), cmd, sockDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("starting the probe: %v", err)
	}
	t.Cleanup(func() { _ = r.Kill(context.Background()) })
	stderr := make(chan string, 1)
	go func() { b, _ := io.ReadAll(r.Stderr()); stderr <- string(b) }()
	var lines []string
	sc := bufio.NewScanner(r.Stdout())
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if sc.Text() == "waiting" && inspect != nil {
			inspect(r.ID())
			if err := os.WriteFile(filepath.Join(sockDir, "release"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	res := probeResult{lines: lines, stderr: <-stderr, waitErr: r.Wait(ctx), sockDir: sockDir, runner: r}
	return res
}

// inspectHostConfig reads a container's configuration as the engine holds it.
func inspectHostConfig(t *testing.T, id string) (user string, hc hostConfig) {
	t.Helper()
	pool := engine(t)
	c, err := pool.Client.InspectContainer(id)
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	raw, _ := json.Marshal(c.HostConfig)
	if err := json.Unmarshal(raw, &hc); err != nil {
		t.Fatal(err)
	}
	return c.Config.User, hc
}

type hostConfig struct {
	NetworkMode    string
	CapDrop        []string
	SecurityOpt    []string
	ReadonlyRootfs bool
	PidsLimit      *int64
	Memory         int64
	MemorySwap     int64
	Tmpfs          map[string]string
	Mounts         []struct {
		Target   string
		ReadOnly bool
	}
}

// A plugin runs as an unprivileged uid, under a pids limit, a memory
// limit and a bounded /tmp (the defaults, as the engine holds them), and
// cannot use the socket directory it shares with the host to plant a
// setuid-root file, to replace or remove the host's files, or to have the
// host dial something that is not its socket. What held before still
// holds: no network, no capabilities, no new privileges, a read-only root.
func TestPluginContainerIsConfined(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	ex := docker.New(docker.Options{})
	if err := ex.Open(context.Background(), testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()

	var user string
	var hc hostConfig
	res := runProbe(t, ex, func(id string) { user, hc = inspectHostConfig(t, id) }, "identity")
	t.Logf("probe: %q; stderr %q; wait %v", res.lines, res.stderr, res.waitErr)

	// The container as the engine holds it.
	d := docker.DefaultLimits
	if hc.NetworkMode != "none" || strings.Join(hc.CapDrop, ",") != "ALL" || !hc.ReadonlyRootfs || strings.Join(hc.SecurityOpt, ",") != "no-new-privileges" {
		t.Errorf("hardening lost: %+v", hc)
	}
	for _, m := range hc.Mounts {
		if m.Target != docker.SocketMount && !m.ReadOnly {
			t.Errorf("mount %s is writable", m.Target)
		}
	}
	if hc.PidsLimit == nil || *hc.PidsLimit != d.Pids {
		t.Errorf("PidsLimit = %v, want %d", hc.PidsLimit, d.Pids)
	}
	if hc.Memory != d.MemoryBytes || hc.MemorySwap != d.MemoryBytes {
		t.Errorf("Memory, MemorySwap = %d, %d; want %d for both (no swap beyond it)", hc.Memory, hc.MemorySwap, d.MemoryBytes)
	}
	if tmp := hc.Tmpfs["/tmp"]; !strings.Contains(tmp, "size="+strconv.FormatInt(d.TmpBytes, 10)) || !strings.Contains(tmp, "nosuid") || !strings.Contains(tmp, "nodev") {
		t.Errorf("/tmp tmpfs = %q, want size=%d with nosuid and nodev", tmp, d.TmpBytes)
	}
	if got := ex.Limits(); got.User != user || got.Pids != d.Pids || got.MemoryBytes != d.MemoryBytes || got.TmpBytes != d.TmpBytes {
		t.Errorf("Limits() = %+v, but the container has user %q, %+v", got, user, hc)
	}

	// What the plugin is, and what it managed.
	if res.waitErr != nil {
		t.Fatalf("probe: %v\n%s", res.waitErr, res.stderr)
	}
	uid, gid := res.last("uid"), res.last("gid")
	if len(res.lines) == 0 || !strings.HasPrefix(res.lines[0], "uid ") || uid == 0 || uid == os.Getuid() || gid == 0 {
		t.Errorf("the plugin runs as uid %d gid %d: want neither root nor the host's uid %d", uid, gid, os.Getuid())
	}
	if user != strconv.Itoa(uid)+":"+strconv.Itoa(gid) {
		t.Errorf("container user %q, but the plugin runs as %d:%d", user, uid, gid)
	}
	for _, want := range []string{"chown-root refused", "remove-host-file refused", "replace-host-file refused", "mknod refused"} {
		found := false
		for _, l := range res.lines {
			found = found || strings.HasPrefix(l, want)
		}
		if !found {
			t.Errorf("the plugin could do what %q should have stopped", want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(res.sockDir, "host-file")); err != nil || string(b) != "the host's" {
		t.Errorf("the host's file in the socket directory: %q %v", b, err)
	}
	entries, _ := os.ReadDir(res.sockDir)
	for _, e := range entries {
		fi, err := os.Lstat(filepath.Join(res.sockDir, e.Name()))
		if err != nil {
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if e.Name() != "host-file" && e.Name() != "release" && (st.Uid == 0 || int(st.Uid) == os.Getuid()) {
			t.Errorf("%s in the socket directory is owned by uid %d (mode %v)", e.Name(), st.Uid, fi.Mode())
		}
		if fi.Mode()&os.ModeSetuid != 0 && (st.Uid == 0 || int(st.Uid) == os.Getuid()) {
			t.Errorf("a setuid file owned by uid %d was planted: %s", st.Uid, e.Name())
		}
	}
	// The host dials only a real socket of the plugin's.
	for _, name := range []string{"plugin-link", "plugin-fifo", "planted", "plugin-absent"} {
		if _, _, err := res.runner.PluginToHost("unix", docker.SocketMount+"/"+name); err == nil {
			t.Errorf("PluginToHost accepted %s, which is not the plugin's socket", name)
		}
	}
}

// The limits hold: a plugin cannot start more threads than the pids
// limit, use more memory than the memory limit, or write more into /tmp
// than its size; Options.Limits sets them.
func TestPluginContainerLimits(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	ex := docker.New(docker.Options{Limits: docker.Limits{Pids: 64, MemoryBytes: 64 << 20, TmpBytes: 8 << 20}})
	if err := ex.Open(context.Background(), testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	for _, tc := range []struct {
		desc, key string
		n, max    int
	}{
		{desc: "pids", key: "threads", n: 500, max: 64},
		{desc: "memory", key: "memory", n: 256, max: 64},
		{desc: "tmp", key: "tmp", n: 32, max: 8},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			res := runProbe(t, ex, nil, tc.key, strconv.Itoa(tc.n))
			got := res.last(tc.key)
			t.Logf("%s: reached %d of %d (limit %d); wait: %v; stderr: %s", tc.key, got, tc.n, tc.max, res.waitErr, firstLine(res.stderr))
			if got == 0 {
				t.Fatalf("the probe did not run: %q\n%s", res.lines, res.stderr)
			}
			if got > tc.max || res.has(tc.key+" all") {
				t.Errorf("%s: the probe reached %d, over the limit %d", tc.key, got, tc.max)
			}
			if res.waitErr == nil {
				t.Errorf("%s: the probe exited 0 past its limit", tc.key)
			}
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}
