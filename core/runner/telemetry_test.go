package runner

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/dlcompat/dlcompat/core/device"
	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/internal/nvmlfake"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/preflight"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/core/telemetry/nvidia"
	"github.com/dlcompat/dlcompat/core/testenv"
	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/render"
)

// mockGPURun runs the fault plugin (a real go-plugin subprocess) on two
// GPUs of go-nvml's H200 server, extended by nvmlfake: gpu:0 healthy,
// gpu:1 throttling (hardware slowdown, power cap) with its link trained
// down and an ECC error. The plugin computes on the CPU; the host
// samples the mock devices around its perf calls.
func mockGPURun(t *testing.T, faults string) *matrix.Run {
	t.Helper()
	st := nvmlfake.H200()
	st.Processes = testProcesses
	srv, gpus := nvmlfake.NewH200(st)
	gpus[1].Update(func(s *nvmlfake.State) {
		s.Reasons = nvml.ClocksThrottleReasonHwSlowdown | nvml.ClocksEventReasonSwPowerCap
		s.SMClockMHz, s.PowerW, s.PCIeWidth, s.VolatileUncorrected = 1410, 699, 8, 2
	})
	inv := device.Detect(context.Background(), srv)
	devs := inv.Devices[1:3]
	for _, d := range devs {
		faults += ",gpu=" + d.ID + "|" + d.UUID
	}
	spec, _ := faultSpec(t, strings.TrimPrefix(faults, ","))
	o := baseOptions(t, spec)
	o.Devices = devs
	o.Models = []reference.Model{reference.LSTM}
	o.Checks = []string{pluginapi.CheckForward, pluginapi.CheckPerf}
	o.Perf = &pluginapi.PerfOptions{Warmup: 1, Iterations: 8, LatencyBatch: 1, ThroughputBatches: []int{8}, TrainBatch: 8}
	sampler, err := nvidia.Open(srv)
	if err != nil {
		t.Fatal(err)
	}
	defer sampler.Close()
	o.Telemetry = sampler
	o.TelemetryOptions = telemetry.Options{Interval: 2 * time.Millisecond, Baseline: 20 * time.Millisecond}
	root := t.TempDir() // a sysfs root whose PCI bus has the server's 8 GPUs
	for i := 0; i < 8; i++ {
		d := amd.PCIDir(root, fmt.Sprintf("0000:%02x:00.0", i))
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "vendor"), []byte("0x10de\n"), 0o644)
		os.WriteFile(filepath.Join(d, "class"), []byte("0x030200\n"), 0o644)
	}
	o.Preflight = func(ctx context.Context, devices []matrix.Device) []matrix.PreflightCheck {
		return preflight.NVIDIA(ctx, srv, devices, preflight.Options{SysRoot: root})
	}
	o.Command = "dlcompat run --config gpu.yaml"
	run, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// testProcesses is what the fake GPUs list as their compute processes:
// every process of this test binary's tree (itself, each plugin it
// started) holding 64 MiB, and another user's (pid 1) holding 5 GiB.
// The plugin's own memory is 64 MiB only if the runner named its
// processes alone.
func testProcesses() []nvml.ProcessInfo {
	out := []nvml.ProcessInfo{{Pid: 1, UsedGpuMemory: 5 << 30}}
	for _, pid := range exec.ProcessTree(os.Getpid()) {
		out = append(out, nvml.ProcessInfo{Pid: uint32(pid), UsedGpuMemory: 64 << 20})
	}
	return out
}

