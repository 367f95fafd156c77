// Package killresume is a test-only package: the fault-injection suite of
// issue 9. It runs the real dlcompat binary (built here, with the real
// gorgonia plugin) under the local and the docker executor, SIGKILLs it
// at random but reproducible points of a run's life (a delay after the
// start, the k-th journal line, a plugin starting, run.json being
// written, run.json written), resumes it with --resume (itself killed
// once more at some points), and requires the final run.json to equal a
// clean run's cell for cell: the same keys and statuses, every cell
// finished, no cell run twice, forward and backward errors bit for bit.
// After each kill no plugin process, watchdog or container of the run
// may be left once the run's safety nets have had their time, and the
// output directory's lock must not stand in the resume's way.
//
// Run it alone with
//
//	go test -count=1 -v -run TestKillResume ./core/cli/killresume
//
// DLCOMPAT_KILL_SEED replays the kill points of an earlier run (each run
// logs its seed); DLCOMPAT_KILL_POINTS sets the points per executor
// (default 12). The docker half needs a Docker engine and
// dlcompat/gorgonia:scratch; it skips without them outside CI and fails
// under CI or `make test` (core/testenv).
package killresume_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
	dc "github.com/ory/dockertest/v3/docker"
)

// Environment variables that steer the suite.
const (
	EnvSeed   = "DLCOMPAT_KILL_SEED"   // the seed of the kill points (default: from the clock, logged)
	EnvPoints = "DLCOMPAT_KILL_POINTS" // kill points per executor (default 12)
)

var (
	repoRoot = filepath.Join("..", "..", "..")
	// bin is the dlcompat binary and plugin the gorgonia plugin, both built
	// by TestMain into a directory of their own, so that a process running
	// either is one of this suite's.
	bin, pluginsDir, plugin string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dlcompat-killresume")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "dlcompat")
	pluginsDir = filepath.Join(dir, "plugins")
	plugin = filepath.Join(pluginsDir, "dlcompat-plugin-gorgonia")
	// Built as make build builds them, so that its build cache serves.
	for _, b := range []struct {
		out, pkg, cgo string
		flags         []string
	}{
		{bin, "./cmd/dlcompat", "1", nil}, // cgo for go-nvml
		{plugin, "./plugins/gorgonia", "0", []string{"-trimpath"}},
	} {
		cmd := osexec.Command("go", append(append([]string{"build"}, b.flags...), "-o", b.out, b.pkg)...)
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED="+b.cgo)
		if out, err := cmd.CombinedOutput(); err != nil {
			panic("building " + b.pkg + ": " + err.Error() + "\n" + string(out))
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cheap keeps every cell to a fraction of a second: one model, a few
// iterations, small batches.
var cheap = []string{"--frameworks", "gorgonia", "--devices", "cpu", "--models", "cnn",
	"--perf-iterations", "2", "--perf-warmup", "0", "--throughput-batches", "2", "--train-batch", "2"}

// An executor under test: the flags that select it.
type executor struct {
	name  string
	flags []string
	// resumeAll gives --resume every flag of the start again; without it,
	// --resume gets none (they come from the journal). A --config must be
	// given again, and then so must the flags that overrode it: the file
	// wins over the journal (core/runspec).
	resumeAll bool
}

func (e executor) runArgs(out string, resume bool) []string {
	// Neither directory is journalled: a resume elsewhere names its own.
	args := []string{"run", "-o", out, "--plugins-dir", pluginsDir, "--reference", filepath.Join(repoRoot, "testdata", "reference")}
	if resume {
		args = append(args, "--resume")
		if !e.resumeAll {
			return args
		}
	}
	return append(append(args, e.flags...), cheap...)
}

// TestKillResume is the suite; see the package comment.
func TestKillResume(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv(EnvSeed); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want an unsigned integer", EnvSeed, v)
		}
		seed = s
	}
	points := 12
	if v := os.Getenv(EnvPoints); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive integer", EnvPoints, v)
		}
		points = n
	}
	t.Logf("kill points: seed %d (replay with %s=%d), %d per executor", seed, EnvSeed, seed, points)
	start := time.Now()
	for i, e := range []executor{
		{name: "local", flags: []string{"--executor", "local"}},
		{name: "docker", flags: []string{"--config", filepath.Join(repoRoot, "testdata", "configs", "local-docker.yaml")}, resumeAll: true},
	} {
		t.Run(e.name, func(t *testing.T) {
			if e.name == "docker" {
				needDocker(t)
			}
			suite(t, e, rand.New(rand.NewPCG(seed, uint64(i))), points)
		})
	}
	t.Logf("the suite took %.1fs", time.Since(start).Seconds())
}

