package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin/runner"
)

// ExitDrain is how long a local plugin's stdout and stderr are still read
// after it exited (its process group killed with it): what it wrote last,
// a panic's trace, is in the pipe, and normally the pipes end at once. A
// descendant that left the group and still holds them is cut off then,
// so the host never waits on it (os/exec's WaitDelay, for the pipes
// go-plugin reads).
const ExitDrain = 2 * time.Second

// socketPrefix names the per-host socket directories under os.TempDir():
// dlcompat-plugins-<host pid>.
const socketPrefix = "dlcompat-plugins-"

// localRunner is go-plugin's runner.Runner for a local plugin. It differs
// from go-plugin's own in what happens when the plugin ends: it kills the
// plugin's process group, bounds how long the pipes are read (ExitDrain),
// and removes the socket directory, whoever ended the plugin. go-plugin's
// own waits for EOF on stdout before it reaps, so a plugin that failed its
// handshake while a child held its stdout hung the host until that child
// exited, past every timeout.
type localRunner struct {
	spec      Spec
	cmd       *osexec.Cmd
	socketDir string

	stdout, stderr *drainedPipe

	mu     sync.Mutex
	reaped bool // cmd.Wait returned: the pid (and group id) may be reused
	done   chan struct{}
	err    error // cmd.Wait's, once done is closed
}

var _ runner.Runner = (*localRunner)(nil)

// init takes what go-plugin prepared (the environment with its
// handshake variables, stdin, the socket directory) for the plugin binary.
func (r *localRunner) init(spec *osexec.Cmd, socketDir string) {
	cmd := osexec.Command(r.spec.Path, r.spec.Args...)
	cmd.Env = append(append([]string{}, spec.Env...), r.spec.Env...)
	cmd.Stdin = spec.Stdin
	cmd.SysProcAttr = sysProcAttr()
	r.cmd, r.socketDir = cmd, socketDir
}

func (r *localRunner) Start(context.Context) error {
	outR, outW, err := os.Pipe()
	if err != nil {
		return err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return err
	}
	r.cmd.Stdout, r.cmd.Stderr = outW, errW
	err = r.cmd.Start()
	// The plugin has its own copies of the write ends; ours would keep
	// the pipes open after it exits.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		os.RemoveAll(r.socketDir)
		releaseSocketDir()
		return err
	}
	r.stdout, r.stderr = newDrainedPipe(outR), newDrainedPipe(errR)
	go r.watch()
	return nil
}

// watch waits for the plugin to exit, kills what is left of its process
// group before reaping it, drains the pipes for at most ExitDrain and
// removes the socket directory.
func (r *localRunner) watch() {
	var err error
	if waitExit(r.cmd.Process.Pid) == nil {
		r.mu.Lock()
		killTree(r.cmd)
		err = r.cmd.Wait()
		r.reaped = true
		r.mu.Unlock()
	} else {
		err = r.cmd.Wait()
		r.mu.Lock()
		r.reaped = true
		r.mu.Unlock()
	}
	drain, stop := context.WithTimeout(context.Background(), ExitDrain)
	for _, p := range []*drainedPipe{r.stdout, r.stderr} {
		select {
		case <-p.ended:
		case <-drain.Done():
		}
	}
	stop()
	r.stdout.Close()
	r.stderr.Close()
	os.RemoveAll(r.socketDir)
	releaseSocketDir()
	r.err = err
	close(r.done)
}

func (r *localRunner) Wait(context.Context) error {
	<-r.done
	return r.err
}

// Kill SIGKILLs the plugin's process group; it does not wait (Wait does).
func (r *localRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil && r.cmd.Process != nil && !r.reaped {
		killTree(r.cmd)
	}
	return nil
}

func (r *localRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *localRunner) Stderr() io.ReadCloser { return r.stderr }
func (r *localRunner) Name() string          { return r.spec.Path }

var (
	_ ProcessRooted = (*localRunner)(nil)
	_ TreeKiller    = (*localRunner)(nil)
)

