package docker_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/matrix"
)

var cpu = matrix.Device{ID: "cpu", Kind: "cpu", Name: "CPU"}

// fakeGPU has a UUID no daemon can provide.
var fakeGPU = matrix.Device{ID: "gpu:0", Kind: "gpu", Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-00000000-1111-2222-3333-444444444444"}

func runOptions(t *testing.T, ex exec.Executor, specs []exec.Spec, devices ...matrix.Device) runner.Options {
	return runner.Options{
		Executor: ex, Plugins: specs, Devices: devices,
		Checks:       []string{pluginapi.CheckForward, pluginapi.CheckBackward, pluginapi.CheckDeterminism},
		ReferenceDir: filepath.Join(repoRoot(t), "testdata", "reference"),
		OutDir:       t.TempDir(), Version: "test",
	}
}

func statuses(run *matrix.Run) map[matrix.CellKey]matrix.Status {
	out := map[matrix.CellKey]matrix.Status{}
	for _, c := range run.Cells {
		out[c.CellKey] = c.Status
	}
	return out
}

// The gorgonia plugin in its FROM-scratch image gives exactly the cells it
// gives as a local subprocess, the results name the image and its digest,
// and the run leaves no container and no socket directory behind.
func TestGorgoniaInContainerMatchesLocal(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	ctx := context.Background()

	local, err := runner.Run(ctx, runOptions(t, exec.Local{}, []exec.Spec{gorgoniaSpec(t, "")}, cpu))
	if err != nil {
		t.Fatal(err)
	}
	ex := docker.New(docker.Options{ReferenceDir: filepath.Join(repoRoot(t), "testdata", "reference")})
	inDocker, err := runner.Run(ctx, runOptions(t, ex, []exec.Spec{gorgoniaSpec(t, gorgoniaImage)}, cpu))
	if err != nil {
		t.Fatal(err)
	}

	want, got := statuses(local), statuses(inDocker)
	if len(want) != 6 {
		t.Fatalf("local run has %d cells, want 6 (2 models × 3 checks)", len(want))
	}
	for k, s := range want {
		if s != matrix.Pass {
			t.Errorf("local %s: %s", k, s)
		}
		if got[k] != s {
			t.Errorf("docker %s: %s, local %s", k, got[k], s)
		}
	}
	if len(got) != len(want) {
		t.Errorf("docker run has %d cells, local %d", len(got), len(want))
	}
	if len(inDocker.Frameworks) != 1 {
		t.Fatalf("frameworks: %+v", inDocker.Frameworks)
	}
	f := inDocker.Frameworks[0]
	img, err := pool.Client.InspectImage(gorgoniaImage)
	if err != nil {
		t.Fatal(err)
	}
	if f.Executor != "docker" || f.Image != gorgoniaImage || f.ImageDigest != img.ID {
		t.Errorf("framework row: executor %q image %q digest %q; want docker, %s, %s", f.Executor, f.Image, f.ImageDigest, gorgoniaImage, img.ID)
	}
	if cs := runContainers(t, pool, inDocker.RunID); len(cs) != 0 {
		t.Errorf("containers left after the run: %+v", cs)
	}
	if dirs := runDirs(inDocker.RunID); len(dirs) > 0 {
		t.Errorf("socket directories %s left after the run", dirs)
	}
}

// A real `dlcompat run`, killed while its plugin computes in a container,
// leaves neither the container nor a socket directory: interrupted, it
// cleans up before it exits; SIGKILLed, the watchdog and the plugin's
// lifeline do it within moments.
func TestKilledRunLeavesNothing(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	root := repoRoot(t)
	bin := build(t, "cmd/dlcompat", "dlcompat", true)
	plugins := filepath.Dir(gorgoniaPlugin(t))
	for _, tc := range []struct {
		desc  string
		sig   syscall.Signal
		grace time.Duration // how long cleanup may take after the process is gone
	}{
		{desc: "SIGKILL", sig: syscall.SIGKILL, grace: 10 * time.Second},
		{desc: "SIGINT", sig: syscall.SIGINT, grace: 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "matrix.yaml")
			if err := os.WriteFile(cfg, []byte(`executor: docker
pull: never
devices: cpu
models: [cnn]
checks: [perf]
frameworks:
  gorgonia:
    images: [`+gorgoniaImage+`]
`), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "results")
			cmd := osexec.Command(bin, "run", "--config", cfg, "--plugins-dir", plugins, "--reference", filepath.Join(root, "testdata", "reference"),
				"--perf-iterations", "100000", "--perf-precision", "0", "--quiet", "-o", out)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			signalled := false
			defer func() {
				if !signalled {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			}()

			// The run id is in the journal's header; wait for its container.
			var runID, socketDir string
			ok := eventually(60*time.Second, func() bool {
				if runID == "" {
					h, _, err := matrix.ReadJournal(filepath.Join(out, runner.JournalFile))
					if err != nil {
						return false
					}
					runID = h.RunID
				}
				for _, c := range runContainers(t, pool, runID) {
					if c.State == "running" {
						socketDir = c.Labels[docker.LabelSocketDir]
						return true
					}
				}
				return false
			})
			if !ok {
				t.Fatalf("no running container for run %q within 60s; dlcompat stderr:\n%s", runID, stderr.String())
			}
			time.Sleep(time.Second) // well into the perf check
			runDir := filepath.Dir(socketDir)
			if !exists(socketDir) || !strings.HasPrefix(filepath.Base(runDir), "dlcompat-run-"+runID) {
				t.Fatalf("socket directory %s (in %s) missing while the run goes", socketDir, runDir)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			signalled = true
			err := cmd.Wait()
			if tc.sig == syscall.SIGINT {
				var ee *osexec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "--resume") {
					t.Errorf("interrupted run: %v, want exit status 1 and how to resume\n%s", err, stderr.String())
				}
			} else if exists(filepath.Join(out, runner.RunFile)) {
				t.Fatal("the run finished before it was killed; make it longer")
			}

			start := time.Now()
			if !eventually(tc.grace, func() bool {
				return len(runContainers(t, pool, runID)) == 0 && !exists(runDir)
			}) {
				t.Fatalf("%v after %s: containers %+v, socket directory %s exists: %v", tc.grace, tc.desc, runContainers(t, pool, runID), runDir, exists(runDir))
			}
			t.Logf("container and socket directory gone %v after the process", time.Since(start).Round(time.Millisecond))
		})
	}
}

