package runner

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/pluginhost"
	"github.com/dlcompat/dlcompat/matrix"
)

// fakeExecutor is a run-scoped, device-pinning, image-preparing executor
// that starts plugins locally and records what the runner asked of it.
type fakeExecutor struct {
	exec.Local
	OpenCalled      []string
	CloseCalled     int
	PrepareCalled   []string
	ConfigureCalled []exec.Spec
	OpenErr         error
	PrepareErr      error
}

var (
	_ exec.RunScoped     = (*fakeExecutor)(nil)
	_ exec.DevicePinner  = (*fakeExecutor)(nil)
	_ exec.ImagePreparer = (*fakeExecutor)(nil)
)

func (f *fakeExecutor) Name() string { return "fake" }
func (f *fakeExecutor) Open(_ context.Context, runID string) error {
	f.OpenCalled = append(f.OpenCalled, runID)
	return f.OpenErr
}
func (f *fakeExecutor) Close() error      { f.CloseCalled++; return nil }
func (f *fakeExecutor) PinsDevices() bool { return true }
func (f *fakeExecutor) PrepareImage(_ context.Context, image string) (string, error) {
	f.PrepareCalled = append(f.PrepareCalled, image)
	return "sha256:feed", f.PrepareErr
}
func (f *fakeExecutor) Configure(spec exec.Spec, cfg *plugin.ClientConfig) error {
	f.ConfigureCalled = append(f.ConfigureCalled, spec)
	return f.Local.Configure(spec, cfg)
}

var testGPU = matrix.Device{ID: "gpu:0", Kind: "gpu", Name: "test GPU", UUID: "GPU-1234"}

// A pinning executor gets one plugin per device, each with its device; a
// run-scoped one is opened once with the run's id and closed at the end;
// the image's digest is recorded once per framework row.
func TestExecutorHooks(t *testing.T) {
	spec, _ := faultSpec(t, "")
	spec.Image = "example/oracle:1"
	fx := &fakeExecutor{}
	o := baseOptions(t, spec)
	o.Executor = fx
	o.Devices = append(o.Devices, testGPU)
	o.Checks = []string{pluginapi.CheckForward}
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.OpenCalled) != 1 || fx.OpenCalled[0] != run.RunID || fx.CloseCalled != 1 {
		t.Errorf("Open %v (run %s), Close ×%d; want once each", fx.OpenCalled, run.RunID, fx.CloseCalled)
	}
	var pinned []string
	for _, s := range fx.ConfigureCalled {
		pinned = append(pinned, s.Device.ID+"/"+s.Device.UUID)
	}
	if strings.Join(pinned, " ") != "cpu/ gpu:0/GPU-1234" {
		t.Errorf("plugins pinned to %v, want one on cpu and one on gpu:0", pinned)
	}
	if strings.Join(fx.PrepareCalled, " ") != "example/oracle:1 example/oracle:1" {
		t.Errorf("PrepareImage %v", fx.PrepareCalled)
	}
	if len(run.Frameworks) != 1 || run.Frameworks[0].ImageDigest != "sha256:feed" || run.Frameworks[0].Image != spec.Image {
		t.Errorf("frameworks %+v", run.Frameworks)
	}
	for _, c := range run.Cells {
		switch c.Device {
		case "cpu":
			if c.Status != matrix.Pass {
				t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
			}
		case testGPU.ID: // the oracle plugin offers no GPU
			if c.Status != matrix.Skip || !strings.Contains(c.Reason, "cannot use gpu:0") {
				t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
			}
		}
	}
}

// An executor that cannot open, or an image that cannot be prepared,
// makes the plugin's cells crash with the reason, like any start failure.
func TestExecutorFailuresAreStartFailures(t *testing.T) {
	for _, tc := range []struct {
		desc string
		fx   *fakeExecutor
		want string
	}{
		{"open", &fakeExecutor{OpenErr: errors.New("no engine answers")}, "fake executor: no engine answers"},
		{"image", &fakeExecutor{PrepareErr: errors.New("image example/oracle:1 is missing")}, "image example/oracle:1 is missing"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			spec, _ := faultSpec(t, "")
			spec.Image = "example/oracle:1"
			o := baseOptions(t, spec)
			o.Executor = tc.fx
			run, err := Run(context.Background(), o)
			if !errors.Is(err, ErrInfra) {
				t.Errorf("err = %v, want ErrInfra (nothing could start)", err)
			}
			for _, c := range run.Cells {
				if c.Status != matrix.Crash || !strings.Contains(c.Reason, tc.want) {
					t.Errorf("%s: %s %q", c.CellKey, c.Status, c.Reason)
				}
			}
			if len(tc.fx.ConfigureCalled) != 0 {
				t.Error("the plugin was started anyway")
			}
			if tc.fx.OpenErr != nil && tc.fx.CloseCalled != 0 {
				t.Error("an executor that did not open was closed")
			}
		})
	}
}

