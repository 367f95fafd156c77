package docker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/matrix"
)

var (
	_ exec.PackageLister     = (*Executor)(nil)
	_ exec.GPURuntimeChecker = (*Executor)(nil)
)

// ListPackages lists what spec's image holds (its python3's
// distributions and its dpkg packages), once per image ID for the
// executor's life: a container of the image runs exec.ShellPackagesScript,
// with no network, as the plugins do. An image without a shell (the
// static plugins' scratch image) holds nothing but the plugin binary, so
// its list is the binary's Go modules.
func (e *Executor) ListPackages(ctx context.Context, spec exec.Spec, _ string) (*matrix.Packages, error) {
	pool, err := e.openPool()
	if err != nil {
		return nil, err
	}
	if spec.Image == "" {
		return exec.GoModules(spec.Path)
	}
	img, err := pool.Client.InspectImage(spec.Image)
	if err != nil {
		return nil, fmt.Errorf("docker: inspecting image %s: %v", spec.Image, err)
	}
	e.mu.Lock()
	if p, ok := e.packages[img.ID]; ok {
		e.mu.Unlock()
		return p, nil
	}
	runID, owner := e.runID, e.owner
	e.mu.Unlock()

	p, err := e.listImage(ctx, pool, img.ID, spec, runID, owner)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.packages == nil {
		e.packages = map[string]*matrix.Packages{}
	}
	e.packages[img.ID] = p
	e.mu.Unlock()
	return p, nil
}

// listImage runs the listing in a container of image id, a minute at
// most; the container carries the run's labels, so the janitor removes
// it if this host dies first.
func (e *Executor) listImage(ctx context.Context, pool *dockertest.Pool, id string, spec exec.Spec, runID, owner string) (*matrix.Packages, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{
		Context: ctx,
		Config: &dc.Config{Image: id, Entrypoint: []string{"/bin/sh", "-c", exec.ShellPackagesScript}, User: e.limits.User, WorkingDir: "/",
			Labels: map[string]string{LabelRun: runID, LabelOwner: owner, LabelFramework: spec.Name, LabelDevice: "packages"}},
		HostConfig: &dc.HostConfig{NetworkMode: "none", CapDrop: []string{"ALL"}, SecurityOpt: []string{"no-new-privileges"}, ReadonlyRootfs: true,
			Tmpfs: map[string]string{"/tmp": e.limits.tmpfs()}},
	})
	if err != nil {
		return nil, fmt.Errorf("docker: a container to list the packages of %s: %v", spec.Image, err)
	}
	defer removeContainer(context.WithoutCancel(ctx), pool.Client, c.ID)
	if err := pool.Client.StartContainerWithContext(c.ID, nil, ctx); err != nil {
		if strings.Contains(err.Error(), "/bin/sh") || strings.Contains(err.Error(), "no such file") {
			p, gerr := exec.GoModules(spec.Path)
			if gerr != nil {
				return nil, fmt.Errorf("image %s has no shell to list its packages, and %v", spec.Image, gerr)
			}
			p.From += " (image " + id + " has no shell: the plugin binary is all it runs)"
			return p, nil
		}
		return nil, fmt.Errorf("docker: listing the packages of %s: %v", spec.Image, err)
	}
	code, err := pool.Client.WaitContainerWithContext(c.ID, ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: listing the packages of %s: %v", spec.Image, err)
	}
	var out, stderr bytes.Buffer
	if err := pool.Client.Logs(dc.LogsOptions{Context: ctx, Container: c.ID, OutputStream: &out, ErrorStream: &stderr, Stdout: true, Stderr: true}); err != nil {
		return nil, fmt.Errorf("docker: reading the package listing of %s: %v", spec.Image, err)
	}
	if code != 0 {
		return nil, fmt.Errorf("listing the packages of %s exited %d: %s", spec.Image, code, strings.TrimSpace(stderr.String()))
	}
	items, err := exec.ParseShellListing(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("listing the packages of %s: %v", spec.Image, err)
	}
	return exec.NewPackages(items, "python3 importlib.metadata and dpkg-query in image "+id), nil
}

// CheckGPURuntime asks the engine (GET /info) whether it can give a
// container a GPU: an "nvidia" runtime registered, or CDI spec
// directories (the NVIDIA Container Toolkit's two ways). The answer is
// the run's preflight, not an error of any plugin.
func (e *Executor) CheckGPURuntime(ctx context.Context) error {
	pool, err := e.openPool()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, engineURL(pool.Client, "/info"), nil)
	if err != nil {
		return err
	}
	resp, err := pool.Client.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("docker: GET /info: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	var info struct {
		Runtimes       map[string]json.RawMessage `json:"Runtimes"`
		DefaultRuntime string                     `json:"DefaultRuntime"`
		CDISpecDirs    []string                   `json:"CDISpecDirs"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &info) != nil {
		return fmt.Errorf("docker: GET /info answered HTTP %d", resp.StatusCode)
	}
	if _, ok := info.Runtimes["nvidia"]; ok {
		return nil
	}
	var names []string
	for n := range info.Runtimes {
		names = append(names, n)
	}
	return fmt.Errorf("%w (runtimes: %s, default %s): install and configure the NVIDIA Container Toolkit (nvidia-ctk runtime configure --runtime=docker, then restart dockerd)",
		ErrNoGPURuntime, strings.Join(names, ", "), info.DefaultRuntime)
}