// trigger is the event a kill waits for.
type trigger int

const (
	afterDelay     trigger = iota // a delay after the start
	journalLine                   // the journal has k lines (1: the header alone)
	pluginStarting                // a plugin process (local) or the run's socket directory (docker) appears
	writingResults                // run.json's temporary file exists
	resultsWritten                // run.json is in place; the process has not exited yet
	numTriggers
)

func (tr trigger) String() string {
	return [...]string{"delay", "journal-line", "plugin-start", "writing-run.json", "run.json-written"}[tr]
}

// A killPoint is one kill and how the run is resumed after it. Delays
// are fractions of a run's length, so that a seed replays the same
// points of a run's life on a faster or slower machine.
type killPoint struct {
	trigger trigger
	line    int     // journalLine: the line count awaited
	frac    float64 // afterDelay: of a run, from its start; pluginStarting: of half a run, after the event
	// settle waits, before resuming, for what the killed run left to go
	// (and fails if it does not); otherwise the resume starts at once.
	settle bool
	// again kills the first resume too, againFrac of a run after its start.
	again     bool
	againFrac float64
}

func (p killPoint) String() string {
	s := p.trigger.String()
	switch p.trigger {
	case journalLine:
		s += fmt.Sprintf(" %d", p.line)
	case afterDelay, pluginStarting:
		s += fmt.Sprintf(" +%.2f", p.frac)
	}
	if p.settle {
		s += ", settle"
	}
	if p.again {
		s += fmt.Sprintf(", resume killed at %.2f", p.againFrac)
	}
	return s
}

// delay is how long after its event kp kills a run that takes wall.
func (p killPoint) delay(wall time.Duration) time.Duration {
	switch p.trigger {
	case afterDelay:
		return time.Duration(p.frac * float64(wall))
	case pluginStarting:
		return time.Duration(p.frac * float64(wall) / 2)
	}
	return 0
}

// nextPoint draws the i-th kill point of a run of cells cells: the
// triggers in turn, the rest from rng (the same draws for every point).
func nextPoint(rng *rand.Rand, i, cells int) killPoint {
	p := killPoint{trigger: trigger(i % int(numTriggers)), line: 1 + rng.IntN(cells+1), frac: rng.Float64(),
		settle: rng.IntN(2) == 0, again: rng.IntN(3) == 0, againFrac: rng.Float64()}
	return p
}

// suite runs a clean run, then kill points until n of them hit a live
// run, and compares each resumed run with the clean one.
func suite(t *testing.T, e executor, rng *rand.Rand, n int) {
	cleanOut := filepath.Join(t.TempDir(), "clean")
	t0 := time.Now()
	p := start(t, e.runArgs(cleanOut, false))
	p.wait()
	wall := time.Since(t0) // the shortest whole run seen: what delays scale by
	if !p.exited(0) {
		t.Fatalf("clean run: %s", p)
	}
	clean := readRun(t, cleanOut)
	checkLeftovers(t, e, clean.RunID, 5*time.Second)
	t.Logf("clean run: %d cells in %.2fs", len(clean.Cells), wall.Seconds())

	lost, hit, tried := 0, 0, 0
	for i := 0; hit < n && i < 3*n; i++ {
		tried++
		kp := nextPoint(rng, i, len(clean.Cells))
		what := fmt.Sprintf("point %2d (%s)", i, kp)
		out := filepath.Join(t.TempDir(), fmt.Sprintf("kill-%02d", i))
		killed, at, ran := killAt(t, e, kp, out, wall)
		if !killed {
			t.Logf("%s: missed, the run had ended (%s)", what, at)
			if ran > 0 && ran < wall {
				wall = ran
			}
			continue
		}
		hit++
		runID := journalRunID(out)
		if kp.settle {
			checkLeftovers(t, e, runID, 15*time.Second)
		}
		resumes := resume(t, e, out, kp, wall)
		got, err := matrix.Read(filepath.Join(out, "run.json"))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			lost += len(clean.Cells)
			continue
		}
		l := compare(t, what, clean, got) + checkJournal(t, what, out)
		lost += l
		if runID == "" {
			runID = got.RunID
		}
		checkLeftovers(t, e, runID, 15*time.Second)
		t.Logf("%s: killed %s; %s; %d cells lost or redone", what, at, resumes, l)
	}
	t.Logf("%s executor: %d kill points tried, %d hit a live run, %d cells lost or redone", e.name, tried, hit, lost)
	if hit < n {
		t.Errorf("only %d of %d kill points hit a live run: the suite is not testing what it says", hit, tried)
	}
}

