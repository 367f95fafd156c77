package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/internal/faultplugin"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/runner/runnertest"
	"github.com/dlcompat/dlcompat/matrix"
)

func TestMain(m *testing.M) {
	faultplugin.MaybeServe()
	os.Exit(m.Run())
}

var refDir = filepath.Join("..", "..", "testdata", "reference")

// faultSpec is this test binary re-run as the fault plugin. token marks
// the process so a test can prove it is gone.
func faultSpec(t *testing.T, faults string) (exec.Spec, string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	token := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	return exec.Spec{Name: "oracle", Path: self, Env: []string{
		faultplugin.EnvServe + "=1", faultplugin.EnvFault + "=" + faults, "DLCOMPAT_TEST_TOKEN=" + token,
	}}, token
}

func baseOptions(t *testing.T, spec exec.Spec) Options {
	return Options{
		Plugins:      []exec.Spec{spec},
		Devices:      []matrix.Device{{ID: "cpu", Kind: "cpu", Name: "test CPU"}},
		Checks:       []string{pluginapi.CheckForward, pluginapi.CheckBackward},
		ReferenceDir: refDir,
		OutDir:       t.TempDir(),
		Perf:         &pluginapi.PerfOptions{Warmup: 1, Iterations: 4, LatencyBatch: 1, ThroughputBatches: []int{4}, TrainBatch: 4},
	}
}

func cellOf(t *testing.T, r *matrix.Run, model, check string) matrix.Cell {
	t.Helper()
	for _, c := range r.Cells {
		if c.Model == model && c.Check == check {
			return c
		}
	}
	t.Fatalf("no cell %s/%s in %d cells", model, check, len(r.Cells))
	return matrix.Cell{}
}

// processesWith lists live processes whose environment holds token.
func processesWith(token string) []string {
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		if bytes.Contains(b, []byte("DLCOMPAT_TEST_TOKEN="+token+"\x00")) {
			stat, _ := os.ReadFile(filepath.Join(d, "stat"))
			if !strings.Contains(string(stat), ") Z ") { // zombies are dead
				out = append(out, filepath.Base(d))
			}
		}
	}
	return out
}

func TestAllPassWithTheOracle(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Checks = pluginapi.AllChecks
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 8 {
		t.Fatalf("%d cells, want 2 models × 4 checks", len(run.Cells))
	}
	for _, c := range run.Cells {
		if c.Status != matrix.Pass {
			t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
		}
	}
	perf := cellOf(t, run, "cnn", "perf")
	if len(perf.Timings) != 3 || perf.Timings[0].Summary.N != 4 || perf.Timings[1].GFLOPs <= 0 {
		t.Errorf("perf timings: %+v", perf.Timings)
	}
	if _, err := matrix.Read(filepath.Join(o.OutDir, RunFile)); err != nil {
		t.Fatalf("final document: %v", err)
	}
}

func TestCrashMidRunLeavesOtherCellsRunning(t *testing.T) {
	spec, token := faultSpec(t, "crash=cnn/backward")
	o := baseOptions(t, spec)
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	crash := cellOf(t, run, "cnn", "backward")
	if crash.Status != matrix.Crash {
		t.Fatalf("cnn/backward: %s %s", crash.Status, crash.Reason)
	}
	if !strings.Contains(crash.StderrTail, "simulated framework crash") {
		t.Errorf("stderr tail lacks the panic:\n%s", crash.StderrTail)
	}
	for _, k := range [][2]string{{"cnn", "forward"}, {"lstm", "forward"}, {"lstm", "backward"}} {
		if c := cellOf(t, run, k[0], k[1]); c.Status != matrix.Pass {
			t.Errorf("%s/%s after the crash: %s %s", k[0], k[1], c.Status, c.Reason)
		}
	}
	if ps := processesWith(token); len(ps) > 0 {
		t.Errorf("plugin processes left: %v", ps)
	}
}

