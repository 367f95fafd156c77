package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/testenv"
)

// testPool connects, or skips outside CI (see helpers_test.go, which this
// package-internal file cannot share).
func testEngine(t *testing.T) *Executor {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := Connect(ctx, "")
	if err != nil {
		testenv.Need(t, false, fmt.Sprintf("needs a Docker engine: start one with scripts/setup.d/10-docker.sh: %v", err))
	}
	if _, err := pool.Client.InspectImage("dlcompat/gorgonia:scratch"); err != nil {
		testenv.Need(t, false, "needs dlcompat/gorgonia:scratch: build it with scripts/build-images.sh")
	}
	return &Executor{pool: pool}
}

// The container of a plugin pinned to a GPU is created with a device
// request for exactly that GPU, as `docker inspect` shows (its API call is
// the one read here); a daemon without the NVIDIA runtime refuses to start
// it, and the refusal becomes one line with the fix.
func TestGPUDeviceRequest(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	const uuid = "GPU-00000000-1111-2222-3333-444444444444"
	bin, err := os.Executable() // any file will do: the container never runs it
	if err != nil {
		t.Fatal(err)
	}
	c := newContainer(containerSpec{
		pool: e.pool, binary: bin, hostSocketDir: t.TempDir(), name: fmt.Sprintf("dlcompat-test-gpu-request-%d", os.Getpid()),
		spec:   exec.Spec{Name: "gorgonia", Image: "dlcompat/gorgonia:scratch", Device: exec.Device{ID: "gpu:3", Kind: "gpu", UUID: uuid}},
		labels: map[string]string{LabelRun: "test-gpu-request"},
	})
	_ = removeContainer(ctx, e.pool.Client, c.name) // a leftover of an interrupted earlier run
	cfg, hc, devices := c.configs()
	id, err := createContainer(ctx, e.pool.Client, c.name, cfg, hc, devices)
	if err != nil {
		t.Fatalf("create with a device request: %v", err)
	}
	defer removeContainer(ctx, e.pool.Client, id)

	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, engineURL(e.pool.Client, "/containers/"+id+"/json"), nil)
	resp, err := e.pool.Client.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var inspect struct {
		HostConfig struct {
			DeviceRequests []deviceRequest
			NetworkMode    string
			CapDrop        []string
			ReadonlyRootfs bool
			AutoRemove     bool
		}
	}
	if err := json.Unmarshal(raw, &inspect); err != nil {
		t.Fatalf("inspect: %v\n%s", err, raw)
	}
	shown, _ := json.Marshal(inspect.HostConfig.DeviceRequests)
	t.Logf("docker inspect %.12s: HostConfig.DeviceRequests = %s", id, shown)
	want := []deviceRequest{{Driver: "nvidia", DeviceIDs: []string{uuid}, Capabilities: [][]string{{"gpu"}}}}
	if got := inspect.HostConfig.DeviceRequests; !reflect.DeepEqual(got, want) {
		t.Errorf("inspect: DeviceRequests = %+v, want %+v", got, want)
	}
	hcGot := inspect.HostConfig
	if hcGot.NetworkMode != "none" || !reflect.DeepEqual(hcGot.CapDrop, []string{"ALL"}) || !hcGot.ReadonlyRootfs || !hcGot.AutoRemove {
		t.Errorf("inspect: hardening lost: %+v", hcGot)
	}

	// dockerd offers the "nvidia" device driver when it finds the NVIDIA
	// Container Toolkit's hook (this test talks to the local daemon).
	if _, err := osexec.LookPath("nvidia-container-runtime-hook"); err == nil {
		t.Log("the NVIDIA Container Toolkit is installed: not checking the refusal")
		return
	}
	err = e.pool.Client.StartContainerWithContext(id, nil, ctx)
	if err == nil {
		t.Fatal("a daemon without the NVIDIA runtime started a container that asks for a GPU")
	}
	t.Logf("the daemon said: %v", err)
	msg := c.startError(err)
	if !errors.Is(msg, ErrNoGPURuntime) || strings.Contains(msg.Error(), "\n") ||
		!strings.Contains(msg.Error(), "GPU gpu:3 ("+uuid+")") || !strings.Contains(msg.Error(), "install and configure the NVIDIA Container Toolkit") {
		t.Errorf("start error = %q; want one line naming the GPU and the fix", msg)
	}
}