// KillTree is Kill: the plugin's process group, at once.
func (r *localRunner) KillTree() { _ = r.Kill(context.Background()) }

// RootPID is the plugin subprocess's PID, until it is reaped.
func (r *localRunner) RootPID(context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil || r.reaped {
		return 0, ErrNoProcess
	}
	return r.cmd.Process.Pid, nil
}

func (r *localRunner) ID() string {
	if r.cmd == nil || r.cmd.Process == nil {
		return ""
	}
	return strconv.Itoa(r.cmd.Process.Pid)
}

func (r *localRunner) Diagnose(context.Context) string {
	return fmt.Sprintf("the plugin %s printed no go-plugin handshake: is it a dlcompat plugin built for this machine (make build)?", r.spec.Path)
}

// The plugin shares the host's file system and network: addresses are
// the same on both sides.
func (r *localRunner) PluginToHost(n, a string) (string, string, error) { return n, a, nil }
func (r *localRunner) HostToPlugin(n, a string) (string, string, error) { return n, a, nil }

// drainedPipe is the read end of a plugin's stdout or stderr; ended is
// closed when a read fails (EOF: every writer closed it).
type drainedPipe struct {
	f     *os.File
	ended chan struct{}
	once  sync.Once
}

func newDrainedPipe(f *os.File) *drainedPipe {
	return &drainedPipe{f: f, ended: make(chan struct{})}
}

func (p *drainedPipe) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	if err != nil {
		p.once.Do(func() { close(p.ended) })
	}
	return n, err
}

// Close closes the read end, which ends a Read blocked on it.
func (p *drainedPipe) Close() error { return p.f.Close() }

// sockets counts the local plugins that use this host's socket
// directory, which exists while any does.
var sockets struct {
	mu    sync.Mutex
	swept bool
	refs  int
}

// socketDir is this host process's directory for its local plugins'
// sockets: os.TempDir()/dlcompat-plugins-<pid>, 0700. go-plugin makes one
// directory per plugin in it, which this package removes when the plugin
// ends, and the last plugin to end removes this one. A host that was
// killed cannot: the first use removes the directories of hosts that no
// longer run.
func socketDir() string {
	return filepath.Join(os.TempDir(), socketPrefix+strconv.Itoa(os.Getpid()))
}

// acquireSocketDir makes socketDir if no plugin uses it yet; each
// acquire is matched by a releaseSocketDir when the plugin ends.
func acquireSocketDir() (string, error) {
	sockets.mu.Lock()
	defer sockets.mu.Unlock()
	if !sockets.swept {
		sweepSocketDirs(os.TempDir())
		sockets.swept = true
	}
	dir := socketDir()
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, os.ErrExist) {
		err = checkOwnDir(dir)
	}
	if err != nil {
		return "", err
	}
	sockets.refs++
	return dir, nil
}

func releaseSocketDir() {
	sockets.mu.Lock()
	defer sockets.mu.Unlock()
	if sockets.refs--; sockets.refs == 0 {
		os.Remove(socketDir()) // fails, harmlessly, if a plugin dir is left in it
	}
}

// checkOwnDir refuses a directory that is not a real one of this user's
// with mode 0700 (another user could have made it in a shared /tmp).
func checkOwnDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() || fi.Mode().Perm() != 0o700 || !ownedByMe(fi) {
		return fmt.Errorf("%s exists and is not a 0700 directory of this user: remove it", dir)
	}
	return nil
}

// sweepSocketDirs removes tmp/dlcompat-plugins-<pid> of every pid that
// no longer runs (what a SIGKILLed host left). A pid reused since is
// taken for alive and its directory kept: only a few bytes.
func sweepSocketDirs(tmp string) {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), socketPrefix))
		if !strings.HasPrefix(e.Name(), socketPrefix) || err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		if checkOwnDir(dir) == nil {
			os.RemoveAll(dir)
		}
	}
}