func TestTelemetryOnMockGPUs(t *testing.T) {
	run := mockGPURun(t, "")
	for _, c := range run.Cells {
		if c.Status != matrix.Pass {
			t.Errorf("%s: %s %s", c.CellKey, c.Status, c.Reason)
		}
		if !strings.HasPrefix(c.Reproduce, "dlcompat run --config gpu.yaml --frameworks oracle --devices "+c.Device+" --models lstm --checks "+c.Check+" --precisions fp32") {
			t.Errorf("reproduce: %q", c.Reproduce)
		}
		if c.Check != pluginapi.CheckPerf {
			if c.Timings != nil {
				t.Errorf("%s has timings", c.CellKey)
			}
			continue
		}
		if len(c.Timings) != 3 {
			t.Fatalf("%s: %d series", c.CellKey, len(c.Timings))
		}
		throttled := c.Device == "gpu:1"
		if c.Throttled() != throttled {
			t.Errorf("%s throttled = %v, want %v", c.CellKey, c.Throttled(), throttled)
		}
		for _, tm := range c.Timings {
			tel := tm.Telemetry
			if tel == nil {
				t.Fatalf("%s %s: no telemetry", c.CellKey, tm.Name)
			}
			if tel.Window != matrix.WindowSeries || tel.Source != "nvml" || tel.Baseline == nil {
				t.Errorf("%s %s: window %s, source %s, baseline %v", c.CellKey, tm.Name, tel.Window, tel.Source, tel.Baseline)
			}
			// The window is the plugin's timed loop: within the cell's
			// wall time, and no shorter than its samples add up to.
			sum := 0.0
			for _, s := range tm.Samples {
				sum += s
			}
			if tel.WindowSeconds < sum*0.99 || tel.WindowSeconds > c.Seconds {
				t.Errorf("%s %s: window %v s; samples add to %v s, the call took %v s", c.CellKey, tm.Name, tel.WindowSeconds, sum, c.Seconds)
			}
			power := 412.5
			if throttled {
				power = 699
			}
			if tel.PowerMedianW != power || tel.EnergyFrom != "counter" {
				t.Errorf("%s %s: power %v W, energy from %q", c.CellKey, tm.Name, tel.PowerMedianW, tel.EnergyFrom)
			}
			// The fake's counter integrates its power: energy ≈ P × window.
			if want := power * tel.WindowSeconds; tel.EnergyJ < 0.8*want || tel.EnergyJ > 1.2*want+0.01 {
				t.Errorf("%s %s: %v J over %v s at %v W", c.CellKey, tm.Name, tel.EnergyJ, tel.WindowSeconds, power)
			}
			items := float64(len(tm.Samples) * tm.Batch)
			if d := tel.JoulesPerItem - tel.EnergyJ/items; d > 1e-12 || d < -1e-12 {
				t.Errorf("%s %s: %v J/item, want %v / %v", c.CellKey, tm.Name, tel.JoulesPerItem, tel.EnergyJ, items)
			}
			if (tm.Name == pluginapi.TimingTrainStep) != (tel.JoulesPerStep > 0) {
				t.Errorf("%s %s: J/step %v", c.CellKey, tm.Name, tel.JoulesPerStep)
			}
			if tel.ProcessMemoryMaxBytes != 64<<20 || tel.MemoryUsedMaxBytes != 2<<30 {
				t.Errorf("%s %s: the plugin's processes held %d bytes of the device's %d, want 64 MiB of 2 GiB (notes %q)", c.CellKey, tm.Name, tel.ProcessMemoryMaxBytes, tel.MemoryUsedMaxBytes, tel.Notes)
			}
			if throttled && (tm.ThrottleText() != "throttled (sw_power_cap, hw_slowdown)" || tel.SMClockMedianMHz != 1410) {
				t.Errorf("%s %s: %q at %v MHz", c.CellKey, tm.Name, tm.ThrottleText(), tel.SMClockMedianMHz)
			}
		}
	}
	status := map[string]matrix.PreflightStatus{}
	for _, p := range run.Preflight {
		status[p.Device+" "+p.Name] = p.Status
	}
	for k, want := range map[string]matrix.PreflightStatus{
		"host nvml": matrix.PreflightOK, "host gpu_count": matrix.PreflightOK,
		"gpu:0 pcie_link": matrix.PreflightOK, "gpu:1 pcie_link": matrix.PreflightWarn,
		"gpu:0 ecc_uncorrected": matrix.PreflightOK, "gpu:1 ecc_uncorrected": matrix.PreflightBad,
	} {
		if status[k] != want {
			t.Errorf("preflight %s = %q, want %s", k, status[k], want)
		}
	}
	// A preflight problem is never a cell's: every cell passed above.
}

// A plugin that reports no window: the samples cover the whole call, and
// no energy is given per item (it is not the series' alone).
func TestTelemetryWithoutWindows(t *testing.T) {
	run := mockGPURun(t, "nowindow")
	for _, c := range run.Cells {
		for _, tm := range c.Timings {
			if tm.Telemetry == nil || tm.Telemetry.Window != matrix.WindowCall || tm.Telemetry.JoulesPerItem != 0 || tm.Telemetry.EnergyJ <= 0 {
				t.Errorf("%s %s: %+v", c.CellKey, tm.Name, tm.Telemetry)
			}
		}
	}
}

// TestMockH200Report renders the mock-H200 run as HTML and looks at it
// in headless Chromium: the throttled GPU, its telemetry and its
// preflight problems are on the page, and a screenshot is kept
// ($DLCOMPAT_SCREENSHOT_DIR, as the renderers' own Chromium test does;
// docs/report-telemetry.png is one).
func TestMockH200Report(t *testing.T) {
	run := mockGPURun(t, "")
	page := filepath.Join(t.TempDir(), "report.html")
	if err := matrix.WriteFileAtomic(page, func(w io.Writer) error { return render.WriteHTML(w, run) }); err != nil {
		t.Fatal(err)
	}
	dom := string(testenv.Chromium(t, "--dump-dom", "file://"+page))
	for _, want := range []string{`id="telemetry"`, `id="preflight"`, "THROTTLED (sw_power_cap, hw_slowdown)", "trained down from x16",
		"2 volatile uncorrected ECC errors", "NVIDIA H200 141GB HBM3e", "VBIOS 96.00.A5.00.01", "J/item", "dlcompat run --config gpu.yaml --frameworks oracle"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	testenv.Screenshot(t, "report-telemetry.png", 1400, 2200, page)
}