// killAt starts a run into out and SIGKILLs it at kp, wall being how long
// a whole run takes. It reports whether the kill hit the live process and
// when; when it did not, ran is how long the run took.
func killAt(t *testing.T, e executor, kp killPoint, out string, wall time.Duration) (killed bool, at string, ran time.Duration) {
	t.Helper()
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	files := watchDir(t, out)
	t0 := time.Now()
	p := start(t, e.runArgs(out, false))
	// seen reports whether the file event name is kp's event.
	seen := func(name string) bool {
		switch kp.trigger {
		case journalLine:
			return name == "journal.jsonl" && journalLines(out) >= kp.line
		case writingResults:
			return strings.HasPrefix(name, ".run.json.tmp")
		case resultsWritten:
			return name == "run.json"
		}
		return false
	}
	polled := func() bool { // the events that are no file in out
		switch kp.trigger {
		case afterDelay:
			return true
		case pluginStarting:
			if e.name == "docker" {
				return socketDirOf(p.cmd.Process.Pid) != ""
			}
			return len(pluginChildren(p.cmd.Process.Pid)) > 0
		}
		return false
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
wait:
	for !polled() {
		select {
		case name := <-files:
			if seen(name) {
				break wait
			}
		case <-tick.C:
		case <-p.done:
			return false, fmt.Sprintf("before its event, after %.2fs", time.Since(t0).Seconds()), time.Since(t0)
		}
	}
	if d := kp.delay(wall); d > 0 && p.poll(d) {
		return false, fmt.Sprintf("%s after its event, after %.2fs", d.Round(time.Millisecond), time.Since(t0).Seconds()), time.Since(t0)
	}
	p.kill()
	at = fmt.Sprintf("at %.2fs, journal %d lines", time.Since(t0).Seconds(), journalLines(out))
	if !p.killed() {
		return false, at + ", " + p.String(), 0
	}
	return true, at, 0
}

// watchDir sends the names of the files created, written or renamed into
// dir (inotify), so that a kill follows a write within moments. Events
// are dropped while nobody reads.
func watchDir(t *testing.T, dir string) <-chan string {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	f := os.NewFile(uintptr(fd), "inotify") // non-blocking: Close ends a Read
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE|syscall.IN_MODIFY|syscall.IN_MOVED_TO); err != nil {
		f.Close()
		t.Fatalf("inotify %s: %v", dir, err)
	}
	t.Cleanup(func() { f.Close() })
	names := make(chan string, 256)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				l := int(binary.NativeEndian.Uint32(buf[off+12:])) // struct inotify_event's len
				name := buf[off+syscall.SizeofInotifyEvent : min(n, off+syscall.SizeofInotifyEvent+l)]
				select {
				case names <- string(bytes.TrimRight(name, "\x00")):
				default:
				}
				off += syscall.SizeofInotifyEvent + l
			}
		}
	}()
	return names
}

// resume completes the killed run in out (killing the first resume once
// more when kp says so) and says what it took.
func resume(t *testing.T, e executor, out string, kp killPoint, wall time.Duration) string {
	t.Helper()
	var steps []string
	for attempt := 0; ; attempt++ {
		if attempt > 3 {
			t.Fatalf("%s: still not finished after %d resumes", out, attempt)
		}
		args := e.runArgs(out, true)
		if _, err := os.Stat(filepath.Join(out, "journal.jsonl")); err != nil {
			// Killed before it journalled anything: --resume must say
			// there is nothing to resume, and a new run must not be
			// refused (by the lock or by what the killed one left).
			p := start(t, args)
			p.wait()
			if !p.exited(2) || !strings.Contains(p.stderr(), "no run to resume") {
				t.Errorf("%s: --resume with no journal: %s", out, p)
			}
			args = e.runArgs(out, false)
			steps = append(steps, "new run (nothing journalled)")
		} else {
			steps = append(steps, "--resume")
		}
		p := start(t, args)
		if d := time.Duration(kp.againFrac * float64(wall)); kp.again && attempt == 0 && !p.poll(d) {
			p.kill()
			if p.killed() {
				steps[len(steps)-1] += fmt.Sprintf(" killed at +%s", d.Round(time.Millisecond))
				continue
			}
		}
		p.wait()
		if !p.exited(0) {
			t.Errorf("%s: %s: %s", out, strings.Join(steps, ", "), p)
		}
		return strings.Join(steps, ", ")
	}
}