func TestHangIsKilledWithinTheLimit(t *testing.T) {
	spec, token := faultSpec(t, "hang=cnn/forward")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.CNN}
	const limit = 2 * time.Second
	o.Timeouts = map[string]time.Duration{pluginapi.CheckForward: limit}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := cellOf(t, run, "cnn", "forward")
	if c.Status != matrix.Timeout {
		t.Fatalf("cnn/forward: %s %s", c.Status, c.Reason)
	}
	if c.Seconds > (limit + 2*time.Second).Seconds() {
		t.Errorf("timeout took %.1fs, limit %s", c.Seconds, limit)
	}
	if !strings.Contains(c.StderrTail, "hanging in cnn/forward") {
		t.Errorf("stderr tail: %q", c.StderrTail)
	}
	if b := cellOf(t, run, "cnn", "backward"); b.Status != matrix.Pass {
		t.Errorf("cnn/backward after the hang: %s %s", b.Status, b.Reason)
	}
	time.Sleep(100 * time.Millisecond)
	if ps := processesWith(token); len(ps) > 0 {
		t.Errorf("plugin processes left after the timeout: %v", ps)
	}
}

func TestSmallErrorFailsAndNamesTheLayer(t *testing.T) {
	spec, _ := faultSpec(t, "param=conv2.bias:0.001")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.CNN}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	f := cellOf(t, run, "cnn", "forward")
	if f.Status != matrix.Fail || f.FirstDivergingLayer != "conv2" {
		t.Fatalf("forward: %s, first diverging %q, reason %s", f.Status, f.FirstDivergingLayer, f.Reason)
	}
	if f.MaxAbsErr == nil || *f.MaxAbsErr <= 0 || *f.MaxAbsErr > 0.1 {
		t.Errorf("max abs err %v: the error is small, not garbage", f.MaxAbsErr)
	}
	if b := cellOf(t, run, "cnn", "backward"); b.Status != matrix.Fail {
		t.Errorf("backward: %s", b.Status)
	}
}

func TestNondeterminismIsCaught(t *testing.T) {
	spec, _ := faultSpec(t, "nondeterministic")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.LSTM}
	o.Checks = []string{pluginapi.CheckDeterminism}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := cellOf(t, run, "lstm", "determinism")
	if c.Status != matrix.Fail || !strings.Contains(c.Reason, "logits") {
		t.Fatalf("determinism: %s %s", c.Status, c.Reason)
	}
}

func TestFrameworkErrorIsData(t *testing.T) {
	spec, _ := faultSpec(t, "error=lstm/forward")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.LSTM}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if c := cellOf(t, run, "lstm", "forward"); c.Status != matrix.Error || !strings.Contains(c.Reason, "simulated framework error") {
		t.Fatalf("lstm/forward: %s %s", c.Status, c.Reason)
	}
}

func TestResumeSkipsFinishedCells(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.LSTM}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	runnertest.KillAfterFirstCell(t, o.OutDir)

	fromJournal := 0
	o.Events = func(e Event) {
		if e.Kind == EventCellDone && e.FromJournal {
			fromJournal++
		}
	}
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrUsage) {
		t.Fatalf("a new run over an unfinished journal: %v, want ErrUsage", err)
	}
	o.Resume = true
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if fromJournal != 1 {
		t.Errorf("%d cells taken from the journal, want 1", fromJournal)
	}
	if len(run.Cells) != 2 || run.Failed() {
		t.Errorf("resumed run: %+v", run.Counts())
	}
	_, cells, _ := matrix.ReadJournal(filepath.Join(o.OutDir, JournalFile))
	if len(cells) != 2 {
		t.Errorf("journal holds %d cells after resume, want 2", len(cells))
	}
	o.Checks = []string{pluginapi.CheckForward}
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `checks was ["forward","backward"], now ["forward"]`) {
		t.Errorf("resume with another configuration: %v, want ErrUsage naming the changed field", err)
	}
}

