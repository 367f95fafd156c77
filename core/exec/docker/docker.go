package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/matrix"
)

// Errors of this package.
var (
	// ErrNoEngine: no Docker engine answers at the endpoint.
	ErrNoEngine = errors.New("no Docker engine answers")
	// ErrImageMissing: the image is not on the Docker host, and the pull
	// policy does not allow pulling it.
	ErrImageMissing = errors.New("image not found")
	// ErrNoImage: the spec names no image to run the plugin in.
	ErrNoImage = errors.New("no image for the plugin")
	// ErrNoGPURuntime: the daemon cannot give a container a GPU.
	ErrNoGPURuntime = errors.New("the Docker daemon has no NVIDIA runtime")
	// ErrNoAMDDevice: a container pinned to an AMD GPU cannot be given
	// it: /dev/kfd or the GPU's render node is not on this host.
	ErrNoAMDDevice = errors.New("the AMD GPU's device nodes are not on this host")
	// ErrNotOpen: Configure was called before Open.
	ErrNotOpen = errors.New("docker executor used before Open")
	// ErrEngineGone: the Docker engine stopped answering during the run
	// (CheckEnvironment). The plugin did not fail, its environment did: the
	// cells it left are to be run again once the engine is back (--resume).
	// It also matches exec.ErrEnvironment.
	ErrEngineGone = errors.New("the Docker engine stopped answering")
)

// PullPolicy says whether a missing image may be pulled.
type PullPolicy string

// Pull policies.
const (
	// PullNever never pulls: a missing image is an error (ErrImageMissing).
	PullNever PullPolicy = "never"
	// PullIfMissing pulls an image that is not on the Docker host.
	PullIfMissing PullPolicy = "if-missing"
)

// PullPolicies lists the valid policies.
var PullPolicies = []PullPolicy{PullNever, PullIfMissing}

// Paths inside a container.
const (
	PluginDir      = "/dlcompat/bin"
	ReferenceMount = "/dlcompat/reference"
	SocketMount    = "/dlcompat/sock"
)

// Labels on every container this package starts.
const (
	LabelRun       = "org.dlcompat.run"        // the run's id
	LabelOwner     = "org.dlcompat.owner"      // host/pid/start-time of the dlcompat that started it
	LabelFramework = "org.dlcompat.framework"  // the plugin's framework name
	LabelDevice    = "org.dlcompat.device"     // the host device it is pinned to
	LabelSocketDir = "org.dlcompat.socket-dir" // go-plugin's socket directory on the host
)

// EnvReferenceDir names, inside a container, the directory of the
// reference tensors.
const EnvReferenceDir = "DLCOMPAT_REFERENCE_DIR"

// BuildScript builds the local images (dlcompat/*).
const BuildScript = "scripts/build-images.sh"

// Options configure an Executor. Zero values take the documented defaults.
type Options struct {
	// Endpoint is the Docker engine's address; default $DOCKER_HOST, else
	// the local socket (unix:///var/run/docker.sock).
	Endpoint string
	// Pull is the pull policy; default PullNever.
	Pull PullPolicy
	// ReferenceDir, when set, is bind-mounted read-only at ReferenceMount,
	// and $DLCOMPAT_REFERENCE_DIR names it in the container.
	ReferenceDir string
	// Limits bound each plugin's container (user, pids, memory, /tmp);
	// zero fields take DefaultLimits. Executor.Limits reports the ones in
	// effect; an invalid one makes Open fail.
	Limits Limits
	// NoJanitor leaves out the watchdog process, so that only the plugin's
	// own lifeline cleans up after a killed host. For tests of that
	// lifeline; a real run always wants the watchdog.
	NoJanitor bool
}

// Executor runs plugins in containers. Open it once per run, Configure each
// plugin, and Close it when the run ends.
type Executor struct {
	o         Options
	limits    Limits // o.Limits resolved
	limitsErr error

	mu      sync.Mutex
	pool    *dockertest.Pool
	runID   string
	runDir  string // per-run parent of go-plugin's socket directories
	session string // this process's session of the run (a --resume is another)
	owner   string
	janitor *janitor
	seq     atomic.Int64
	// packages caches ListPackages by image ID.
	packages map[string]*matrix.Packages
}

var (
	_ exec.Executor           = (*Executor)(nil)
	_ exec.RunScoped          = (*Executor)(nil)
	_ exec.DevicePinner       = (*Executor)(nil)
	_ exec.ImagePreparer      = (*Executor)(nil)
	_ exec.EnvironmentChecker = (*Executor)(nil)
)

// New returns an unopened executor.
func New(o Options) *Executor {
	if o.Pull == "" {
		o.Pull = PullNever
	}
	e := &Executor{o: o}
	e.limits, e.limitsErr = o.Limits.Resolve()
	return e
}

// Limits are the limits every container of this executor gets: Options'
// with the defaults filled in. The runner records them with the results.
func (e *Executor) Limits() Limits { return e.limits }

// Settings records the limits in the run's configuration (exec.Recorder).
func (e *Executor) Settings() any { return map[string]Limits{"limits": e.limits} }