func TestContainerEnvAndAddresses(t *testing.T) {
	c := newContainer(containerSpec{
		binary: "/opt/plugins/dlcompat-plugin-x", referenceDir: "/ref", hostSocketDir: "/tmp/dlcompat-run-r/plugin-dir1",
		spec:        exec.Spec{Name: "x", Image: "img", Env: []string{"A=1"}},
		goPluginEnv: []string{"DLCOMPAT_PLUGIN=cookie", plugin.EnvUnixSocketDir + "=/tmp/dlcompat-run-r/plugin-dir1"},
	})
	want := []string{"DLCOMPAT_PLUGIN=cookie", plugin.EnvUnixSocketDir + "=" + SocketMount, "HOME=/tmp", EnvReferenceDir + "=" + ReferenceMount, "A=1"}
	if got := c.env(); !reflect.DeepEqual(got, want) {
		t.Errorf("env = %q, want %q", got, want)
	}
	for _, kv := range c.env() {
		if strings.HasPrefix(kv, "PATH=") || strings.HasPrefix(kv, "USER=") {
			t.Errorf("host variable leaked: %s", kv)
		}
	}
	if _, _, err := c.PluginToHost("unix", SocketMount+"/plugin123"); err == nil {
		t.Error("PluginToHost accepted a socket that is not there")
	}
	if _, _, err := c.PluginToHost("unix", "/tmp/plugin123"); err == nil {
		t.Error("PluginToHost accepted a socket outside the shared directory")
	}
	// A real socket of the plugin's uid is accepted.
	dir := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(dir, "plugin123"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c.hostSocketDir, c.limits.User = dir, fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	if os.Getuid() == 0 { // plugins never run as root
		c.limits.User = "65534:65534"
		if err := os.Lchown(filepath.Join(dir, "plugin123"), 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	n, a, err := c.PluginToHost("unix", SocketMount+"/plugin123")
	if err != nil || n != "unix" || a != filepath.Join(dir, "plugin123") {
		t.Errorf("PluginToHost = %s %s %v", n, a, err)
	}
	c.hostSocketDir = "/tmp/dlcompat-run-r/plugin-dir1"
	n, a, err = c.HostToPlugin("unix", "/tmp/dlcompat-run-r/plugin-dir1/broker9")
	if err != nil || a != SocketMount+"/broker9" {
		t.Errorf("HostToPlugin = %s %s %v", n, a, err)
	}
	if got := c.entrypoint(); got != PluginDir+"/dlcompat-plugin-x" {
		t.Errorf("entrypoint = %s", got)
	}
}

func TestSplitRef(t *testing.T) {
	for _, tc := range []struct{ ref, repo, tag string }{
		{"pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime", "pytorch/pytorch", "2.5.1-cuda12.4-cudnn9-runtime"},
		{"ubuntu", "ubuntu", "latest"},
		{"localhost:5000/x", "localhost:5000/x", "latest"},
		{"localhost:5000/x:1", "localhost:5000/x", "1"},
		{"x@sha256:abc", "x@sha256:abc", ""},
	} {
		if repo, tag := splitRef(tc.ref); repo != tc.repo || tag != tc.tag {
			t.Errorf("splitRef(%s) = %s, %s; want %s, %s", tc.ref, repo, tag, tc.repo, tc.tag)
		}
	}
}

func TestLimitsResolve(t *testing.T) {
	gid := 65534
	if os.Getuid() != 0 {
		gid = os.Getgid()
	}
	for _, tc := range []struct {
		desc    string
		in      Limits
		want    Limits
		wantErr string
	}{
		{desc: "defaults", want: Limits{User: fmt.Sprintf("65534:%d", gid), Pids: 4096, MemoryBytes: 8 << 30, TmpBytes: 512 << 20}},
		{desc: "set", in: Limits{User: "1000:1000", Pids: 100, MemoryBytes: 1 << 30, TmpBytes: 1 << 20}, want: Limits{User: "1000:1000", Pids: 100, MemoryBytes: 1 << 30, TmpBytes: 1 << 20}},
		{desc: "unlimited", in: Limits{User: "1:1", Pids: Unlimited, MemoryBytes: Unlimited}, want: Limits{User: "1:1", Pids: -1, MemoryBytes: -1, TmpBytes: 512 << 20}},
		{desc: "root", in: Limits{User: "0:0"}, wantErr: "a plugin never runs as root"},
		{desc: "name", in: Limits{User: "nobody"}, wantErr: "want numeric uid:gid"},
		{desc: "no gid", in: Limits{User: "1000"}, wantErr: "want numeric uid:gid"},
		{desc: "pids", in: Limits{Pids: -2}, wantErr: "pids -2"},
		{desc: "memory too small", in: Limits{MemoryBytes: 1 << 20}, wantErr: "want at least 6291456"},
		{desc: "tmp", in: Limits{TmpBytes: -1}, wantErr: "/tmp size -1"},
	} {
		got, err := tc.in.Resolve()
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: Resolve(%+v) = %v; want %q", tc.desc, tc.in, err, tc.wantErr)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s: Resolve(%+v) = %+v, %v; want %+v", tc.desc, tc.in, got, err, tc.want)
		}
	}
	if err := New(Options{Limits: Limits{User: "0:0"}}).Open(context.Background(), "x"); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("Open with a root user: %v", err)
	}
	if s := (Limits{User: "65534:65534", Pids: 4096, MemoryBytes: 8 << 30, TmpBytes: 512 << 20}).String(); s != "user 65534:65534, pids 4096, memory 8192 MiB, /tmp 512 MiB" {
		t.Errorf("String() = %q", s)
	}
}
