package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pythonPluginsDir holds a stand-in dlcompat-plugin-pytorch (the gorgonia
// binary under that name): the interpreter check runs before any plugin
// starts, so the binary's content does not matter here.
func pythonPluginsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(pluginsDir, "dlcompat-plugin-gorgonia"), filepath.Join(dir, "dlcompat-plugin-pytorch")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestMissingInterpreterIsAUsageErrorThatNamesIt(t *testing.T) {
	t.Setenv("DLCOMPAT_PYTHON_PYTORCH", "/nonexistent/venv/bin/python3")
	dir := pythonPluginsDir(t)
	out := filepath.Join(t.TempDir(), "results")
	code, _, stderr := runCLI(t, "run", "--plugins-dir", dir, "--reference", refDir(), "-o", out)
	if code != ExitUsage {
		t.Errorf("run: exit %d, want 2; stderr: %s", code, stderr)
	}
	for _, w := range []string{"DLCOMPAT_PYTHON_PYTORCH=/nonexistent/venv/bin/python3", "does not exist"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("run: stderr lacks %q:\n%s", w, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("run wrote %s", out)
	}
	code, stdout, stderr := runCLI(t, "plugins", "--plugins-dir", dir)
	if code != ExitOK || !strings.Contains(stdout, "cannot start: DLCOMPAT_PYTHON_PYTORCH=/nonexistent/venv/bin/python3") {
		t.Errorf("plugins: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
