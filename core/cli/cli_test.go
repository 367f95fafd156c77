package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/internal/faultplugin"
	"github.com/dlcompat/dlcompat/matrix"
)

// pluginsDir holds the real gorgonia plugin, built once for these tests.
var pluginsDir string

var repoRoot = filepath.Join("..", "..")

func TestMain(m *testing.M) {
	faultplugin.MaybeServe() // the test binary is also a plugin of our own
	dir, err := os.MkdirTemp("", "dlcompat-cli-test")
	if err != nil {
		panic(err)
	}
	pluginsDir = filepath.Join(dir, "plugins")
	cmd := osexec.Command("go", "build", "-o", filepath.Join(pluginsDir, "dlcompat-plugin-gorgonia"), "./plugins/gorgonia")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		panic("building the gorgonia plugin: " + err.Error() + "\n" + string(out))
	}
	os.Setenv(EnvPluginsDir, pluginsDir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// cheapPerf keeps perf cells to a few iterations in tests.
var cheapPerf = []string{"--perf-iterations", "2", "--perf-precision", "0", "--perf-warmup", "0", "--throughput-batches", "2", "--train-batch", "2"}

func refDir() string { return filepath.Join(repoRoot, "testdata", "reference") }

func TestRunGorgoniaEndToEnd(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	args := append([]string{"run", "--reference", refDir(), "-o", out}, cheapPerf...)
	code, stdout, stderr := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	run, err := matrix.Read(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 8 {
		t.Fatalf("%d cells, want 2 models × 4 checks", len(run.Cells))
	}
	for _, c := range run.Cells {
		if c.Framework != "gorgonia" || c.Status != matrix.Pass {
			t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
		}
	}
	// The JSON field names are a contract with CI consumers.
	b, _ := os.ReadFile(filepath.Join(out, "run.json"))
	var raw struct {
		Cells []map[string]any `json:"cells"`
	}
	json.Unmarshal(b, &raw)
	for _, f := range []string{"framework", "framework_version", "device", "model", "check", "status", "max_abs_err", "max_rel_err"} {
		if _, ok := raw.Cells[0][f]; !ok {
			t.Errorf("cell JSON lacks %q", f)
		}
	}
	if md, err := os.ReadFile(filepath.Join(out, "run.md")); err != nil || !strings.Contains(string(md), "| gorgonia |") {
		t.Errorf("run.md: %v\n%s", err, md)
	}
	if strings.Count(stderr, "\n[") < 7 || !strings.Contains(stderr, "cnn forward: pass") {
		t.Errorf("want a progress line per cell on stderr:\n%s", stderr)
	}
	for _, format := range []string{"text", "md", "json"} {
		if code, _, stderr := runCLI(t, "report", filepath.Join(out, "run.json"), "--format", format); code != ExitOK {
			t.Errorf("report --format %s: exit %d: %s", format, code, stderr)
		}
	}
}

// TestBadInputExits2 checks each kind of bad input: a clear message
// with the fix, in one line on stderr alone, exit 2, and nothing written.
func TestBadInputExits2(t *testing.T) {
	emptyConfig := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(emptyConfig, []byte("# nothing yet\n"), 0o644)
	corrupt := t.TempDir()
	copyDir(t, refDir(), corrupt)
	p := filepath.Join(corrupt, "golden", "lstm.backward.safetensors")
	b, _ := os.ReadFile(p)
	b[100] ^= 0xff
	os.WriteFile(p, b, 0o644)

	badSchema := filepath.Join(t.TempDir(), "old.json")
	os.WriteFile(badSchema, []byte(`{"schema_version": 99, "cells": []}`), 0o644)
	notRun := filepath.Join(t.TempDir(), "other.json")
	os.WriteFile(notRun, []byte(`{"hello": 1}`), 0o644)

	for _, tc := range []struct {
		desc string
		args []string
		want []string
	}{
		{"unknown model", []string{"run", "--models", "cnn,resnet"}, []string{`"resnet"`, "valid: cnn, lstm"}},
		{"unknown framework", []string{"run", "--frameworks", "mxnet"}, []string{`"mxnet"`, "valid: gorgonia"}},
		{"unknown check", []string{"run", "--checks", "speed"}, []string{`"speed"`, "forward, backward, determinism, perf"}},
		{"unknown device", []string{"run", "--devices", "tpu:0"}, []string{"tpu:0", "cpu"}},
		{"corrupted reference", []string{"run", "--reference", corrupt}, []string{"lstm.backward.safetensors", "MANIFEST"}},
		{"report of another schema", []string{"report", badSchema}, []string{"old.json", "schema_version 99"}},
		{"report of a non-results file", []string{"report", notRun}, []string{"other.json", "schema_version"}},
		{"report of a missing file", []string{"report", filepath.Join(t.TempDir(), "nope.json")}, []string{"nope.json"}},
		{"report with unknown format", []string{"report", badSchema, "--format", "pdf"}, []string{`"pdf"`, "text, md, html, json, junit"}},
		{"unknown command", []string{"frobnicate"}, []string{`"frobnicate"`, "devices"}},
		{"unknown flag", []string{"run", "--colour"}, []string{"colour"}},
		{"empty --frameworks", []string{"run", "--frameworks", ""}, []string{"--frameworks is empty"}},
		{"empty --models", []string{"run", "--models", " , "}, []string{"--models is empty", "cnn,lstm"}},
		{"empty config", []string{"run", "--config", emptyConfig}, []string{"empty.yaml:1: the file is empty"}},
		{"duration without a unit", []string{"run", "--timeout", "5"}, []string{"-timeout", "90s, 5m or 1h", "dlcompat run --help"}},
		{"resume of nothing", []string{"run", "--resume"}, []string{"no run to resume"}},
		{"resume and force", []string{"run", "--resume", "--force"}, []string{"give one of them"}},
		{"no plugins directory", []string{"run", "--plugins-dir", "/nonexistent/plugins"}, []string{"--plugins-dir: /nonexistent/plugins", "make build"}},
		{"no reference directory", []string{"run", "--reference", "/nonexistent/ref"}, []string{"/nonexistent/ref is not a directory of reference tensors", "gen-reference"}},
		{"misspelt flag", []string{"report", "x.json", "--formt", "md"}, []string{"-formt", "dlcompat report --help"}},
	} {
		out := filepath.Join(t.TempDir(), "results")
		args := append(append([]string{}, tc.args...), "-o", out)
		if tc.args[0] == "frobnicate" {
			args = tc.args
		}
		if tc.args[0] == "run" && !slices.Contains(tc.args, "--reference") {
			args = append(args, "--reference", refDir())
		}
		code, stdout, stderr := runCLI(t, args...)
		if code != ExitUsage {
			t.Errorf("%s: exit %d, want 2; stderr: %s", tc.desc, code, stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", tc.desc, w, stderr)
			}
		}
		if stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%s: want one line on stderr and nothing on stdout, got stdout %q stderr %q", tc.desc, stdout, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%s: wrote %s", tc.desc, out)
		}
	}
}