func TestBadOptions(t *testing.T) {
	spec, _ := faultSpec(t, "")
	for _, tc := range []struct {
		desc string
		edit func(*Options)
		want error
		text string
	}{
		{"unknown framework", func(o *Options) { o.Frameworks = []string{"mxnet"} }, ErrUsage, "valid: oracle"},
		{"unknown precision", func(o *Options) { o.Precisions = []string{"fp32", "fp8"} }, ErrUsage, "valid: bf16, fp16, fp32, fp64, tf32"},
		{"missing reference", func(o *Options) { o.ReferenceDir = t.TempDir() }, ErrUsage, "MANIFEST"},
		{"no plugins", func(o *Options) { o.Plugins = nil }, ErrInfra, "no plugins"},
		{"plugin that cannot start", func(o *Options) { o.Plugins = []exec.Spec{{Name: "oracle", Path: "/bin/false"}} }, ErrInfra, "did not start"},
	} {
		o := baseOptions(t, spec)
		tc.edit(&o)
		_, err := Run(context.Background(), o)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: error %v, want %v containing %q", tc.desc, err, tc.want, tc.text)
		}
	}
}

// TestPluginThatCannotStartIsRed: one broken plugin beside a working one
// makes crash cells of its own, so the run fails instead of quietly
// losing a framework.
func TestPluginThatCannotStartIsRed(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.LSTM}
	o.Plugins = append(o.Plugins, exec.Spec{Name: "broken", Path: "/bin/false"})
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var broken int
	for _, c := range run.Cells {
		if c.Framework == "broken" {
			broken++
			if c.Status != matrix.Crash || c.FrameworkVersion != UnknownVersion || !strings.Contains(c.Reason, "did not start") {
				t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
			}
		}
	}
	if broken != 2 || !run.Failed() {
		t.Fatalf("%d broken cells, failed %v", broken, run.Failed())
	}
}

// TestInterruptedRunIsNotOverwritten: an interrupted run writes its
// document, with unknown cells; a new run into the same directory must
// not replace it without --resume.
func TestInterruptedRunIsNotOverwritten(t *testing.T) {
	spec, _ := faultSpec(t, "hang=lstm/forward")
	o := baseOptions(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	run, err := Run(ctx, o)
	if err == nil || run == nil || !run.Failed() {
		t.Fatalf("interrupted run: err %v", err)
	}
	if c := cellOf(t, run, "lstm", "backward"); c.Status != matrix.Unknown || !strings.Contains(c.Reason, "--resume") {
		t.Fatalf("cell after the interrupt: %s %q", c.Status, c.Reason)
	}
	if doc, err := matrix.Read(filepath.Join(o.OutDir, RunFile)); err != nil || !strings.Contains(strings.Join(doc.Notes, "\n"), "interrupted at") {
		t.Errorf("run.json does not say the run was interrupted: %v", err)
	}
	spec2, _ := faultSpec(t, "")
	o.Plugins = []exec.Spec{spec2}
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrUsage) {
		t.Fatalf("a new run over an interrupted one: %v, want ErrUsage", err)
	}
	o.Resume = true
	time.Sleep(1500 * time.Millisecond) // a pause between the sessions
	run, err = Run(context.Background(), o)
	if err != nil || run.Failed() || len(run.Cells) != 4 {
		t.Fatalf("resume: err %v, counts %v", err, run.Counts())
	}
	// The time the run spent running leaves the pause out.
	if span := run.Finished.Sub(run.Started).Seconds(); run.ElapsedSeconds <= 0 || run.ElapsedSeconds > span-1 {
		t.Errorf("elapsed %.2fs of a %.2fs span with a 1.5s pause", run.ElapsedSeconds, span)
	}
}

// TestInterruptDuringStartIsNoCrash: a run that ends while a plugin is
// still starting (importing its framework in Describe, or before its
// handshake) leaves that plugin's cells for --resume, ends at once rather
// than wait out the start limits, and reports the interruption, not a
// plugin that could not start.
func TestInterruptDuringStartIsNoCrash(t *testing.T) {
	sleeper := filepath.Join(t.TempDir(), "dlcompat-plugin-sleeper")
	os.WriteFile(sleeper, []byte("#!/bin/sh\nexec sleep 120\n"), 0o755)
	hanging, _ := faultSpec(t, "hangdescribe")
	for name, spec := range map[string]exec.Spec{
		"describe":  hanging,
		"handshake": {Name: "oracle", Path: sleeper},
	} {
		t.Run(name, func(t *testing.T) {
			o := baseOptions(t, spec)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			run, err := Run(ctx, o)
			if took := time.Since(start); took > 15*time.Second {
				t.Errorf("the run took %s to end after its interrupt", took.Round(time.Millisecond))
			}
			if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrInfra) {
				t.Fatalf("err %v, want the interruption", err)
			}
			if len(run.Cells) != 4 {
				t.Fatalf("%d cells, want 4", len(run.Cells))
			}
			for _, c := range run.Cells {
				if c.Status != matrix.Unknown || !strings.Contains(c.Reason, "--resume") {
					t.Errorf("%s: %s %q", c.CellKey, c.Status, c.Reason)
				}
			}
		})
	}
}