// compare counts the cells of clean that got lost in got: missing,
// unfinished, or with another status or (forward, backward) other errors
// than the clean run's. Timings and perf numbers are measurements and may
// differ.
func compare(t reporter, what string, clean, got *matrix.Run) int {
	t.Helper()
	byKey := map[matrix.CellKey]matrix.Cell{}
	for _, c := range got.Cells {
		if _, dup := byKey[c.CellKey]; dup {
			t.Errorf("%s: cell %s twice in run.json", what, c.CellKey)
		}
		byKey[c.CellKey] = c
	}
	if len(got.Cells) != len(clean.Cells) {
		t.Errorf("%s: %d cells, the clean run has %d", what, len(got.Cells), len(clean.Cells))
	}
	lost := 0
	for _, want := range clean.Cells {
		c, ok := byKey[want.CellKey]
		switch {
		case !ok:
			t.Errorf("%s: lost cell %s", what, want.CellKey)
		case !c.Status.Finished():
			t.Errorf("%s: cell %s is %s: %s", what, c.CellKey, c.Status, c.Reason)
		case c.Status != want.Status:
			t.Errorf("%s: cell %s is %s (%s), the clean run's is %s", what, c.CellKey, c.Status, c.Reason, want.Status)
		case !sameErrors(c, want):
			t.Errorf("%s: cell %s measured other errors than the clean run:\n got %s\nwant %s", what, c.CellKey, errorsOf(c), errorsOf(want))
		default:
			continue
		}
		lost++
	}
	return lost
}

// sameErrors: gorgonia computes forward and backward bit for bit alike
// in every run, so their measured errors must be equal to the bit.
func sameErrors(a, b matrix.Cell) bool {
	if a.Check != "forward" && a.Check != "backward" {
		return true
	}
	return errorsOf(a) == errorsOf(b)
}

func errorsOf(c matrix.Cell) string {
	bits := func(f *matrix.Float) string {
		if f == nil {
			return "nil"
		}
		return strconv.FormatUint(math.Float64bits(float64(*f)), 16)
	}
	s := fmt.Sprintf("abs %s rel %s worst %q layer %q;", bits(c.MaxAbsErr), bits(c.MaxRelErr), c.Worst, c.FirstDivergingLayer)
	for _, te := range c.Tensors {
		a, r := te.MaxAbsErr, te.MaxRelErr
		s += fmt.Sprintf(" %s %s/%s@%v", te.Name, bits(&a), bits(&r), te.WorstIndex)
	}
	return s
}

// reporter is the part of *testing.T that the checks use, so that a test
// can show that they fail.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

// checkJournal: one header, no cell journalled twice (a resume never
// redoes a finished cell), and every finished cell of run.json in it (the
// journal is what the next resume would trust). It returns the cells run
// twice or missing.
func checkJournal(t reporter, what, out string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "journal.jsonl"))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return 0
	}
	if n := bytes.Count(b, []byte(`{"header":`)); n != 1 {
		t.Errorf("%s: %d header lines in the journal", what, n)
	}
	_, cells, err := matrix.ReadJournal(filepath.Join(out, "journal.jsonl"))
	if err != nil {
		// ReadJournal refuses a cell journalled twice, naming both lines;
		// an unreadable journal loses the next resume.
		t.Errorf("%s: %v", what, err)
		return 1
	}
	seen, bad := map[matrix.CellKey]bool{}, 0
	for _, c := range cells {
		if seen[c.CellKey] {
			t.Errorf("%s: cell %s journalled twice: a resume ran it again", what, c.CellKey)
			bad++
		}
		seen[c.CellKey] = true
	}
	final, err := matrix.Read(filepath.Join(out, "run.json"))
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return bad
	}
	for _, c := range final.Cells {
		if c.Status.Finished() && !seen[c.CellKey] {
			t.Errorf("%s: cell %s of run.json is not in the journal", what, c.CellKey)
			bad++
		}
	}
	return bad
}