// Without the watchdog, the plugin's own lifeline still ends its
// container when its host is SIGKILLed: the plugin exits when the host's
// connection ends, and the container is auto-removed.
func TestPluginExitsWhenItsHostDies(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	runID := testRunID(t)
	defer func() { // no watchdog to remove it
		for _, d := range runDirs(runID) {
			os.RemoveAll(d)
		}
	}()
	cmd := startLifelineHost(t, lifelineConfig{Plugin: gorgoniaPlugin(t), RunID: runID})
	cs := runContainers(t, pool, runID)
	if len(cs) != 1 || cs[0].State != "running" {
		t.Fatalf("want one running container, got %+v", cs)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if !eventually(10*time.Second, func() bool { return len(runContainers(t, pool, runID)) == 0 }) {
		t.Fatalf("container %s still there 10s after its host was killed", cs[0].ID)
	}
}

// recordingProxy forwards the Docker API and records each request.
type recordingProxy struct {
	mu    sync.Mutex
	paths []string
}

func (p *recordingProxy) requested(part string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.paths {
		if strings.Contains(r, part) {
			return true
		}
	}
	return false
}

// startProxy listens on a unix socket in front of the engine and returns
// its endpoint.
func startProxy(t *testing.T, target string) (*recordingProxy, string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "unix" {
		t.Skipf("the recording proxy needs a unix-socket engine, not %q", target)
	}
	rec := &recordingProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", u.Path)
		}},
	}
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.paths = append(rec.paths, r.Method+" "+r.URL.Path)
		rec.mu.Unlock()
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return rec, "unix://" + sock
}