func TestNoPluginsIsInfrastructure(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--plugins-dir", t.TempDir(), "--reference", refDir(), "-o", filepath.Join(t.TempDir(), "r"))
	if code != ExitInfra || !strings.Contains(stderr, "make build") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHelpExamplesRun runs every example of every command's help, in a
// scratch directory laid out like a checkout, so the help cannot rot.
func TestHelpExamplesRun(t *testing.T) {
	work := t.TempDir()
	copyDir(t, refDir(), filepath.Join(work, "testdata", "reference"))
	copyDir(t, filepath.Join(repoRoot, "testdata", "configs"), filepath.Join(work, "testdata", "configs"))
	copyDir(t, filepath.Join(repoRoot, "testdata", "sysfs"), filepath.Join(work, "testdata", "sysfs"))
	os.MkdirAll(filepath.Join(work, "bin"), 0o755)
	if err := os.Symlink(pluginsDir, filepath.Join(work, "bin", "plugins")); err != nil {
		t.Fatal(err)
	}
	t.Chdir(work)
	ran := 0
	for _, c := range commands() {
		for _, ex := range examples(c.usage) {
			args := strings.Fields(ex)[1:] // drop "dlcompat"
			if args[0] == "run" {
				args = append(args, cheapPerf...)
			}
			if strings.Contains(ex, "docker") && !dockerAvailable(t) {
				t.Logf("example %q: no Docker engine here (not CI), not run", ex)
				continue
			}
			code, stdout, stderr := runCLI(t, args...)
			ran++
			if code != ExitOK {
				t.Errorf("example %q: exit %d\n%s\n%s", ex, code, stdout, stderr)
			}
		}
	}
	if ran < 8 {
		t.Errorf("only %d examples found", ran)
	}
}

// examples extracts the command lines under "Examples:", dropping
// comments and anything after a pipe.
func examples(usage string) []string {
	_, after, ok := strings.Cut(usage, "Examples:\n")
	if !ok {
		return nil
	}
	var out []string
	for _, l := range strings.Split(after, "\n") {
		l = strings.TrimSpace(l)
		if !strings.HasPrefix(l, "dlcompat ") {
			continue
		}
		l, _, _ = strings.Cut(l, "#")
		l, _, _ = strings.Cut(l, "|")
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// TestPluginsDescribesConfiguredImages: with a configuration, `plugins`
// starts each framework the way the run would, in its container.
func TestPluginsDescribesConfiguredImages(t *testing.T) {
	cfg := filepath.Join(repoRoot, "testdata", "configs", "local-docker.yaml")
	code, stdout, stderr := runCLI(t, "plugins", "--config", cfg, "--frameworks", "gorgonia", "--reference", refDir(), "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []struct {
		Executor, Image string
		Describe        *struct{ Framework string }
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Executor != "docker" || rows[0].Image != "dlcompat/gorgonia:scratch" || rows[0].Describe == nil || rows[0].Describe.Framework != "gorgonia" {
		t.Fatalf("rows: %s", stdout)
	}
}

// devices --preflight under --sysfs reads the PCI bus and the AMD GPUs
// from that tree: the recorded MI300X server is healthy, and its checks
// are the AMD ones beside NVML's.
func TestDevicesPreflightReadsTheSysfsTree(t *testing.T) {
	code, stdout, stderr := runCLI(t, "devices", "--sysfs", filepath.Join(repoRoot, "testdata", "sysfs", "amd-mi300x"), "--preflight", "--json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var got struct {
		Preflight []matrix.PreflightCheck `json:"preflight"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	status := map[string]matrix.PreflightStatus{}
	for _, c := range got.Preflight {
		status[c.Device+" "+c.Name] = c.Status
	}
	for _, k := range []string{"host kfd", "host amd_gpu_count", "rocm:0 pcie_link", "rocm:1 ecc_uncorrected", "rocm:1 retired_pages"} {
		if status[k] != matrix.PreflightOK {
			t.Errorf("%s = %q, want ok (%+v)", k, status[k], got.Preflight)
		}
	}
	if _, ok := status["host nvml"]; !ok {
		t.Errorf("no nvml check beside the AMD ones: %+v", got.Preflight)
	}
}
