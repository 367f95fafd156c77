package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
)

// The fan-out examples under docs/examples are run here as written: their
// shell steps execute in a scratch directory against the real dlcompat
// binary and the gorgonia plugin, with only what CI or Kubernetes would
// provide simulated (the job index, artifact upload and download). A
// wiring mistake — a shard count that disagrees with the job matrix, a
// shard the merge forgets — fails here.

var examplesDir = filepath.Join(repoRoot, "docs", "examples")

// cheapDlcompat builds the real dlcompat binary and returns a directory
// holding a "dlcompat" wrapper that runs it with cheap perf options.
func cheapDlcompat(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	real := filepath.Join(dir, "dlcompat-real")
	cmd := osexec.Command("go", "build", "-o", real, "./cmd/dlcompat")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building dlcompat: %v\n%s", err, out)
	}
	wrapper := fmt.Sprintf(`#!/bin/sh
if [ "$1" = run ]; then shift; exec %q run %s --quiet "$@"; fi
exec %q "$@"
`, real, strings.Join(cheapPerf, " "), real)
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.WriteFile(filepath.Join(bin, "dlcompat"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// scratch is a working directory laid out like a checkout.
func scratch(t *testing.T, bin string) string {
	t.Helper()
	work := t.TempDir()
	copyDir(t, refDir(), filepath.Join(work, "testdata", "reference"))
	os.MkdirAll(filepath.Join(work, "bin"), 0o755)
	if err := os.Symlink(filepath.Join(bin, "dlcompat"), filepath.Join(work, "bin", "dlcompat")); err != nil {
		t.Fatal(err)
	}
	return work
}

func shell(t *testing.T, dir string, env []string, script string) string {
	t.Helper()
	cmd := osexec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("step failed: %v\n--- script\n%s\n--- output\n%s", err, script, out)
	}
	return string(out)
}

type ghStep struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]string `yaml:"with"`
}

