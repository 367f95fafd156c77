package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
)

// The janitor is a watchdog process for one run, like Testcontainers'
// Ryuk but on the host: Open re-executes the running binary with
// EnvJanitor set, and keeps the write end of a pipe whose read end is the
// janitor's stdin. The janitor waits for the end of its stdin, which comes
// when the host closes the pipe (Close) or dies in any way (the kernel
// closes its descriptors, SIGKILL included). It then removes the
// containers its host started (the run's id and its host as their owner:
// a --resume of the same run may already be starting its own) and its
// host's socket directory, and exits.
//
// A host that dies while a create is in flight leaves the engine to
// finish it, after the janitor's first listing: a container in state
// "created" that nobody owns. So a janitor whose host died lists again,
// janitorSettle apart, until a pass finds nothing. A host that closes
// cleanly (Close, its containers removed) writes cleanExit first, and
// its janitor makes one pass and exits at once.
//
// It runs in its own process group, so a Ctrl-C on the terminal reaches
// the host (which cleans up itself) but not the janitor, which ignores
// SIGINT, SIGTERM and SIGHUP anyway.

// EnvJanitor, when set in a process's environment, makes any binary that
// links this package the janitor described by its JSON value, at init,
// before main or the tests run (the re-exec pattern).
const EnvJanitor = "DLCOMPAT_DOCKER_JANITOR"

// cleanExit is what a host writes to its janitor before it closes the
// pipe after removing its containers itself.
const cleanExit = "closed\n"

// janitorSettle is how long a create sent by a host that died may take to
// complete in the engine: the janitor lists the run's containers again
// after it.
const janitorSettle = 2 * time.Second

type janitorConfig struct {
	Endpoint string `json:"endpoint"`
	RunID    string `json:"run_id"`
	Owner    string `json:"owner"` // the host's LabelOwner
	Dir      string `json:"dir"`
}

func init() {
	if v := os.Getenv(EnvJanitor); v != "" {
		os.Exit(janitorMain(v, os.Stdin))
	}
}

type janitor struct {
	cmd  *osexec.Cmd
	pipe *os.File
	done chan struct{}
}

func startJanitor(cfg janitorConfig) (*janitor, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("docker: watchdog: %v", err)
	}
	js, _ := json.Marshal(cfg)
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("docker: watchdog: %v", err)
	}
	cmd := osexec.Command(self)
	cmd.Env = append(withoutJanitor(os.Environ()), EnvJanitor+"="+string(js))
	cmd.Stdin = r
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("docker: starting the watchdog %s: %v", self, err)
	}
	r.Close()
	j := &janitor{cmd: cmd, pipe: w, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(j.done) }()
	return j, nil
}

// release tells the janitor the host closed cleanly, and closes the
// pipe: the janitor finds nothing left and exits.
func (j *janitor) release() {
	_, _ = io.WriteString(j.pipe, cleanExit)
	j.pipe.Close()
	select {
	case <-j.done:
	case <-time.After(10 * time.Second):
	}
}

func withoutJanitor(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, EnvJanitor+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// janitorMain is the janitor process: wait for the end of stdin, clean up.
func janitorMain(config string, stdin io.Reader) int {
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	var cfg janitorConfig
	if err := json.Unmarshal([]byte(config), &cfg); err != nil || cfg.RunID == "" || !isRunDir(cfg.Dir) {
		fmt.Fprintf(os.Stderr, "dlcompat docker watchdog: bad %s=%q\n", EnvJanitor, config)
		return 2
	}
	said, _ := io.ReadAll(stdin)
	clean := string(said) == cleanExit
	// This process is its own main: its context starts here.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	status := 0
	if pool, err := dockertest.NewPool(cfg.Endpoint); err == nil {
		for pass := 0; ; pass++ {
			n, err := removeRun(ctx, pool, cfg.RunID, cfg.Owner)
			if err != nil {
				fmt.Fprintf(os.Stderr, "dlcompat docker watchdog: %v\n", err)
				status = 1
				break
			}
			if clean || (pass > 0 && n == 0) || ctx.Err() != nil {
				break
			}
			time.Sleep(janitorSettle)
		}
	}
	if err := os.RemoveAll(cfg.Dir); err != nil {
		status = 1
	}
	return status
}

// runDirPrefix starts the name of every run's socket directory.
const runDirPrefix = "dlcompat-run-"

// ownerFile, in a run's socket directory, names the process that owns it.
const ownerFile = "owner"

// isRunDir guards RemoveAll: only a run's socket directory is removed.
func isRunDir(dir string) bool {
	return filepath.IsAbs(dir) && strings.HasPrefix(filepath.Base(dir), runDirPrefix)
}

// sweep removes what earlier runs on this host left behind (their dlcompat
// and its janitor were both killed): containers and socket directories
// whose owner process is gone. A run that is still going is left alone,
// and so is anything started from another host.
func sweep(ctx context.Context, pool *dockertest.Pool) {
	cs, err := pool.Client.ListContainers(dc.ListContainersOptions{All: true, Context: ctx,
		Filters: map[string][]string{"label": {LabelRun}}})
	if err == nil {
		for _, c := range cs {
			if !ownerAlive(c.Labels[LabelOwner]) {
				_ = removeContainer(ctx, pool.Client, c.ID)
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), runDirPrefix+"*"))
	for _, d := range dirs {
		owner, err := os.ReadFile(filepath.Join(d, ownerFile))
		if err == nil && !ownerAlive(string(owner)) && isRunDir(d) {
			_ = os.RemoveAll(d)
		}
	}
}
