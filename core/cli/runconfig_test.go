package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
)

// dockerAvailable reports whether a Docker engine answers and has
// dlcompat/gorgonia:scratch. Where nothing may skip (core/testenv: CI,
// make test) a missing one fails the test instead.
func dockerAvailable(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := docker.Connect(ctx, "")
	if err == nil {
		_, err = pool.Client.InspectImage("dlcompat/gorgonia:scratch")
	}
	if err != nil && testenv.Required() {
		t.Fatalf("needs a Docker engine and dlcompat/gorgonia:scratch (make setup): %v", err)
	}
	return err == nil
}

// needDocker skips outside CI when dockerAvailable is false.
func needDocker(t *testing.T) {
	t.Helper()
	if !dockerAvailable(t) {
		t.Skip("needs a Docker engine and dlcompat/gorgonia:scratch: run scripts/setup.d/10-docker.sh and scripts/build-images.sh gorgonia")
	}
}

// The configuration this repository ships for this machine runs gorgonia
// in its container, and the results record the image and its digest.
func TestRunShippedDockerConfig(t *testing.T) {
	needDocker(t)
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := runCLI(t, "run", "--config", filepath.Join(repoRoot, "testdata", "configs", "local-docker.yaml"),
		"--frameworks", "gorgonia", "--plugins-dir", pluginsDir, "--reference", refDir(), "--checks", "forward,backward,determinism", "-o", out)
	if code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	run, err := matrix.Read(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Cells) != 6 {
		t.Errorf("%d cells, want 6", len(run.Cells))
	}
	for _, c := range run.Cells {
		if c.Status != matrix.Pass {
			t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
		}
	}
	f := run.Frameworks[0]
	if f.Executor != "docker" || f.Image != "dlcompat/gorgonia:scratch" || !strings.HasPrefix(f.ImageDigest, "sha256:") {
		t.Errorf("framework row %+v", f)
	}
	if !strings.Contains(stdout, "via docker image dlcompat/gorgonia:scratch") {
		t.Errorf("the matrix does not name the image:\n%s", stdout)
	}
}

// Flags win over the file; the file wins over the defaults.
func TestFlagsWinOverConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "m.yaml")
	os.WriteFile(cfg, []byte("executor: local\nmodels: [lstm]\nchecks: [forward, backward]\n"), 0o644)
	out := filepath.Join(t.TempDir(), "results")
	code, stdout, stderr := runCLI(t, "run", "--config", cfg, "--models", "cnn", "--reference", refDir(), "-o", out)
	if code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	run, err := matrix.Read(filepath.Join(out, "run.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range run.Cells {
		got = append(got, c.Model+"/"+c.Check)
	}
	if strings.Join(got, " ") != "cnn/forward cnn/backward" {
		t.Errorf("cells %v, want cnn (flag) × forward, backward (file)", got)
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("executor: docker\nfrmeworks: {}\n"), 0o644)
	noDevice := filepath.Join(dir, "dev.yaml")
	os.WriteFile(noDevice, []byte("executor: local\ndevices: gpu:7\n"), 0o644)
	for _, tc := range []struct {
		desc string
		args []string
		want string
	}{
		{"unknown key", []string{"--config", bad}, bad + ":2: frmeworks: unknown key"},
		{"device the host lacks", []string{"--config", noDevice}, noDevice + ":2: devices:"},
		{"missing file", []string{"--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"bad pull flag", []string{"--pull", "always"}, `--pull: unknown pull policy "always"`},
		{"unknown executor", []string{"--executor", "podman"}, "valid: local, docker"},
	} {
		out := filepath.Join(t.TempDir(), "results")
		code, _, stderr := runCLI(t, append(append([]string{"run"}, tc.args...), "-o", out)...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tc.desc, code, stderr, tc.want)
		}
	}
}
