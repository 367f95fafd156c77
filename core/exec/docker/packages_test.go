package docker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/matrix"
)

// An image's packages are listed once, in a container of the image: the
// ONNX Runtime image's python3 distributions and its dpkg packages; the
// scratch image of a static plugin, with no shell, gives the plugin
// binary's Go modules.
func TestListPackages(t *testing.T) {
	pool := engine(t)
	needImage(t, pool, "dlcompat/onnxruntime-cpu:bookworm")
	needImage(t, pool, "dlcompat/gorgonia:scratch")
	ex := docker.New(docker.Options{})
	ctx := context.Background()
	if err := ex.Open(ctx, testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()

	start := time.Now()
	spec := exec.Spec{Name: "onnxruntime", Image: "dlcompat/onnxruntime-cpu:bookworm"}
	p, err := ex.ListPackages(ctx, spec, "python3")
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	has := func(p *matrix.Packages, manager, name string) bool {
		return slices.ContainsFunc(p.Items, func(x matrix.Package) bool { return x.Manager == manager && strings.EqualFold(x.Name, name) })
	}
	if !has(p, "pip", "onnxruntime") || !has(p, "pip", "numpy") || !has(p, "dpkg", "libc6") || !strings.HasPrefix(p.Digest, "sha256:") {
		t.Errorf("packages of the onnxruntime image: %d items, digest %s, from %s", len(p.Items), p.Digest, p.From)
	}
	again, err := ex.ListPackages(ctx, spec, "python3")
	if err != nil || again != p {
		t.Errorf("second listing: %v, cached %v", err, again == p)
	}
	t.Logf("onnxruntime image: %d packages in %v (%s), digest %s", len(p.Items), first.Round(time.Millisecond), p.From, p.Digest)

	g, err := ex.ListPackages(ctx, gorgoniaSpec(t, "dlcompat/gorgonia:scratch"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !has(g, "go", "gorgonia.org/gorgonia") || !strings.Contains(g.From, "has no shell") {
		t.Errorf("scratch image: %d items from %s", len(g.Items), g.From)
	}
}

// This engine has no NVIDIA runtime: the check says so, with the fix.
func TestCheckGPURuntime(t *testing.T) {
	engine(t)
	ex := docker.New(docker.Options{})
	if err := ex.Open(context.Background(), testRunID(t)); err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	err := ex.CheckGPURuntime(context.Background())
	if !errors.Is(err, docker.ErrNoGPURuntime) || !strings.Contains(err.Error(), "nvidia-ctk runtime configure") || !strings.Contains(err.Error(), "runc") {
		t.Errorf("CheckGPURuntime on an engine without the NVIDIA runtime: %v", err)
	}
}
