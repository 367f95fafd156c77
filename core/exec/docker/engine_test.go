//go:build linux

package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/runner"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
)

// privateEngine is a second dockerd of the test's own, on its own socket,
// data root, exec root and pidfile, with no bridge and no iptables rules,
// so that it can be stopped without touching the shared engine.
type privateEngine struct {
	t        *testing.T
	dir      string
	endpoint string
	cmd      *osexec.Cmd
	log      *os.File
}

// startPrivateEngine starts one (root and dockerd required: the test says
// so, and fails where nothing may skip).
func startPrivateEngine(t *testing.T) *privateEngine {
	t.Helper()
	_, err := osexec.LookPath("dockerd")
	testenv.Need(t, err == nil && os.Getuid() == 0, fmt.Sprintf("needs root and dockerd to start a second Docker engine: install it with scripts/setup.d/10-docker.sh (uid %d, dockerd: %v)", os.Getuid(), err))
	// A short directory: the engine's unix socket path has a length limit.
	dir, err := os.MkdirTemp("", "dlc-engine-")
	if err != nil {
		t.Fatal(err)
	}
	e := &privateEngine{t: t, dir: dir, endpoint: "unix://" + filepath.Join(dir, "docker.sock")}
	t.Cleanup(e.remove)
	e.start()
	return e
}