// TestFinishedRunIsNotOverwritten: a second run into the same directory
// keeps the first unless told to replace it, and a resume with nothing to
// resume creates nothing.
func TestFinishedRunIsNotOverwritten(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckForward}
	first, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), first.RunID) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("a second run over a finished one: %v", err)
	}
	if kept, err := matrix.Read(filepath.Join(o.OutDir, RunFile)); err != nil || kept.RunID != first.RunID {
		t.Fatalf("the first run was not kept: %v", err)
	}
	o.Replace = true
	if second, err := Run(context.Background(), o); err != nil || second.RunID == first.RunID {
		t.Fatalf("replace: %v", err)
	}
	o.Replace, o.Resume = false, true
	o.OutDir = filepath.Join(t.TempDir(), "never-ran")
	if _, err := Run(context.Background(), o); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "no run to resume") {
		t.Fatalf("resume of nothing: %v", err)
	}
	if _, err := os.Stat(o.OutDir); !os.IsNotExist(err) {
		t.Errorf("resume of nothing created %s", o.OutDir)
	}
}

// TestAPluginThatListsNoDeviceRunsOnEvery: a plugin whose framework does
// not start cannot list devices; its cells must run (and report that) on
// every planned device, a GPU included, never skip as if it were fine.
func TestAPluginThatListsNoDeviceRunsOnEvery(t *testing.T) {
	spec, _ := faultSpec(t, "nodevices")
	o := baseOptions(t, spec)
	o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckForward}
	o.Devices = append(o.Devices, matrix.Device{ID: "gpu:0", Kind: "gpu", Name: "test GPU", UUID: "GPU-0"})
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 2 {
		t.Fatalf("%d cells, want 2", len(run.Cells))
	}
	for _, c := range run.Cells {
		if c.Status == matrix.Skip {
			t.Errorf("%s: skip (%s), want the cell run", c.CellKey, c.Reason)
		}
	}
}

// TestResumeKeepsResultsWhenThePluginNoLongerStarts: the journalled
// passes stay in the final document; only the missing cells crash.
func TestResumeKeepsResultsWhenThePluginNoLongerStarts(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.LSTM}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	runnertest.KillAfterFirstCell(t, o.OutDir)
	o.Resume = true
	o.Plugins = []exec.Spec{{Name: "oracle", Path: "/bin/false"}}
	run, _ := Run(context.Background(), o)
	if run == nil {
		t.Fatal("no run document")
	}
	counts := run.Counts()
	if len(run.Cells) != 2 || counts[matrix.Pass] != 1 || counts[matrix.Crash] != 1 {
		t.Fatalf("cells %d, counts %v", len(run.Cells), counts)
	}
}

// TestStartFailureQuotesThePlugin: a plugin that dies before the
// handshake is a crash whose reason carries its own last words.
func TestStartFailureQuotesThePlugin(t *testing.T) {
	script := filepath.Join(t.TempDir(), "dlcompat-plugin-broken")
	os.WriteFile(script, []byte("#!/bin/sh\necho 'libtorch.so: cannot open shared object file' >&2\nexit 1\n"), 0o755)
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models = []reference.Model{reference.LSTM}
	o.Plugins = append(o.Plugins, exec.Spec{Name: "broken", Path: script})
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range run.Cells {
		if c.Framework == "broken" && !strings.Contains(c.Reason, "it said: libtorch.so: cannot open shared object file") {
			t.Errorf("%s: reason %q", c.CellKey, c.Reason)
		}
	}
}