// A missing image under the pull policy never is a clear error naming the
// image and the build script, and no pull is ever asked of the engine;
// under if-missing the pull is asked for.
func TestMissingImage(t *testing.T) {
	pool := engine(t)
	rec, endpoint := startProxy(t, pool.Client.Endpoint())
	ctx := context.Background()
	const missing = "dlcompat/no-such-image:never"

	ex := docker.New(docker.Options{Endpoint: endpoint})
	run, err := runner.Run(ctx, runOptions(t, ex, []exec.Spec{gorgoniaSpec(t, missing)}, cpu))
	if err == nil || !errors.Is(err, runner.ErrInfra) {
		t.Errorf("run error = %v, want the infrastructure error of no plugin starting", err)
	}
	if run == nil || len(run.Cells) != 6 {
		t.Fatalf("want 6 crash cells, got %+v", run)
	}
	for _, c := range run.Cells {
		if c.Status != matrix.Crash || !strings.Contains(c.Reason, missing+" is not on this Docker host and the pull policy is never: build it with scripts/build-images.sh") {
			t.Errorf("cell %s: %s %q", c.CellKey, c.Status, c.Reason)
		}
		if strings.Contains(c.Reason, "\n") {
			t.Errorf("cell %s: reason is not one line: %q", c.CellKey, c.Reason)
		}
	}
	if rec.requested("/images/create") {
		t.Errorf("a pull was asked for under the policy never: %v", rec.paths)
	}
	if !rec.requested("/images/") {
		t.Fatalf("the proxy saw no image request at all (is it in the way?): %v", rec.paths)
	}

	// A registry image gets the other hint.
	ex = docker.New(docker.Options{Endpoint: endpoint})
	if err := ex.Open(ctx, testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	_, err = ex.PrepareImage(ctx, "example/absent:1")
	if !errors.Is(err, docker.ErrImageMissing) || !strings.Contains(err.Error(), "docker pull example/absent:1") {
		t.Errorf("PrepareImage(example/absent:1) = %v", err)
	}

	// if-missing does ask the engine to pull (which fails: there is no
	// such registry anywhere).
	ifMissing := docker.New(docker.Options{Endpoint: endpoint, Pull: docker.PullIfMissing})
	if err := ifMissing.Open(ctx, testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ifMissing.Close()
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := ifMissing.PrepareImage(pctx, "dlcompat.invalid/no-such-image:1"); !errors.Is(err, docker.ErrImageMissing) {
		t.Errorf("PrepareImage under if-missing = %v, want ErrImageMissing after a failed pull", err)
	}
	if !rec.requested("/images/create") {
		t.Errorf("no pull asked for under if-missing: %v", rec.paths)
	}
}

// On a GPU, the plugin's container asks for that GPU; a daemon without the
// NVIDIA runtime refuses to start it, and the GPU's cells say so in one
// line with the fix, while the CPU's cells, in their own container, pass.
func TestGPUWithoutNVIDIARuntime(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	// dockerd offers the "nvidia" device driver when it finds the NVIDIA
	// Container Toolkit's hook (this test talks to the local daemon).
	if _, err := osexec.LookPath("nvidia-container-runtime-hook"); err == nil {
		t.Skip("the NVIDIA Container Toolkit is installed: this test is for a daemon without it")
	}
	ex := docker.New(docker.Options{})
	o := runOptions(t, ex, []exec.Spec{gorgoniaSpec(t, gorgoniaImage)}, cpu, fakeGPU)
	o.Models, o.Checks = nil, []string{pluginapi.CheckForward}
	run, err := runner.Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range run.Cells {
		switch c.Device {
		case "cpu":
			if c.Status != matrix.Pass {
				t.Errorf("cpu cell %s: %s %s", c.CellKey, c.Status, c.Reason)
			}
		case fakeGPU.ID:
			n++
			if n == 1 {
				t.Logf("%s: %s: %s", c.CellKey, c.Status, c.Reason)
			}
			if c.Status != matrix.Crash || strings.Contains(c.Reason, "\n") ||
				!strings.Contains(c.Reason, docker.ErrNoGPURuntime.Error()) ||
				!strings.Contains(c.Reason, fakeGPU.UUID) ||
				!strings.Contains(c.Reason, "install and configure the NVIDIA Container Toolkit") ||
				strings.Contains(c.Reason, "make build") {
				t.Errorf("gpu cell %s: %s %q; want one line naming the GPU and the fix", c.CellKey, c.Status, c.Reason)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d GPU cells, want 2 (cnn and lstm forward)", n)
	}
	if cs := runContainers(t, pool, run.RunID); len(cs) != 0 {
		t.Errorf("containers left: %+v", cs)
	}
}

// Each framework image starts (with the hardening the executor applies:
// no network, read-only root, no capabilities, uid 65534, a bounded /tmp) and reports
// its Python and framework versions.
func TestPythonImagesReportVersions(t *testing.T) {
	pool := engine(t)
	lim := docker.New(docker.Options{}).Limits()
	for _, tc := range []struct {
		desc, image, python, code string
		want                      []string
	}{
		{desc: "pytorch", image: "dlcompat/pytorch-cpu:bookworm", python: "3.11",
			code: "import torch, numpy; print('torch', torch.__version__, 'numpy', numpy.__version__)", want: []string{"torch 1.13"}},
		{desc: "caffe", image: "dlcompat/caffe-cpu:bullseye", python: "3.9",
			code: "import caffe, numpy; print('caffe', caffe.__version__, 'numpy', numpy.__version__)", want: []string{"caffe 1.0.0"}},
		{desc: "tensorflow, keras and jax", image: "dlcompat/tensorflow-cpu:bookworm", python: "3.11",
			code: "import tensorflow as tf, keras, jax, numpy; print('tensorflow', tf.__version__, 'keras', keras.__version__, keras.backend.backend(), 'numpy', numpy.__version__, 'jax', jax.__version__, jax.default_backend())",
			want: []string{"tensorflow 2.21.", "keras 3.", " tensorflow numpy", "jax 0.10.2 cpu"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Parallel()
			needImage(t, pool, tc.image)
			script := "import sys; print('python %d.%d' % sys.version_info[:2]); " + tc.code
			c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
				Config: &dc.Config{Image: tc.image, Entrypoint: []string{"python3", "-c", script},
					User: lim.User, Env: []string{"HOME=/tmp"}},
				HostConfig: &dc.HostConfig{NetworkMode: "none", CapDrop: []string{"ALL"}, ReadonlyRootfs: true,
					SecurityOpt: []string{"no-new-privileges"}, Tmpfs: map[string]string{"/tmp": fmt.Sprintf("rw,size=%d", lim.TmpBytes)},
					PidsLimit: lim.Pids, Memory: lim.MemoryBytes},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true})
			if err := pool.Client.StartContainer(c.ID, nil); err != nil {
				t.Fatal(err)
			}
			code, err := pool.Client.WaitContainer(c.ID)
			var stdout, stderr strings.Builder
			_ = pool.Client.Logs(dc.LogsOptions{Container: c.ID, OutputStream: &stdout, ErrorStream: &stderr, Stdout: true, Stderr: true})
			if err != nil || code != 0 {
				t.Fatalf("exit %d %v\nstdout: %s\nstderr: %s", code, err, stdout.String(), stderr.String())
			}
			out := stdout.String()
			t.Logf("%s: %s", tc.image, strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
			for _, w := range append([]string{"python " + tc.python + "\n"}, tc.want...) {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
}

// Open removes the containers and socket directories of runs whose
// dlcompat is gone (killed with its watchdog), and nothing of a run that
// may still be going.
func TestOpenSweepsDeadRunsLeftovers(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	host, _ := os.Hostname()
	dead := osexec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	deadOwner := fmt.Sprintf("%s/%d/1", host, dead.Process.Pid)
	create := func(owner string) string {
		c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{Config: &dc.Config{Image: gorgoniaImage, Entrypoint: []string{"/none"},
			Labels: map[string]string{docker.LabelRun: testRunID(t), docker.LabelOwner: owner}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: c.ID, Force: true}) })
		return c.ID
	}
	orphan := create(deadOwner)
	elsewhere := create("another-host/1/1")
	staleDir := filepath.Join(os.TempDir(), "dlcompat-run-"+testRunID(t))
	if err := os.MkdirAll(staleDir, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(staleDir)
	if err := os.WriteFile(filepath.Join(staleDir, "owner"), []byte(deadOwner), 0o600); err != nil {
		t.Fatal(err)
	}

	ex := docker.New(docker.Options{})
	if err := ex.Open(context.Background(), testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	if _, err := pool.Client.InspectContainer(orphan); err == nil {
		t.Error("the container of a dead dlcompat was not removed")
	}
	if _, err := pool.Client.InspectContainer(elsewhere); err != nil {
		t.Errorf("the container of another host's run was removed: %v", err)
	}
	if exists(staleDir) {
		t.Error("the socket directory of a dead dlcompat was not removed")
	}
	if !exists(ex.RunDir()) {
		t.Errorf("this run's socket directory %s is missing", ex.RunDir())
	}
}

func TestConfigureErrors(t *testing.T) {
	engine(t)
	ex := docker.New(docker.Options{})
	if err := ex.Configure(gorgoniaSpec(t, gorgoniaImage), &plugin.ClientConfig{}); !errors.Is(err, docker.ErrNotOpen) {
		t.Errorf("before Open: %v", err)
	}
	if err := ex.Open(context.Background(), testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	for _, tc := range []struct {
		desc string
		spec exec.Spec
		want string
	}{
		{desc: "no image", spec: gorgoniaSpec(t, ""), want: "no image for the plugin gorgonia: the docker executor runs each plugin in an image; name one in the config (frameworks.gorgonia.images)"},
		{desc: "GPU without UUID", spec: exec.Spec{Name: "gorgonia", Path: gorgoniaPlugin(t), Image: gorgoniaImage, Device: exec.Device{ID: "gpu:1", Kind: "gpu"}},
			want: "GPU gpu:1 has no UUID"},
		{desc: "no binary", spec: exec.Spec{Name: "gorgonia", Path: "/nonexistent/dlcompat-plugin-gorgonia", Image: gorgoniaImage},
			want: "not a file (build it with `make build`)"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := ex.Configure(tc.spec, &plugin.ClientConfig{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Configure: %v; want %q", err, tc.want)
			}
		})
	}
}

// The watchdog of a SIGKILLed session cleans up that session only: a
// --resume of the same run, started while the watchdog is still at work,
// keeps its socket directory and its container (they once shared a
// directory name and a label, and the watchdog removed both). Nor does a
// container of the killed session that is still there (its creation was
// in flight when the host died, so no listing saw it) take the resume's
// container name.
func TestKilledSessionsWatchdogSparesTheResume(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	runID := testRunID(t)
	cmd := startLifelineHost(t, lifelineConfig{Plugin: gorgoniaPlugin(t), RunID: runID, Janitor: true})
	killed := runContainers(t, pool, runID)
	if len(killed) != 1 {
		t.Fatalf("want the killed session's container, got %+v", killed)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()

	// The resume: the same run id, at once.
	ex := docker.New(docker.Options{})
	ctx := context.Background()
	if err := ex.Open(ctx, runID); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	// What the killed session's first container was named (sessions of a
	// run once shared names), created after every listing.
	late, err := pool.Client.CreateContainer(dc.CreateContainerOptions{Name: "dlcompat-" + runID + "-gorgonia-all-1",
		Config: &dc.Config{Image: gorgoniaImage, Entrypoint: []string{"/none"}, Labels: map[string]string{docker.LabelRun: runID + "-late"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Client.RemoveContainer(dc.RemoveContainerOptions{ID: late.ID, Force: true})
	inst, err := pluginhost.Start(ctx, ex, gorgoniaSpec(t, gorgoniaImage))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if !eventually(15*time.Second, func() bool {
		for _, c := range runContainers(t, pool, runID) {
			if c.ID == killed[0].ID {
				return false
			}
		}
		return true
	}) {
		t.Fatalf("the killed session's container %.12s is still there after 15s", killed[0].ID)
	}
	time.Sleep(2 * time.Second) // the watchdog removes the directory last
	if !exists(ex.RunDir()) {
		t.Errorf("the resumed session's socket directory %s was removed", ex.RunDir())
	}
	if cs := runContainers(t, pool, runID); len(cs) != 1 || cs[0].State != "running" {
		t.Errorf("the resumed session's container: %+v, want one running", cs)
	}
	if _, err := inst.Framework.Describe(ctx, pluginapi.DescribeRequest{}); err != nil {
		t.Errorf("the resumed session's plugin: %v", err)
	}
}

// startLifelineHost runs this test binary as a dlcompat host that starts
// one plugin container with cfg (envLifelineHost), and returns once the
// host says it is ready: the test then SIGKILLs it.
func startLifelineHost(t *testing.T, cfg lifelineConfig) *osexec.Cmd {
	t.Helper()
	b, _ := json.Marshal(cfg)
	cmd := osexec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envLifelineHost+"="+string(b))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || !strings.HasPrefix(line, "ready") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("helper host: %q %v\n%s", line, err, stderr.String())
	}
	return cmd
}

// A containerised plugin's processes are named by their host PIDs (what
// NVML, on the host, reports), from the container's first process: the
// plugin binary itself.
func TestContainerPluginsHostPIDs(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, gorgoniaImage)
	ex := docker.New(docker.Options{})
	ctx := context.Background()
	if err := ex.Open(ctx, testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	inst, err := pluginhost.Start(ctx, ex, gorgoniaSpec(t, gorgoniaImage))
	if err != nil {
		t.Fatal(err)
	}
	pids, err := inst.HostPIDs(ctx)
	if err != nil {
		inst.Close()
		t.Fatal(err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pids[0]))
	if err != nil || !strings.Contains(string(cmdline), docker.PluginDir+"/dlcompat-plugin-gorgonia") {
		t.Errorf("host PID %d runs %q (%v), want the plugin binary", pids[0], cmdline, err)
	}
	if slices.Contains(pids, os.Getpid()) {
		t.Errorf("the host's own PID among the plugin's: %v", pids)
	}
	inst.Close()
	if pids, err := inst.HostPIDs(ctx); err == nil {
		t.Errorf("a closed plugin's PIDs: %v, want an error", pids)
	}
}
