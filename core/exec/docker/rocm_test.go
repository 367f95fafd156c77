package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	dc "github.com/ory/dockertest/v3/docker"

	"github.com/dlcompat/dlcompat/core/exec"
)

// hostTree makes a host root with /dev/kfd, two render nodes and an
// /etc/group, the nodes owned by groups 44 and 110 where this test may
// chown (root), else by the test's own group.
func hostTree(t *testing.T) (root string, kfdGID, renderGID int) {
	t.Helper()
	root = t.TempDir()
	kfdGID, renderGID = 44, 110
	for _, f := range []struct {
		path string
		gid  int
	}{{"dev/kfd", kfdGID}, {"dev/dri/renderD128", renderGID}, {"dev/dri/renderD129", renderGID}} {
		p := filepath.Join(root, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o660); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, -1, f.gid); err != nil {
			kfdGID, renderGID = os.Getgid(), os.Getgid() // not root: the nodes keep our group
		}
	}
	group := "root:x:0:\nvideo:x:44:\nrender:x:110:\nusers:x:100:\n"
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "group"), []byte(group), 0o644); err != nil {
		t.Fatal(err)
	}
	return root, kfdGID, renderGID
}

// A container pinned to an AMD GPU gets /dev/kfd and that GPU's render
// node alone, at the same paths, with the groups that own them, and no
// NVIDIA device request; the hardening is what every container has.
func TestROCmContainerConfig(t *testing.T) {
	root, _, _ := hostTree(t)
	dev := exec.Device{ID: "rocm:1", Kind: "rocm", UUID: "GPU-2250f807caf2231a", RenderNode: "/dev/dri/renderD129"}
	c := newContainer(containerSpec{
		binary: "/opt/plugins/dlcompat-plugin-pytorch", hostSocketDir: "/tmp/s", hostRoot: root,
		spec: exec.Spec{Name: "pytorch", Image: "rocm/pytorch:rocm6.3_ubuntu22.04_py3.10_pytorch_release_2.4.0", Device: dev},
	})
	var err error
	if c.rocm, err = rocmDevices(c.hostRoot, dev); err != nil {
		t.Fatal(err)
	}
	_, hc, requests := c.configs()
	wantDevices := []dc.Device{
		{PathOnHost: "/dev/kfd", PathInContainer: "/dev/kfd", CgroupPermissions: "rwm"},
		{PathOnHost: "/dev/dri/renderD129", PathInContainer: "/dev/dri/renderD129", CgroupPermissions: "rwm"},
	}
	if !reflect.DeepEqual(hc.Devices, wantDevices) {
		t.Errorf("Devices = %+v, want %+v", hc.Devices, wantDevices)
	}
	// video (44) and render (110) from /etc/group, whoever owns the nodes.
	groups := map[string]bool{}
	for _, g := range hc.GroupAdd {
		groups[g] = true
	}
	if !groups["44"] || !groups["110"] || groups["0"] || groups["100"] {
		t.Errorf("GroupAdd = %v, want video's 44 and render's 110 (and the nodes' owners), never root's or users'", hc.GroupAdd)
	}
	if len(requests) != 0 {
		t.Errorf("device requests %+v: an AMD GPU needs no NVIDIA runtime", requests)
	}
	if hc.NetworkMode != "none" || !reflect.DeepEqual(hc.CapDrop, []string{"ALL"}) || !hc.ReadonlyRootfs || hc.Privileged {
		t.Errorf("hardening lost: %+v", hc)
	}

	// A CUDA GPU's container gets no AMD device nodes.
	c.spec.Device = exec.Device{ID: "gpu:0", Kind: "gpu", UUID: "GPU-x"}
	_, hc, requests = c.configs()
	if len(hc.Devices) != 0 || len(hc.GroupAdd) != 0 || len(requests) != 1 {
		t.Errorf("a gpu:0 container: devices %v, groups %v, requests %v", hc.Devices, hc.GroupAdd, requests)
	}
}

func TestROCmDevicesMissing(t *testing.T) {
	root, _, _ := hostTree(t)
	for _, tc := range []struct {
		desc string
		dev  exec.Device
		want string
	}{
		{"a render node the host lacks", exec.Device{ID: "rocm:2", Kind: "rocm", RenderNode: "/dev/dri/renderD130"}, "rocm:2 needs /dev/dri/renderD130"},
		{"no render node", exec.Device{ID: "rocm:0", Kind: "rocm"}, "rocm:0 has no render node"},
		{"a path outside /dev/dri", exec.Device{ID: "rocm:0", Kind: "rocm", RenderNode: "/etc/passwd"}, "has no render node"},
	} {
		_, err := rocmDevices(root, tc.dev)
		if !errors.Is(err, ErrNoAMDDevice) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNoAMDDevice saying %q", tc.desc, err, tc.want)
		}
	}
	if err := os.Remove(filepath.Join(root, "dev", "kfd")); err != nil {
		t.Fatal(err)
	}
	_, err := rocmDevices(root, exec.Device{ID: "rocm:0", Kind: "rocm", RenderNode: "/dev/dri/renderD128"})
	if !errors.Is(err, ErrNoAMDDevice) || !strings.Contains(err.Error(), "/dev/kfd") || !strings.Contains(err.Error(), "modprobe amdgpu") {
		t.Errorf("no /dev/kfd: %v", err)
	}
}

// The engine takes an AMD GPU container's device nodes and groups as the
// executor sends them (one raw create, then docker inspect). This host has
// no AMD GPU, so /dev/null and /dev/zero stand in for the nodes on the
// host side; the paths in the container are an AMD GPU's.
func TestROCmCreateInspect(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := newContainer(containerSpec{
		pool: e.pool, binary: bin, hostSocketDir: t.TempDir(), name: fmt.Sprintf("dlcompat-test-rocm-%d", os.Getpid()),
		spec:   exec.Spec{Name: "gorgonia", Image: "dlcompat/gorgonia:scratch", Device: exec.Device{ID: "rocm:0", Kind: "rocm", RenderNode: "/dev/dri/renderD128"}},
		labels: map[string]string{LabelRun: "test-rocm"},
	})
	c.rocm = rocmAccess{
		devices: []dc.Device{
			{PathOnHost: "/dev/null", PathInContainer: KFDDevice, CgroupPermissions: "rwm"},
			{PathOnHost: "/dev/zero", PathInContainer: "/dev/dri/renderD128", CgroupPermissions: "rwm"},
		},
		groups: []string{"44", "110"},
	}
	_ = removeContainer(ctx, e.pool.Client, c.name)
	cfg, hc, requests := c.configs()
	id, err := createContainer(ctx, e.pool.Client, c.name, cfg, hc, requests)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	defer removeContainer(ctx, e.pool.Client, id)
	info, err := e.pool.Client.InspectContainerWithContext(id, ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := info.HostConfig
	t.Logf("docker inspect %.12s: Devices %+v GroupAdd %v", id, got.Devices, got.GroupAdd)
	if !reflect.DeepEqual(got.Devices, c.rocm.devices) || !reflect.DeepEqual(got.GroupAdd, c.rocm.groups) {
		t.Errorf("inspect: Devices %+v GroupAdd %v, want %+v %v", got.Devices, got.GroupAdd, c.rocm.devices, c.rocm.groups)
	}
	if got.NetworkMode != "none" || !got.ReadonlyRootfs || got.Privileged {
		t.Errorf("inspect: hardening lost: %+v", got)
	}
}