// TestTwoImagesOfOneVersionAreTwoRows: the same framework version from
// two images must not share cell keys.
func TestTwoImagesOfOneVersionAreTwoRows(t *testing.T) {
	a, _ := faultSpec(t, "")
	b, _ := faultSpec(t, "")
	a.Image, b.Image = "img:a", "img:b"
	o := baseOptions(t, a)
	o.Plugins = []exec.Spec{a, b}
	o.Models = []reference.Model{reference.LSTM}
	o.Checks = []string{pluginapi.CheckForward}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 2 || run.Cells[0].CellKey == run.Cells[1].CellKey || run.Cells[1].FrameworkVersion != "test [img:b]" {
		t.Fatalf("cells: %+v / %+v", run.Cells[0].CellKey, run.Cells[1].CellKey)
	}
}

// TestImpossibleNumbersAreData: a NaN, infinite or absurd timing sample
// (and compute time) fails its cell, which names it, and the run is
// still written: encoding/json refuses NaN, which once lost run.json.
func TestImpossibleNumbersAreData(t *testing.T) {
	for _, v := range []string{"NaN", "+Inf", "-Inf", "1e300", "-1", "1e-320"} {
		t.Run(v, func(t *testing.T) {
			spec, _ := faultSpec(t, "badtiming="+v)
			o := baseOptions(t, spec)
			o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckPerf}
			run, err := Run(context.Background(), o)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			c := cellOf(t, run, "lstm", "perf")
			if c.Status != matrix.Fail || !strings.Contains(c.Reason, "1 of 4 samples are not durations") || len(c.Timings[0].Samples) != 3 {
				t.Errorf("cell %s: %s (%d samples)", c.Status, c.Reason, len(c.Timings[0].Samples))
			}
			if c.ComputeSeconds != 0 && v != "1e-320" {
				t.Errorf("compute seconds %v", c.ComputeSeconds)
			}
			back, err := matrix.Read(filepath.Join(o.OutDir, RunFile))
			if err != nil {
				t.Fatalf("run.json: %v", err)
			}
			if got := cellOf(t, back, "lstm", "perf"); got.Status != matrix.Fail {
				t.Errorf("read back: %s", got.Status)
			}
		})
	}
}

// TestPluginStringsAreCapped: a plugin's message and warnings are
// bounded in the results (a 50 MB message once made a 472 MB report).
func TestPluginStringsAreCapped(t *testing.T) {
	spec, _ := faultSpec(t, "bigmessage=5000000")
	o := baseOptions(t, spec)
	o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckForward}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	c := cellOf(t, run, "lstm", "forward")
	if c.Status != matrix.Error || len(c.Reason) > MaxTextBytes+100 || !strings.Contains(c.Reason, "bytes cut") {
		t.Errorf("reason: %s, %d bytes", c.Status, len(c.Reason))
	}
	for _, w := range c.Warnings {
		if len(w) > MaxTextBytes+100 {
			t.Errorf("a warning of %d bytes", len(w))
		}
	}
}

// TestOutputDirectoryIsLocked: while a run writes into a directory, a
// second run, --force or --resume there is refused, naming the holder;
// once it ends, the directory is free again.
func TestOutputDirectoryIsLocked(t *testing.T) {
	spec, _ := faultSpec(t, "hang=lstm/forward")
	o := baseOptions(t, spec)
	o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckForward}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	started := make(chan struct{})
	o.Events = func(e Event) {
		if e.Kind == EventCellStart {
			close(started)
		}
	}
	go func() { _, err := Run(ctx, o); done <- err }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("the first run ended early: %v", err)
	}
	for _, tc := range []struct {
		desc string
		edit func(*Options)
	}{
		{"a second run", func(*Options) {}},
		{"--force", func(o *Options) { o.Replace = true }},
		{"--resume", func(o *Options) { o.Resume = true }},
	} {
		o2 := baseOptions(t, spec)
		o2.OutDir, o2.Models, o2.Checks = o.OutDir, o.Models, o.Checks
		tc.edit(&o2)
		_, err := Run(context.Background(), o2)
		if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), fmt.Sprintf("dlcompat (pid %d) is running into it", os.Getpid())) {
			t.Errorf("%s: %v", tc.desc, err)
		}
	}
	cancel()
	<-done
	o3 := baseOptions(t, spec)
	o3.OutDir, o3.Models, o3.Checks, o3.Resume = o.OutDir, o.Models, []string{pluginapi.CheckForward}, true
	o3.Plugins[0], _ = faultSpec(t, "")
	if _, err := Run(context.Background(), o3); err != nil {
		t.Errorf("resume after the first run ended: %v", err)
	}
}