// A container pinned to one GPU sees it renumbered: the runner finds it
// by UUID, or as the only GPU there; unpinned plugins match by id.
func TestPluginDevice(t *testing.T) {
	cpu := matrix.Device{ID: "cpu", Kind: "cpu"}
	host3 := matrix.Device{ID: "gpu:3", Kind: "gpu", UUID: "GPU-3"}
	pinned3 := exec.Spec{Device: exec.Device{ID: "gpu:3", Kind: "gpu", UUID: "GPU-3"}}
	hostR1 := matrix.Device{ID: "rocm:1", Kind: "rocm", UUID: "GPU-2250f807caf2231a", RenderNode: "/dev/dri/renderD129"}
	pinnedR1 := exec.Spec{Device: exec.Device{ID: "rocm:1", Kind: "rocm", UUID: hostR1.UUID, RenderNode: hostR1.RenderNode}}
	for _, tc := range []struct {
		desc    string
		spec    exec.Spec
		offered []pluginapi.Device
		dev     matrix.Device
		want    string // "" for no match
	}{
		{"unpinned cpu", exec.Spec{}, []pluginapi.Device{{ID: "cpu", Kind: "cpu"}}, cpu, "cpu"},
		{"unpinned gpu by id", exec.Spec{}, []pluginapi.Device{{ID: "gpu:3", Kind: "gpu"}}, host3, "gpu:3"},
		{"pinned gpu by UUID", pinned3, []pluginapi.Device{{ID: "cpu", Kind: "cpu"}, {ID: "gpu:0", Kind: "gpu", UUID: "GPU-3"}}, host3, "gpu:0"},
		{"pinned gpu, the only one, no UUID", pinned3, []pluginapi.Device{{ID: "gpu:0", Kind: "gpu"}}, host3, "gpu:0"},
		{"pinned gpu, another UUID", pinned3, []pluginapi.Device{{ID: "gpu:0", Kind: "gpu", UUID: "GPU-9"}}, host3, ""},
		{"pinned gpu, none offered", pinned3, []pluginapi.Device{{ID: "cpu", Kind: "cpu"}}, host3, ""},
		{"pinned cpu", exec.Spec{Device: exec.Device{ID: "cpu", Kind: "cpu"}}, []pluginapi.Device{{ID: "cpu", Kind: "cpu"}}, cpu, "cpu"},
		// An AMD GPU's container has its render node alone: the one rocm
		// device there is it, whatever UUID the framework gives it; a
		// CUDA GPU is never taken for it.
		{"pinned rocm, the only one", pinnedR1, []pluginapi.Device{{ID: "cpu", Kind: "cpu"}, {ID: "rocm:0", Kind: "rocm", UUID: "GPU-x"}}, hostR1, "rocm:0"},
		{"pinned rocm, only a CUDA GPU offered", pinnedR1, []pluginapi.Device{{ID: "gpu:0", Kind: "gpu"}}, hostR1, ""},
		{"pinned rocm, two offered", pinnedR1, []pluginapi.Device{{ID: "rocm:0", Kind: "rocm", UUID: "a"}, {ID: "rocm:1", Kind: "rocm", UUID: "b"}}, hostR1, ""},
		{"unpinned rocm by id", exec.Spec{}, []pluginapi.Device{{ID: "rocm:1", Kind: "rocm"}}, hostR1, "rocm:1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			inst := &pluginhost.Instance{Spec: tc.spec, Desc: pluginapi.DescribeResponse{Devices: tc.offered}}
			d, ok := pluginDevice(inst, tc.dev)
			if got := map[bool]string{true: d.ID, false: ""}[ok]; got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
