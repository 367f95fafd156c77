package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/exec"
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

func TestKerasBackendsAreRowsOfTheirOwn(t *testing.T) {
	specs := []exec.Spec{{Name: "gorgonia"}, {Name: "keras", Path: "/p/keras", Env: []string{"A=1"}}}
	got, fw, err := expandKerasBackends(specs, []string{"keras", "gorgonia"}, []string{"tensorflow", "jax"})
	if err != nil {
		t.Fatal(err)
	}
	want := []exec.Spec{{Name: "gorgonia"},
		{Name: "keras+tensorflow", Path: "/p/keras", Env: []string{"A=1", "KERAS_BACKEND=tensorflow"}},
		{Name: "keras+jax", Path: "/p/keras", Env: []string{"A=1", "KERAS_BACKEND=jax"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("specs %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(fw, []string{"keras+tensorflow", "keras+jax", "gorgonia"}) {
		t.Errorf("frameworks %v", fw)
	}
	if got, _, _ := expandKerasBackends(specs, nil, nil); !reflect.DeepEqual(got, specs) {
		t.Errorf("no backends changed the specs: %+v", got)
	}
	for _, bad := range [][]string{{"jax", "jax"}, {"Jax"}, {"a b"}} {
		if _, _, err := expandKerasBackends(specs, nil, bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, _, err := expandKerasBackends(specs[:1], nil, []string{"jax"}); err == nil {
		t.Error("backends without a keras plugin: no error")
	}
}