func readRun(t *testing.T, out string) *matrix.Run {
	t.Helper()
	r, err := matrix.Read(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func journalRunID(out string) string {
	h, _, err := matrix.ReadJournal(filepath.Join(out, "journal.jsonl"))
	if err != nil {
		return ""
	}
	return h.RunID
}

func journalLines(out string) int {
	b, _ := os.ReadFile(filepath.Join(out, "journal.jsonl"))
	return bytes.Count(b, []byte("\n"))
}

// checkLeftovers waits up to grace for every process of this suite's
// binaries (plugins, a docker watchdog) to end and, under docker, for
// every container and the socket directory of run runID to go.
func checkLeftovers(t *testing.T, e executor, runID string, grace time.Duration) {
	t.Helper()
	deadline := time.Now().Add(grace)
	for {
		left := processesOf(plugin, bin)
		if e.name == "docker" && runID != "" {
			left = append(left, containersOf(t, runID)...)
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("left behind %s after the run %s ended: %s", grace, runID, strings.Join(left, "; "))
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processesOf lists the live (not zombie) processes running one of exes.
func processesOf(exes ...string) []string {
	var left []string
	ents, _ := os.ReadDir("/proc")
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || !slices.Contains(exes, strings.TrimSuffix(exe, " (deleted)")) {
			continue
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := bytes.LastIndexByte(st, ')'); i > 0 && len(st) > i+2 && (st[i+2] == 'Z' || st[i+2] == 'X') {
				continue
			}
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		left = append(left, fmt.Sprintf("process %d (%s)", pid, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '})))
	}
	return left
}

// pluginChildren lists the plugin processes whose parent is pid.
func pluginChildren(pid int) []int {
	var kids []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			kid, _ := strconv.Atoi(s)
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", kid)); err == nil && exe == plugin {
				kids = append(kids, kid)
			}
		}
	}
	return kids
}

// socketDirOf is the docker executor's socket directory of the dlcompat
// process pid, once it has made one ("" before).
func socketDirOf(pid int) string {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "dlcompat-run-*"))
	for _, d := range dirs {
		owner, err := os.ReadFile(filepath.Join(d, "owner"))
		if f := strings.Split(string(owner), "/"); err == nil && len(f) == 3 && f[1] == strconv.Itoa(pid) {
			return d
		}
	}
	return ""
}

// containersOf lists the containers of run runID, and the socket
// directories of its sessions that are still there.
func containersOf(t *testing.T, runID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := docker.Connect(ctx, "")
	if err != nil {
		return []string{"the Docker engine: " + err.Error()}
	}
	var left []string
	cs, err := pool.Client.ListContainers(dc.ListContainersOptions{All: true, Context: ctx,
		Filters: map[string][]string{"label": {docker.LabelRun + "=" + runID}}})
	if err != nil {
		return []string{"listing containers: " + err.Error()}
	}
	for _, c := range cs {
		left = append(left, fmt.Sprintf("container %.12s (%s, %s)", c.ID, c.State, c.Status))
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "dlcompat-run-"+runID+"*"))
	for _, d := range dirs {
		left = append(left, "socket directory "+d)
	}
	return left
}

func needDocker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := docker.Connect(ctx, "")
	if err == nil {
		_, err = pool.Client.InspectImage("dlcompat/gorgonia:scratch")
	}
	msg := "needs a Docker engine and dlcompat/gorgonia:scratch: run scripts/setup.d/10-docker.sh and scripts/build-images.sh gorgonia"
	if err != nil {
		msg += " (" + err.Error() + ")"
	}
	testenv.Need(t, err == nil, msg)
}

// proc is a dlcompat process; its output goes to files, so that no pipe
// held by a surviving child can keep Wait from returning.
type proc struct {
	args           []string
	cmd            *osexec.Cmd
	done           chan struct{}
	stdout, errOut *os.File
}