// TestRowsAreUniqueByConstruction: two plugins that report the same
// framework and version (two binaries, two variants) are two rows, and a
// resume after a kill gives each its own journalled cells back.
func TestRowsAreUniqueByConstruction(t *testing.T) {
	a, _ := faultSpec(t, "")
	b := a
	b.Name = "oracle-copy" // a second binary reporting "oracle" too
	x, y := a, a
	x.Name, x.Framework, x.Variant = "oracle+x", "oracle", "x"
	y.Name, y.Framework, y.Variant = "oracle+y", "oracle", "y"
	o := baseOptions(t, a)
	o.Plugins, o.Models = []exec.Spec{b, x, y}, []reference.Model{reference.LSTM}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rows := func(r *matrix.Run) []string {
		var out []string
		seen := map[matrix.CellKey]bool{}
		for _, c := range r.Cells {
			if seen[c.CellKey] {
				t.Errorf("key %s twice", c.CellKey)
			}
			seen[c.CellKey] = true
			out = append(out, c.Framework+" "+c.FrameworkVersion+" "+c.Check+" "+string(c.Status))
		}
		return out
	}
	want := []string{"oracle-copy test forward pass", "oracle-copy test backward pass", "oracle test+x forward pass", "oracle test+x backward pass",
		"oracle test+y forward pass", "oracle test+y backward pass"}
	if got := rows(run); !slices.Equal(got, want) {
		t.Errorf("rows\n%q\nwant\n%q", got, want)
	}
	if w := run.Frameworks[0].Warnings; !strings.Contains(strings.Join(w, " "), `reports itself as "oracle"`) {
		t.Errorf("the copy's row does not say what it reports: %q", w)
	}
	runnertest.KillAfterFirstCell(t, o.OutDir)
	o.Resume = true
	again, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(again); !slices.Equal(got, want) {
		t.Errorf("after resume\n%q\nwant\n%q", got, want)
	}
	o2 := baseOptions(t, a)
	o2.Plugins = []exec.Spec{x, x}
	if _, err := Run(context.Background(), o2); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("a spec listed twice: %v", err)
	}
}

// TestPrecisionAxis: each precision is a cell of its own, fp32 first; a
// mode the plugin does not declare is skip with the reason, never fail;
// the journal records the modes, so a resume runs the same ones.
func TestPrecisionAxis(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckForward}
	o.Precisions = []string{pluginapi.PrecisionBF16, pluginapi.PrecisionFP32}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range run.Cells {
		got = append(got, c.Precision+" "+string(c.Status)+" "+c.Reason)
	}
	want := []string{"fp32 pass ", "bf16 skip oracle does not support precision bf16 (it runs: fp32)"}
	if !slices.Equal(got, want) {
		t.Errorf("cells %q, want %q", got, want)
	}
	if c := run.Cells[0]; c.PrecisionEvidence["output_dtype"] != "float32" {
		t.Errorf("fp32 evidence %v", c.PrecisionEvidence)
	}
	cfg, _, err := JournalConfig(o.OutDir)
	if err != nil || cfg.Precision != "fp32,bf16" {
		t.Errorf("journalled precisions %q (%v)", cfg.Precision, err)
	}
}

// TestPrecisionMustBeInEffect: a plugin that ran another mode than the
// one asked, or does not say for a reduced one, is an error naming both.
func TestPrecisionMustBeInEffect(t *testing.T) {
	for _, tc := range []struct {
		asked, got string
		evidence   map[string]string
		want       string
	}{
		{"fp32", "", nil, ""},
		{"bf16", "bf16", map[string]string{"output_dtype": "bfloat16"}, ""},
		{"bf16", "fp32", map[string]string{"autocast": "off", "output_dtype": "float32"}, "asked for bf16, but fp32 ran instead (autocast=off, output_dtype=float32)"},
		{"bf16", "", nil, "does not say which precision ran"},
		{"tf32", "fp32", nil, "asked for tf32, but fp32 ran instead (no evidence given)"},
	} {
		got := precisionNotInEffect(tc.asked, pluginapi.RunResponse{PrecisionInEffect: tc.got, PrecisionEvidence: tc.evidence})
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s asked, %q ran: %q, want %q", tc.asked, tc.got, got, tc.want)
		}
	}
}

