package cli

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/runner/runnertest"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
)

// TestExtraArgumentsAreRefused: a command that takes no arguments says
// so rather than ignore them.
func TestExtraArgumentsAreRefused(t *testing.T) {
	for _, args := range [][]string{{"devices", "extra"}, {"version", "--json"}, {"plugins", "gorgonia"}} {
		if code, _, stderr := runCLI(t, args...); code != ExitUsage {
			t.Errorf("%q: exit %d, want 2; stderr: %s", args, code, stderr)
		}
	}
}

// TestHelpAndVersionSpellings: the spellings people type.
func TestHelpAndVersionSpellings(t *testing.T) {
	if code, stdout, _ := runCLI(t, "help", "run"); code != ExitOK || !strings.Contains(stdout, "Usage: dlcompat run") {
		t.Errorf("help run: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "--version"); code != ExitOK || !strings.HasPrefix(stdout, "dlcompat ") {
		t.Errorf("--version: exit %d\n%s", code, stdout)
	}
}

// TestOutputFilesAreCheckedFirst: report, diff and merge refuse an -o
// they could not write before reading anything, and merge never
// overwrites one of its inputs.
func TestOutputFilesAreCheckedFirst(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	if code, _, stderr := runCLI(t, runArgs(out, "--models", "lstm", "--checks", "forward")...); code != ExitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	doc := filepath.Join(out, "run.json")
	before, _ := os.ReadFile(doc)
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "r.html")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", doc, "--format", "html", "-o", missing}, "does not exist"},
		{[]string{"report", doc, "-o", out}, "is a directory"},
		{[]string{"diff", doc, doc, "-o", missing}, "does not exist"},
		{[]string{"merge", doc, "-o", t.TempDir()}, "is a directory"},
		{[]string{"merge", doc, "-o", doc}, "one of the files being merged"},
	} {
		code, _, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%q: exit %d, want 2 and %q; stderr: %s", tc.args, code, tc.want, stderr)
		}
	}
	if after, _ := os.ReadFile(doc); string(after) != string(before) {
		t.Error("a refused merge changed its input")
	}
}

// TestRequestedFrameworkThatCannotRunIsInfrastructure: naming a framework
// that is not installed is not a green run. The real caffe plugin, on an
// interpreter without Caffe (Caffe only exists in its image), skips.
func TestRequestedFrameworkThatCannotRunIsInfrastructure(t *testing.T) {
	dir := t.TempDir()
	build := osexec.Command("go", "build", "-o", filepath.Join(dir, "dlcompat-plugin-caffe"), "./plugins/caffe")
	build.Dir, build.Env = repoRoot, append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the caffe plugin: %v\n%s", err, b)
	}
	os.Symlink(filepath.Join(pluginsDir, "dlcompat-plugin-gorgonia"), filepath.Join(dir, "dlcompat-plugin-gorgonia"))
	// Debian's python3 has numpy after scripts/setup.d/30-python.sh, and
	// never Caffe (bookworm does not package it).
	const py = "/usr/bin/python3"
	testenv.Need(t, osexec.Command(py, "-c", "import numpy").Run() == nil, py+" with numpy: run scripts/setup.d/30-python.sh")
	t.Setenv("DLCOMPAT_PYTHON_CAFFE", py)
	args := func(out string, extra ...string) []string {
		return append([]string{"run", "--plugins-dir", dir, "--reference", refDir(), "--models", "lstm", "--checks", "forward", "--quiet", "-o", out}, extra...)
	}
	code, _, stderr := runCLI(t, args(filepath.Join(t.TempDir(), "r"), "--frameworks", "caffe,gorgonia")...)
	if code != ExitInfra || !strings.Contains(stderr, "asked for with --frameworks but cannot run here") || !strings.Contains(stderr, "caffe: ") {
		t.Errorf("--frameworks caffe: exit %d, want 3; stderr: %s", code, stderr)
	}
	// Found, not asked for: its skips are information, not a failure.
	if code, _, stderr := runCLI(t, args(filepath.Join(t.TempDir(), "r"))...); code != ExitOK {
		t.Errorf("every plugin found: exit %d, want 0; stderr: %s", code, stderr)
	}
}

// TestResumeTakesTheJournalledFlags: `run --resume -o DIR` alone finishes
// a killed run as it was started: models, checks, perf options and
// frameworks come from its journal.
func TestResumeTakesTheJournalledFlags(t *testing.T) {
	out := filepath.Join(t.TempDir(), "results")
	if code, _, stderr := runCLI(t, runArgs(out, "--frameworks", "gorgonia", "--models", "lstm", "--checks", "forward,backward")...); code != ExitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	runnertest.KillAfterFirstCell(t, out)

	code, _, stderr := runCLI(t, "run", "--resume", "-o", out, "--reference", refDir(), "--quiet")
	if code != ExitOK {
		t.Fatalf("resume with no other flag: exit %d\n%s", code, stderr)
	}
	run, err := matrix.Read(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 2 || run.Counts()[matrix.Pass] != 2 || !strings.Contains(strings.Join(run.Notes, "\n"), "with 1 finished cells") {
		t.Errorf("resumed run: %d cells %v, notes %q", len(run.Cells), run.Counts(), run.Notes)
	}
	// A flag given on the command line still wins, and a changed one is
	// refused naming the field.
	code, _, stderr = runCLI(t, "run", "--resume", "-o", out, "--reference", refDir(), "--models", "cnn")
	if code != ExitUsage || !strings.Contains(stderr, "models") {
		t.Errorf("resume with another model: exit %d, stderr %s", code, stderr)
	}
}