func start(t *testing.T, args []string) *proc {
	t.Helper()
	dir := t.TempDir()
	p := &proc{args: args, done: make(chan struct{})}
	var err error
	if p.stdout, err = os.Create(filepath.Join(dir, "stdout")); err != nil {
		t.Fatal(err)
	}
	if p.errOut, err = os.Create(filepath.Join(dir, "stderr")); err != nil {
		t.Fatal(err)
	}
	p.cmd = osexec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.errOut
	p.cmd.Env = append(os.Environ(), "DLCOMPAT_PLUGINS_DIR="+pluginsDir)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		p.stdout.Close()
		p.errOut.Close()
	})
	return p
}

// poll waits up to d for the process to end, and reports whether it has.
func (p *proc) poll(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *proc) wait() { <-p.done }

// kill SIGKILLs dlcompat alone (not its process group: what it started
// must go by the run's own safety nets) and waits for it.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *proc) killed() bool {
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

func (p *proc) exited(code int) bool {
	return p.cmd.ProcessState != nil && p.cmd.ProcessState.Exited() && p.cmd.ProcessState.ExitCode() == code
}

func (p *proc) stderr() string {
	b, _ := os.ReadFile(p.errOut.Name())
	return string(b)
}

func (p *proc) String() string {
	b, _ := os.ReadFile(p.stdout.Name())
	return fmt.Sprintf("dlcompat %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(p.args, " "), p.cmd.ProcessState, b, p.stderr())
}

// fakeT records what a check reports.
type fakeT struct{ errs []string }

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// TestKillResumeChecksFail shows that the suite's checks can fail: each
// damage done to a clean run's results is reported, and counted as a lost
// cell.
func TestKillResumeChecksFail(t *testing.T) {
	out := filepath.Join(t.TempDir(), "clean")
	p := start(t, executor{name: "local", flags: []string{"--executor", "local"}}.runArgs(out, false))
	p.wait()
	if !p.exited(0) {
		t.Fatalf("clean run: %s", p)
	}
	clean := readRun(t, out)
	b, err := os.ReadFile(filepath.Join(out, "journal.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for _, tc := range []struct {
		desc    string
		run     func(r *matrix.Run) // damages a copy of run.json
		journal func() []byte       // the journal's damaged content
	}{
		{desc: "a cell missing from run.json", run: func(r *matrix.Run) { r.Cells = r.Cells[1:] }},
		{desc: "a cell left unknown", run: func(r *matrix.Run) { r.Cells[0].Status = matrix.Unknown }},
		{desc: "a cell of another status", run: func(r *matrix.Run) { r.Cells[0].Status = matrix.Fail }},
		{desc: "a forward error one bit off", run: func(r *matrix.Run) {
			for i, c := range r.Cells {
				if c.Check == "forward" {
					f := matrix.Float(math.Float64frombits(math.Float64bits(float64(*c.MaxAbsErr)) ^ 1))
					r.Cells[i].MaxAbsErr = &f
				}
			}
		}},
		{desc: "a journal line deleted", journal: func() []byte { return bytes.Join(lines[:len(lines)-2], nil) }},
		{desc: "a cell journalled twice", journal: func() []byte { return append(slices.Clone(b), lines[1]...) }},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			r := readRun(t, out)
			if tc.run != nil {
				tc.run(r)
			}
			if err := matrix.WriteFileAtomic(filepath.Join(dir, "run.json"), func(w io.Writer) error { return matrix.WriteJSON(w, r) }); err != nil {
				t.Fatal(err)
			}
			j := b
			if tc.journal != nil {
				j = tc.journal()
			}
			if err := os.WriteFile(filepath.Join(dir, "journal.jsonl"), j, 0o644); err != nil {
				t.Fatal(err)
			}
			f := &fakeT{}
			lost := compare(f, tc.desc, clean, r) + checkJournal(f, tc.desc, dir)
			if lost == 0 || len(f.errs) == 0 {
				t.Errorf("not reported: %d lost, errors %q", lost, f.errs)
			}
			t.Logf("reported: %s", strings.Join(f.errs, "; "))
		})
	}
	f := &fakeT{}
	if lost := compare(f, "clean", clean, readRun(t, out)) + checkJournal(f, "clean", out); lost != 0 || len(f.errs) != 0 {
		t.Errorf("the clean run against itself: %d lost, %q", lost, f.errs)
	}
}