// Name is "docker".
func (e *Executor) Name() string { return "docker" }

// PinsDevices is true: one container per (image, device).
func (e *Executor) PinsDevices() bool { return true }

// ParsePullPolicy checks a policy's name.
func ParsePullPolicy(s string) (PullPolicy, error) {
	for _, p := range PullPolicies {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown pull policy %q (valid: never, if-missing)", s)
}

// Connect returns a dockertest pool on the engine at endpoint (see
// Options.Endpoint), checked with a ping. The error says how to start an
// engine when none answers.
func Connect(ctx context.Context, endpoint string) (*dockertest.Pool, error) {
	where := endpoint
	pool, err := dockertest.NewPool(endpoint)
	if err == nil {
		where = pool.Client.Endpoint()
		err = pool.Client.PingWithContext(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %v (start one: scripts/setup.d/10-docker.sh, or `systemctl start docker`)", ErrNoEngine, where, err)
	}
	return pool, nil
}

// Open connects to the engine, removes the leftovers of earlier runs whose
// dlcompat is gone, creates the run's socket directory and starts the
// watchdog that cleans up if this process is killed.
func (e *Executor) Open(ctx context.Context, runID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pool != nil {
		return fmt.Errorf("docker executor already open for run %s", e.runID)
	}
	if e.limitsErr != nil {
		return e.limitsErr
	}
	if runID == "" || strings.Trim(runID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
		return fmt.Errorf("docker: run id %q: want letters, digits, '.', '_' and '-' (it names a label and a directory)", runID)
	}
	pool, err := Connect(ctx, e.o.Endpoint)
	if err != nil {
		return err
	}
	owner, err := selfOwner()
	if err != nil {
		return err
	}
	sweep(ctx, pool)
	// Each session of a run (a --resume is another) has a socket directory
	// and container names of its own: the watchdog of a killed session,
	// still cleaning up, must not remove the next session's directory, and
	// the killed session's containers, still being removed, must not hold
	// the next session's names.
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	session := hex.EncodeToString(b)
	// Unix socket paths are limited to 107 bytes: keep the directory short
	// (go-plugin adds /plugin-dirNNNNNNNNNN/pluginNNNNNNNNNN).
	dir := filepath.Join(os.TempDir(), runDirPrefix+runID+"-"+session)
	if len(dir) > 64 {
		return fmt.Errorf("socket directory %s is too long for unix sockets: set TMPDIR to a shorter directory", dir)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("socket directory: %w", err)
	}
	e.pool, e.runID, e.runDir, e.owner, e.session = pool, runID, dir, owner, session
	if !e.o.NoJanitor {
		j, err := startJanitor(janitorConfig{Endpoint: pool.Client.Endpoint(), RunID: runID, Owner: owner, Dir: dir})
		if err != nil {
			e.closeLocked()
			return err
		}
		e.janitor = j
	}
	return nil
}

// Close removes every container of the run and the run's socket directory,
// then lets the watchdog go.
func (e *Executor) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closeLocked()
}

func (e *Executor) closeLocked() error {
	if e.pool == nil {
		return nil
	}
	// Cleanup runs even when the run's context is cancelled (Ctrl-C): it
	// gets a bounded context of its own.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := removeRun(ctx, e.pool, e.runID, "")
	if rerr := os.RemoveAll(e.runDir); err == nil {
		err = rerr
	}
	if e.janitor != nil {
		e.janitor.release()
		e.janitor = nil
	}
	e.pool = nil
	return err
}

// RunID is the id of the open run ("" before Open).
func (e *Executor) RunID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runID
}

// RunDir is the host directory that holds the run's socket directories.
func (e *Executor) RunDir() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.runDir
}

// CheckEnvironment asks the engine whether it still answers (a ping, 10
// seconds at most). The runner asks after a plugin died or could not
// start: an error (ErrEngineGone, matching exec.ErrEnvironment) means the
// engine is gone, not the plugin, and says how to go on.
func (e *Executor) CheckEnvironment(ctx context.Context) error {
	pool, err := e.openPool()
	if err != nil {
		return err
	}
	return engineAnswers(ctx, pool)
}