func (e *privateEngine) start() {
	e.t.Helper()
	log, err := os.OpenFile(filepath.Join(e.dir, "dockerd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.t.Fatal(err)
	}
	e.log = log
	e.cmd = osexec.Command("dockerd",
		"--data-root", filepath.Join(e.dir, "data"), "--exec-root", filepath.Join(e.dir, "exec"),
		"--pidfile", filepath.Join(e.dir, "dockerd.pid"), "-H", e.endpoint,
		"--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--userland-proxy=false")
	e.cmd.Stdout, e.cmd.Stderr = log, log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := e.cmd.Start(); err != nil {
		e.t.Fatalf("starting a second dockerd: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		pool, err := dockertest.NewPool(e.endpoint)
		if err == nil {
			if err = pool.Client.PingWithContext(ctx); err == nil {
				return
			}
		}
		if ctx.Err() != nil {
			e.t.Fatalf("the second dockerd does not answer at %s after 60s: %v\n%s", e.endpoint, err, e.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stop stops the engine as `systemctl stop docker` would (SIGTERM: it
// closes its API, stops its containers and exits) and waits for it.
func (e *privateEngine) stop() {
	if e.cmd == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	e.cmd = nil
	e.log.Close()
}

func (e *privateEngine) remove() {
	e.stop()
	// Its containerd and shims are in its process group, or gone.
	if b, err := os.ReadFile(filepath.Join(e.dir, "exec", "containerd", "containerd.pid")); err == nil {
		var pid int
		if _, err := fmt.Sscan(string(b), &pid); err == nil && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	_ = osexec.Command("umount", "-R", "-l", filepath.Join(e.dir, "data")).Run()
	_ = osexec.Command("umount", "-R", "-l", filepath.Join(e.dir, "exec")).Run()
	if err := os.RemoveAll(e.dir); err != nil {
		e.t.Logf("removing the second engine's directory: %v", err)
	}
}

func (e *privateEngine) logTail() string {
	b, _ := os.ReadFile(filepath.Join(e.dir, "dockerd.log"))
	return pluginapi.LastLines(string(b), 20)
}

// buildScratchImage builds the gorgonia plugin's image in the private
// engine as scripts/build-images.sh does in the shared one: FROM scratch,
// the plugin is bind-mounted at run time. (An image without layers cannot
// be saved from one engine and loaded into another, and no registry is
// reachable.)
func (e *privateEngine) buildScratchImage(image string) {
	e.t.Helper()
	pool, err := dockertest.NewPool(e.endpoint)
	if err != nil {
		e.t.Fatal(err)
	}
	dockerfile := "FROM scratch\nLABEL org.dlcompat.test=engine-stopped\n"
	var ctxTar bytes.Buffer
	tw := tar.NewWriter(&ctxTar)
	_ = tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(dockerfile))})
	_, _ = tw.Write([]byte(dockerfile))
	_ = tw.Close()
	var log bytes.Buffer
	if err := pool.Client.BuildImage(dc.BuildImageOptions{Name: image, InputStream: &ctxTar, OutputStream: &log}); err != nil {
		e.t.Fatalf("building %s in the second engine: %v\n%s", image, err, log.String())
	}
}

// A Docker engine that stops in the middle of a run is the
// infrastructure's failure, not the plugin's: the cell it cut short and
// every cell after it stay unknown (none is a crash), the run ends with
// an infrastructure error (exit 3) that names the engine and --resume,
// and once the engine is back --resume runs exactly those cells and keeps
// the ones that had finished.
func TestEngineStoppedMidRun(t *testing.T) {
	shared := engine(t)
	needImage(t, shared, gorgoniaImage)
	eng := startPrivateEngine(t)
	eng.buildScratchImage(gorgoniaImage)

	opts := func(ex exec.Executor, out string) runner.Options {
		o := runOptions(t, ex, []exec.Spec{gorgoniaSpec(t, gorgoniaImage)}, cpu)
		o.Checks = []string{pluginapi.CheckForward, pluginapi.CheckPerf, pluginapi.CheckBackward}
		o.Models = nil
		perf := pluginapi.DefaultPerfOptions()
		perf.Warmup = 1 // 20 iterations take seconds: the engine stops 1s into them
		o.Perf = &perf
		o.OutDir = out
		return o
	}
	out := t.TempDir()
	ex := docker.New(docker.Options{Endpoint: eng.endpoint, ReferenceDir: filepath.Join(repoRoot(t), "testdata", "reference")})
	o := opts(ex, out)
	stopping, stopped := make(chan struct{}), make(chan struct{})
	o.Events = func(ev runner.Event) {
		// Stop the engine a moment into the first perf cell: the
		// forward cell before it has finished.
		if ev.Kind == runner.EventCellStart && ev.Cell.Check == pluginapi.CheckPerf {
			select {
			case <-stopping:
			default:
				close(stopping)
				go func() { time.Sleep(time.Second); eng.stop(); close(stopped) }()
			}
		}
	}
	run, err := runner.Run(context.Background(), o)
	select {
	case <-stopped:
	case <-stopping:
		<-stopped
	default:
		t.Fatalf("the run ended before its first perf cell: %v", err)
	}
	t.Logf("first run: %v", err)
	if run == nil {
		t.Fatalf("no run: %v", err)
	}
	counts := run.Counts()
	t.Logf("cells: %v", counts)
	for _, c := range run.Cells {
		t.Logf("  %s %s %s: %s %s", c.Model, c.Check, c.Device, c.Status, pluginapi.FirstLine(c.Reason))
	}
	if !errors.Is(err, runner.ErrInfra) || !errors.Is(err, docker.ErrEngineGone) || !strings.Contains(err.Error(), "--resume") {
		t.Errorf("run error = %v; want an infrastructure error naming the stopped engine and --resume", err)
	}
	if counts[matrix.Crash] != 0 || counts[matrix.Pass] == 0 || counts[matrix.Unknown] == 0 {
		t.Errorf("cells %v: want no crash, the cells before the stop passed, the rest unknown", counts)
	}
	for _, c := range run.Cells {
		if c.Status == matrix.Unknown && !strings.Contains(c.Reason, docker.ErrEngineGone.Error()) {
			t.Errorf("unknown cell %s %s: reason %q does not name the engine", c.Model, c.Check, c.Reason)
		}
	}

	// The engine is back: --resume runs what is left.
	eng.start()
	ex = docker.New(docker.Options{Endpoint: eng.endpoint, ReferenceDir: filepath.Join(repoRoot(t), "testdata", "reference")})
	o = opts(ex, out)
	o.Resume = true
	resumed, err := runner.Run(context.Background(), o)
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, eng.logTail())
	}
	rc := resumed.Counts()
	if rc[matrix.Pass] != len(resumed.Cells) || len(resumed.Cells) != len(run.Cells) {
		t.Errorf("resumed cells %v of %d; want all %d pass", rc, len(resumed.Cells), len(run.Cells))
	}
	before := map[matrix.CellKey]matrix.Cell{}
	for _, c := range run.Cells {
		before[c.CellKey] = c
	}
	for _, c := range resumed.Cells {
		if b := before[c.CellKey]; b.Status == matrix.Pass && !c.Started.Equal(b.Started) {
			t.Errorf("%s had finished before the stop but ran again", c.CellKey)
		}
	}
}