// TestResumeOfAPluginThatNoLongerStartsKeepsEveryPrecision: the cells a
// plugin that does not start would have had are crash cells, one per
// precision, beside the ones its journal already finished.
func TestResumeOfAPluginThatNoLongerStartsKeepsEveryPrecision(t *testing.T) {
	spec, _ := faultSpec(t, "")
	o := baseOptions(t, spec)
	o.Models, o.Checks = []reference.Model{reference.LSTM}, []string{pluginapi.CheckForward}
	o.Precisions = []string{pluginapi.PrecisionFP32, pluginapi.PrecisionBF16}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	runnertest.KillAfterFirstCell(t, o.OutDir) // fp32 journalled, bf16 not
	o.Resume = true
	o.Plugins = []exec.Spec{{Name: "oracle", Path: "/bin/false"}}
	run, _ := Run(context.Background(), o)
	var got []string
	for _, c := range run.Cells {
		got = append(got, c.Precision+" "+string(c.Status))
	}
	slices.Sort(got)
	if want := []string{"bf16 crash", "fp32 pass"}; !slices.Equal(got, want) {
		t.Errorf("cells %q, want %q", got, want)
	}
}

// TestCapTextIsIdempotent: a capped string fits the cap, so a resume
// that records it again changes nothing.
func TestCapTextIsIdempotent(t *testing.T) {
	once := capText(strings.Repeat("é", MaxTextBytes))
	if len(once) > MaxTextBytes || capText(once) != once || !utf8.ValidString(once) {
		t.Errorf("capped to %d bytes (cap %d); capping again changes it: %v", len(once), MaxTextBytes, capText(once) != once)
	}
}

// TestPeakIsThePrecisionsOwn: % of peak uses the peak of the mode that
// ran: the FP32 (CUDA-core) peak for fp32, the per-precision table for the
// others; a mode the table lacks has no peak (no percentage) rather than
// the FP32 one.
func TestPeakIsThePrecisionsOwn(t *testing.T) {
	a100 := map[string]float64{"fp64": 19491.84, "fp32": 19491.84, "tf32": 155934.72, "bf16": 311869.44}
	r := &runState{o: Options{Devices: []matrix.Device{
		{ID: "gpu:0", Kind: "gpu", PeakFP32GFLOPs: 19492, PeakGFLOPsByPrecision: a100},
		{ID: "gpu:1", Kind: "gpu", PeakFP32GFLOPs: 19492},
		{ID: "cpu", Kind: "cpu"}}}}
	for _, tc := range []struct {
		desc, device, precision string
		want                    float64
	}{
		{"fp32 on a GPU", "gpu:0", pluginapi.PrecisionFP32, 19492},
		{"no precision (an old journal) is fp32", "gpu:0", "", 19492},
		{"fp64 from the table", "gpu:0", pluginapi.PrecisionFP64, 19491.84},
		{"tf32 from the table", "gpu:0", pluginapi.PrecisionTF32, 155934.72},
		{"bf16 from the table", "gpu:0", pluginapi.PrecisionBF16, 311869.44},
		{"fp16, not in the table", "gpu:0", pluginapi.PrecisionFP16, 0},
		{"bf16 on a GPU without a table", "gpu:1", pluginapi.PrecisionBF16, 0},
		{"fp32 on a GPU without a table", "gpu:1", pluginapi.PrecisionFP32, 19492},
		{"fp32 on the CPU", "cpu", pluginapi.PrecisionFP32, 0},
	} {
		if got := r.peakGFLOPs(tc.device, tc.precision); got != tc.want {
			t.Errorf("%s: peak %g, want %g", tc.desc, got, tc.want)
		}
	}
}