// engineAnswers is nil when the engine answers a ping, else ErrEngineGone.
// A ping cut short by ctx's own end is ctx's error: an interrupted run
// says nothing about the engine.
func engineAnswers(ctx context.Context, pool *dockertest.Pool) error {
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err := pool.Client.PingWithContext(pctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return environment{fmt.Errorf("%w at %s: %v; the cells it did not finish are unknown: once it runs again, finish them with dlcompat run --resume", ErrEngineGone, pool.Client.Endpoint(), err)}
}

// PrepareImage makes sure image is on the Docker host, pulling it only
// under PullIfMissing, and returns its digest: the registry digest
// (repo@sha256:…) of a pulled image, else the image id (sha256:…), which
// is the same on every host that has the same image.
func (e *Executor) PrepareImage(ctx context.Context, image string) (string, error) {
	pool, err := e.openPool()
	if err != nil {
		return "", err
	}
	img, err := pool.Client.InspectImage(image)
	if errors.Is(err, dc.ErrNoSuchImage) && e.o.Pull == PullIfMissing {
		repo, tag := splitRef(image)
		perr := pool.Client.PullImage(dc.PullImageOptions{Repository: repo, Tag: tag, Context: ctx}, dc.AuthConfiguration{})
		if perr != nil {
			return "", fmt.Errorf("%w: pulling %s (pull policy if-missing): %v", ErrImageMissing, image, perr)
		}
		img, err = pool.Client.InspectImage(image)
	}
	if errors.Is(err, dc.ErrNoSuchImage) {
		return "", missingImage(image, e.o.Pull)
	}
	if err != nil {
		return "", fmt.Errorf("docker: inspecting image %s: %v", image, err)
	}
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0], nil
	}
	return img.ID, nil
}

// missingImage says what to do about an image that is not there.
func missingImage(image string, pull PullPolicy) error {
	how := "pull it (docker pull " + image + "), or set the pull policy to if-missing"
	if strings.HasPrefix(image, "dlcompat/") {
		how = "build it with " + BuildScript
	}
	return fmt.Errorf("%w: %s is not on this Docker host and the pull policy is %s: %s", ErrImageMissing, image, pull, how)
}

// splitRef splits "name:tag" (a registry port is not a tag); a digest
// reference stays whole.
func splitRef(ref string) (repo, tag string) {
	if strings.Contains(ref, "@") {
		return ref, ""
	}
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}

func (e *Executor) openPool() (*dockertest.Pool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.pool == nil {
		return nil, ErrNotOpen
	}
	return e.pool, nil
}

// Configure makes go-plugin start spec in a container of spec.Image: it
// sets cfg.RunnerFunc, SkipHostEnv and the socket directory's parent.
func (e *Executor) Configure(spec exec.Spec, cfg *plugin.ClientConfig) error {
	e.mu.Lock()
	pool, runID, runDir, owner, session := e.pool, e.runID, e.runDir, e.owner, e.session
	e.mu.Unlock()
	if pool == nil {
		return ErrNotOpen
	}
	if spec.Image == "" {
		return fmt.Errorf("%w %s: the docker executor runs each plugin in an image; name one in the config (frameworks.%s.images)", ErrNoImage, spec.Name, spec.Name)
	}
	if spec.Device.Kind == "gpu" && spec.Device.UUID == "" {
		return fmt.Errorf("docker: GPU %s has no UUID, so a container cannot be given exactly that GPU", spec.Device.ID)
	}
	bin, err := filepath.Abs(spec.Path)
	if err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return fmt.Errorf("docker: plugin binary %s: not a file (build it with `make build`)", bin)
	}
	if st, _ := os.Stat(bin); st.Mode().Perm()&0o001 == 0 {
		return fmt.Errorf("docker: plugin binary %s is mode %v, but the plugin runs as %s in its container: make it executable by all (chmod a+rx)", bin, st.Mode().Perm(), e.limits.User)
	}
	refDir := ""
	if e.o.ReferenceDir != "" {
		if refDir, err = filepath.Abs(e.o.ReferenceDir); err != nil {
			return err
		}
	}
	cfg.SkipHostEnv = true
	if cfg.UnixSocketConfig == nil {
		cfg.UnixSocketConfig = &plugin.UnixSocketConfig{}
	}
	cfg.UnixSocketConfig.TempDir = runDir
	// go-plugin gives the socket directory, and the plugin its socket, to
	// the plugin's group, so that the host (its owner, or root) and the
	// plugin (another uid) both reach them and nobody else does.
	_, gid, err := e.limits.ids()
	if err != nil {
		return err
	}
	cfg.UnixSocketConfig.Group = strconv.Itoa(gid)
	seq := e.seq.Add(1)
	cfg.RunnerFunc = func(log hclog.Logger, cmd *osexec.Cmd, hostSocketDir string) (runner.Runner, error) {
		return newContainer(containerSpec{
			pool: pool, spec: spec, binary: bin, referenceDir: refDir, limits: e.limits,
			goPluginEnv: cmd.Env, hostSocketDir: hostSocketDir,
			name:   containerName(runID+"-"+session, spec, seq),
			labels: map[string]string{LabelRun: runID, LabelOwner: owner, LabelFramework: spec.Name, LabelDevice: deviceID(spec.Device), LabelSocketDir: hostSocketDir},
		}), nil
	}
	return nil
}

func deviceID(d exec.Device) string {
	if d.ID == "" {
		return "all"
	}
	return d.ID
}

// containerName is readable in `docker ps`:
// dlcompat-RUN-SESSION-FRAMEWORK-DEVICE-N (run is RUN-SESSION).
func containerName(runID string, spec exec.Spec, seq int64) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
				return r
			}
			return '-'
		}, s)
	}
	return fmt.Sprintf("dlcompat-%s-%s-%s-%d", clean(runID), clean(spec.Name), clean(deviceID(spec.Device)), seq)
}