type ghJob struct {
	Needs    any `yaml:"needs"`
	Strategy struct {
		Matrix map[string][]int `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []ghStep `yaml:"steps"`
}

var ghExpr = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`)

// expand replaces ${{ matrix.shard }}; any other expression left in a
// shell step is an error, since the test cannot know its value.
func expand(t *testing.T, s string, shard int) string {
	t.Helper()
	return ghExpr.ReplaceAllStringFunc(s, func(m string) string {
		if ghExpr.FindStringSubmatch(m)[1] == "matrix.shard" {
			return strconv.Itoa(shard)
		}
		t.Fatalf("unexpected expression %s in %q", m, s)
		return ""
	})
}

func TestGitHubActionsExampleShardWiring(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(examplesDir, "github-actions-nightly.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]ghJob `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	shardJob, merge := wf.Jobs["shard"], wf.Jobs["merge"]
	shards := shardJob.Strategy.Matrix["shard"]
	n := len(shards)
	if n < 2 {
		t.Fatalf("matrix.shard = %v", shards)
	}
	for i, k := range shards {
		if k != i+1 {
			t.Fatalf("matrix.shard = %v, want 1 … %d", shards, n)
		}
	}
	if fmt.Sprint(merge.Needs) != "shard" {
		t.Errorf("merge needs %v, want the shard job", merge.Needs)
	}
	// Static wiring: --shard k/N with N the matrix size; the merge step
	// names every shard's file as download-artifact lays it out.
	var runLine, mergeLine string
	var upload, download ghStep
	for _, s := range shardJob.Steps {
		if strings.Contains(s.Run, "--shard") {
			runLine = s.Run
		}
		if strings.HasPrefix(s.Uses, "actions/upload-artifact") {
			upload = s
		}
	}
	for _, s := range merge.Steps {
		if strings.Contains(s.Run, "dlcompat merge") {
			mergeLine = s.Run
		}
		if strings.HasPrefix(s.Uses, "actions/download-artifact") {
			download = s
		}
	}
	if want := fmt.Sprintf("--shard ${{ matrix.shard }}/%d ", n); !strings.Contains(runLine, want) {
		t.Errorf("the run step lacks %q:\n%s", want, runLine)
	}
	if !strings.Contains(upload.With["name"], "${{ matrix.shard }}") || !strings.HasSuffix(upload.With["path"], "run.json") {
		t.Errorf("upload step: %+v", upload.With)
	}
	var listed []string
	for _, f := range strings.Fields(mergeLine) {
		if strings.HasSuffix(f, "run.json") && !strings.Contains(f, "site/") {
			listed = append(listed, f)
		}
	}
	var want []string
	for k := 1; k <= n; k++ {
		want = append(want, filepath.Join(download.With["path"], expand(t, upload.With["name"], k), "run.json"))
	}
	if strings.Join(listed, " ") != strings.Join(want, " ") {
		t.Errorf("merge step names %v, want every shard: %v", listed, want)
	}

	// Run it: each shard on its "runner", then the merge job, twice (two
	// nights, so the comparison with last night runs too).
	bin := cheapDlcompat(t)
	artifacts := t.TempDir()
	summary := filepath.Join(t.TempDir(), "summary.md")
	env := []string{"GITHUB_STEP_SUMMARY=" + summary}
	for _, k := range shards {
		work := scratch(t, bin)
		for _, s := range shardJob.Steps {
			switch {
			case s.Run != "" && strings.TrimSpace(s.Run) != "make build":
				shell(t, work, env, expand(t, s.Run, k))
			case strings.HasPrefix(s.Uses, "actions/upload-artifact"):
				dst := filepath.Join(artifacts, expand(t, s.With["name"], k))
				os.MkdirAll(dst, 0o755)
				src := filepath.Join(work, expand(t, s.With["path"], k))
				data, err := os.ReadFile(src)
				if err != nil {
					t.Fatalf("shard %d uploads %s: %v", k, src, err)
				}
				os.WriteFile(filepath.Join(dst, filepath.Base(src)), data, 0o644)
			}
		}
	}
	work := scratch(t, bin)
	for night := 1; night <= 2; night++ {
		for _, s := range merge.Steps {
			switch {
			case s.Run != "" && strings.TrimSpace(s.Run) != "make build":
				shell(t, work, env, expand(t, s.Run, 0))
			case strings.HasPrefix(s.Uses, "actions/download-artifact"):
				pattern := s.With["pattern"]
				matches, _ := filepath.Glob(filepath.Join(artifacts, pattern))
				if len(matches) != n {
					t.Fatalf("download pattern %q matches %d artifacts, want %d", pattern, len(matches), n)
				}
				copyDir(t, artifacts, filepath.Join(work, s.With["path"]))
			}
		}
	}
	merged, err := matrix.Read(filepath.Join(work, "site", "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Shards) != n || len(merged.Cells) != 8 {
		t.Errorf("merged %d shards, %d cells; want %d shards and the 8 cells of gorgonia on the CPU", len(merged.Shards), len(merged.Cells), n)
	}
	for _, f := range []string{"site/index.html", "site/junit.xml", "nightly-cache/run.json", "previous.json",
		"nightly-cache/history.sqlite", "site/history/index.html", "regressions.md"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Errorf("after two nights: %v", err)
		}
	}
	storedRuns(t, filepath.Join(work, "nightly-cache", "history.sqlite"), 1)
	if s, _ := os.ReadFile(summary); !bytes.Contains(s, []byte("dlcompat run `")) || !bytes.Contains(s, []byte("dlcompat diff")) {
		t.Errorf("step summary lacks the matrix or the diff:\n%s", s)
	}
}

type k8sContainer struct {
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	Command   []string `yaml:"command"`
	Args      []string `yaml:"args"`
	Resources struct {
		Limits map[string]any `yaml:"limits"`
	} `yaml:"resources"`
}

type k8sDoc struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				Containers []k8sContainer `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func (c k8sContainer) env(name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func TestKubernetesIndexedJobExampleShardWiring(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(examplesDir, "kubernetes-indexed-job.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var shardsJob, mergeJob *k8sDoc
	for {
		var d k8sDoc
		if err := dec.Decode(&d); err != nil {
			break
		}
		if d.Kind != "Job" {
			continue
		}
		if d.Spec.CompletionMode == "Indexed" {
			shardsJob = &d
		} else {
			mergeJob = &d
		}
	}
	if shardsJob == nil || mergeJob == nil {
		t.Fatal("want an Indexed Job and a merge Job")
	}
	n := shardsJob.Spec.Completions
	c := shardsJob.Spec.Template.Spec.Containers[0]
	m := mergeJob.Spec.Template.Spec.Containers[0]
	if n < 2 || shardsJob.Spec.Parallelism != n || c.env("SHARDS") != strconv.Itoa(n) || m.env("SHARDS") != strconv.Itoa(n) {
		t.Fatalf("completions %d, parallelism %d, SHARDS %q and %q: they must agree", n, shardsJob.Spec.Parallelism, c.env("SHARDS"), m.env("SHARDS"))
	}
	if fmt.Sprint(c.Resources.Limits["nvidia.com/gpu"]) != "1" {
		t.Errorf("each pod should request one GPU: limits %v", c.Resources.Limits)
	}
	script := strings.Join(append(c.Command[2:], c.Args...), "\n")
	if !strings.Contains(script, "JOB_COMPLETION_INDEX + 1") || !strings.Contains(script, `--shard "$k/$SHARDS"`) {
		t.Errorf("the pod's script does not turn JOB_COMPLETION_INDEX into --shard k/n:\n%s", script)
	}

	// Run every pod's script, then the merge Job's, as sh would in the
	// image (dlcompat on PATH, the reference tensors in the working dir).
	bin := cheapDlcompat(t)
	work := scratch(t, bin)
	results := t.TempDir()
	sh := func(ctr k8sContainer, extra ...string) {
		t.Helper()
		env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "RESULTS_DIR=" + results}
		for _, e := range ctr.Env {
			if e.Name != "RESULTS_DIR" {
				env = append(env, e.Name+"="+e.Value)
			}
		}
		cmd := osexec.Command(ctr.Command[0], append(ctr.Command[1:], ctr.Args...)...)
		cmd.Dir = work
		cmd.Env = append(append(os.Environ(), env...), extra...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", extra, err, out)
		}
	}
	for i := 0; i < n; i++ {
		sh(c, fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i))
	}
	sh(c, "JOB_COMPLETION_INDEX=0") // a retried pod resumes its shard
	sh(m)
	night := filepath.Join(results, c.env("NIGHT"))
	if c.env("NIGHT") == "" || c.env("NIGHT") != m.env("NIGHT") {
		t.Errorf("the shard pods (NIGHT=%q) and the merge (NIGHT=%q) must share the night's directory", c.env("NIGHT"), m.env("NIGHT"))
	}
	merged, err := matrix.Read(filepath.Join(night, "all.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, s := range merged.Shards {
		labels = append(labels, s.Shard)
	}
	var want []string
	for k := 1; k <= n; k++ {
		want = append(want, fmt.Sprintf("%d/%d", k, n))
	}
	if strings.Join(labels, " ") != strings.Join(want, " ") || len(merged.Cells) != 8 {
		t.Errorf("merged shards %v with %d cells; want %v and 8 cells", labels, len(merged.Cells), want)
	}
	for _, f := range []string{filepath.Join(night, "index.html"), filepath.Join(night, "regressions.md"),
		filepath.Join(results, "history.sqlite"), filepath.Join(results, "site", "index.html")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	storedRuns(t, filepath.Join(results, "history.sqlite"), 1)
}

// storedRuns fails unless the history store at path holds n runs (the
// merge ran the same night twice in the GitHub example: stored once).
func storedRuns(t *testing.T, path string, n int) {
	t.Helper()
	s, err := history.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs, err := s.Runs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != n {
		t.Errorf("%s holds %d runs, want %d", path, len(runs), n)
	}
}
