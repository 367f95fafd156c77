package docker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/testenv"
)

// These tests start real containers on a real Docker engine. Outside CI
// they skip when no engine answers, saying how to start one; where nothing
// may skip (core/testenv: CI, and make test after its setup step started
// the engine and built the images) they fail instead.

const gorgoniaImage = "dlcompat/gorgonia:scratch"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(envLifelineHost); cfg != "" {
		os.Exit(lifelineHost(cfg))
	}
	code := m.Run()
	for _, d := range buildDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func dockerRequired() bool { return testenv.Required() }

// engine connects to the Docker engine, or skips (fails in CI).
func engine(t testing.TB) *dockertest.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := docker.Connect(ctx, "")
	if err == nil {
		return pool
	}
	testenv.Need(t, false, fmt.Sprintf("needs a Docker engine: start one with scripts/setup.d/10-docker.sh (as root): %v", err))
	return nil
}

// needImage skips (fails in CI) when a local image is not built.
func needImage(t testing.TB, pool *dockertest.Pool, image string) {
	t.Helper()
	if _, err := pool.Client.InspectImage(image); err != nil {
		msg := fmt.Sprintf("needs image %s: build it with scripts/build-images.sh (%v)", image, err)
		if dockerRequired() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// repoRoot is the module's root directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var (
	buildMu   sync.Mutex
	built     = map[string]string{}
	buildDirs []string
)

// build compiles a package of this module once per test binary, static
// unless cgo is asked for, and returns the binary's path. Tests build
// what they start rather than trusting bin/, which may be stale.
func build(t testing.TB, pkg, name string, cgo bool) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "dlcompat-docker-test-")
	if err != nil {
		t.Fatal(err)
	}
	buildDirs = append(buildDirs, dir)
	out := filepath.Join(dir, name)
	cmd := osexec.Command("go", "build", "-o", out, "./"+pkg)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if cgo {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

func gorgoniaPlugin(t testing.TB) string {
	return build(t, "plugins/gorgonia", pluginhost.BinaryPrefix+"gorgonia", false)
}

func gorgoniaSpec(t testing.TB, image string) exec.Spec {
	return exec.Spec{Name: "gorgonia", Path: gorgoniaPlugin(t), Image: image}
}

// runContainers lists the containers (any state) labelled with a run.
func runContainers(t testing.TB, pool *dockertest.Pool, runID string) []dc.APIContainers {
	t.Helper()
	cs, err := pool.Client.ListContainers(dc.ListContainersOptions{All: true,
		Filters: map[string][]string{"label": {docker.LabelRun + "=" + runID}}})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// eventually polls cond every 100ms until it holds or d has passed.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// runDirs lists the socket directories of run runID's sessions.
func runDirs(runID string) []string {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "dlcompat-run-"+runID+"-*"))
	return dirs
}

// testRunID is a run id of this test, unique enough for labels.
func testRunID(t testing.TB) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 20 {
		name = name[:20]
	}
	return fmt.Sprintf("test-%s-%d", name, time.Now().UnixNano()%1e9)
}

// envLifelineHost makes the test binary a host that starts the gorgonia
// plugin in a container (without the watchdog unless lifelineConfig.Janitor),
// prints "ready" and the plugin's version, and waits to be killed.
const envLifelineHost = "DLCOMPAT_TEST_LIFELINE_HOST"

type lifelineConfig struct {
	Plugin string `json:"plugin"`
	RunID  string `json:"run_id"`
	// Janitor starts the watchdog too, as a real run does.
	Janitor bool `json:"janitor"`
}

func lifelineHost(raw string) int {
	var cfg lifelineConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	ex := docker.New(docker.Options{NoJanitor: !cfg.Janitor})
	if err := ex.Open(ctx, cfg.RunID); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	inst, err := pluginhost.Start(ctx, ex, exec.Spec{Name: "gorgonia", Path: cfg.Plugin, Image: gorgoniaImage})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("ready %s\n", inst.Desc.Version)
	select {} // until SIGKILL
}
