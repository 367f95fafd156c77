package plugintest

import (
	"encoding/json"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/matrix"
)

// Bug is a conversion bug planted in a plugin's worker: the one place in
// File (a path under plugins/<name>/) where Old occurs becomes New. It is
// the real worker with one conversion wrong — a kernel layout, a gate
// order, a transposed weight — so the matrix must catch it, on Model, at
// Layer, the first activation it names as diverging.
type Bug struct {
	What     string // the bug, for the messages ("gate order i, f, o, g")
	File     string
	Old, New string
	Model    reference.Model
	Layer    string
}

// BuildPlanted builds plugins/<name> as `make build` does, with b planted
// in its embedded worker through go build's -overlay (the source tree is
// left alone), and returns the binary's path. A bug whose Old is not in
// File exactly once fails the test: the worker changed, so the bug must be
// planted anew.
func BuildPlanted(t testing.TB, name string, b Bug) string {
	t.Helper()
	src := filepath.Join(RepoRoot(), "plugins", name, b.File)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), b.Old); n != 1 {
		t.Fatalf("planting %q: %s has %d copies of %q, want exactly 1 (the worker changed: plant the bug anew)", b.What, b.File, n, b.Old)
	}
	dir := t.TempDir()
	planted := filepath.Join(dir, filepath.Base(b.File))
	if err := os.WriteFile(planted, []byte(strings.Replace(string(data), b.Old, b.New, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	overlay, err := json.Marshal(map[string]map[string]string{"Replace": {src: planted}})
	if err != nil {
		t.Fatal(err)
	}
	ov := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ov, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, pluginhost.BinaryPrefix+name)
	cmd := osexec.Command("go", "build", "-trimpath", "-overlay", ov, "-o", path, "./plugins/"+name)
	cmd.Dir = RepoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the %s plugin with %q planted: %v\n%s", name, b.What, err, out)
	}
	return path
}

// PlantedFailsInImage runs the plugin called name, with b planted (see
// BuildPlanted) and env added, in image through the docker executor: the
// forward cell of b.Model must fail, naming b.Layer as the first diverging
// layer. It returns the cell. An image that is not built skips, or fails
// where nothing may skip (Unavailable).
func PlantedFailsInImage(t *testing.T, name, image string, b Bug, env ...string) matrix.Cell {
	t.Helper()
	return PlantedFailsInEveryMode(t, name, image, b, []string{pluginapi.PrecisionFP32}, env...)[0]
}
