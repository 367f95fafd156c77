package preflight

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"

	"github.com/dlcompat/dlcompat/core/device"
	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/internal/nvmlfake"
	"github.com/dlcompat/dlcompat/matrix"
)

// pciTree writes a sysfs root whose PCI bus has gpus NVIDIA GPUs (and,
// beside them, what must not count: each GPU's audio function, an
// NVSwitch, an Intel VGA device).
func pciTree(t *testing.T, gpus int) string {
	t.Helper()
	root := t.TempDir()
	dev := func(addr, vendor, class string) {
		d := amd.PCIDir(root, addr)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "vendor"), []byte(vendor+"\n"), 0o644)
		os.WriteFile(filepath.Join(d, "class"), []byte(class+"\n"), 0o644)
	}
	for i := 0; i < gpus; i++ {
		dev(fmt.Sprintf("0000:%02x:00.0", i+0x18), "0x10de", "0x030200")
		dev(fmt.Sprintf("0000:%02x:00.1", i+0x18), "0x10de", "0x040300")
	}
	dev("0000:05:00.0", "0x10de", "0x068000")
	dev("0000:00:02.0", "0x8086", "0x030000")
	return root
}

func statusOf(t *testing.T, checks []matrix.PreflightCheck, dev, name string) matrix.PreflightCheck {
	t.Helper()
	for _, c := range checks {
		if c.Device == dev && c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check for %s in %+v", name, dev, checks)
	return matrix.PreflightCheck{}
}

func TestHealthyH200(t *testing.T) {
	srv, _ := nvmlfake.NewH200(nvmlfake.H200())
	inv := device.Detect(context.Background(), srv)
	checks := NVIDIA(context.Background(), srv, inv.Devices, Options{SysRoot: pciTree(t, 8)})
	for _, c := range checks {
		if c.Status != matrix.PreflightOK && c.Status != matrix.PreflightNA {
			t.Errorf("%s %s: %s %s; want ok on a healthy H200", c.Device, c.Name, c.Status, c.Detail)
		}
	}
	if got, want := len(checks), 2+8*7; got != want {
		t.Errorf("%d checks, want %d (2 host, 7 per GPU)", got, want)
	}
	if c := statusOf(t, checks, "gpu:3", CheckPCIe); c.Detail != "Gen5 x16" {
		t.Errorf("PCIe detail %q", c.Detail)
	}
	if c := statusOf(t, checks, matrix.PreflightHost, CheckGPUCount); c.Detail != "8 on the PCI bus, 8 in NVML" {
		t.Errorf("count detail %q", c.Detail)
	}
}

func TestProblemsShow(t *testing.T) {
	srv, gpus := nvmlfake.NewH200(nvmlfake.H200())
	gpus[1].Update(func(s *nvmlfake.State) { s.PCIeWidth = 8 })
	gpus[2].Update(func(s *nvmlfake.State) { s.VolatileUncorrected = 3 })
	gpus[3].Update(func(s *nvmlfake.State) { s.RowRemapPending = true })
	gpus[4].Update(func(s *nvmlfake.State) { s.Persistence, s.ECC = false, false })
	gpus[5].Update(func(s *nvmlfake.State) { s.PCIeGen = 1 })
	gpus[6].Device.MigMode = nvml.DEVICE_MIG_ENABLE
	inv := device.Detect(context.Background(), srv)
	checks := NVIDIA(context.Background(), srv, inv.Devices, Options{SysRoot: pciTree(t, 9)})
	for _, tc := range []struct {
		desc, dev, check string
		want             matrix.PreflightStatus
		has              string
	}{
		{"downtrained link", "gpu:1", CheckPCIe, matrix.PreflightWarn, "trained down from x16"},
		{"ECC error", "gpu:2", CheckECCErrors, matrix.PreflightBad, "3 volatile uncorrected"},
		{"pending row remap", "gpu:3", CheckRowRemap, matrix.PreflightBad, "pending"},
		{"persistence off", "gpu:4", CheckPersistence, matrix.PreflightWarn, "nvidia-smi -pm 1"},
		{"ECC off", "gpu:4", CheckECCMode, matrix.PreflightWarn, "disabled"},
		{"idle link generation", "gpu:5", CheckPCIe, matrix.PreflightWarn, "Gen1 x16 of Gen5 x16"},
		{"MIG on", "gpu:6", CheckMIG, matrix.PreflightWarn, "MIG instances"},
		{"a GPU NVML lost", matrix.PreflightHost, CheckGPUCount, matrix.PreflightBad, "9 NVIDIA GPUs on the PCI bus, NVML reports 8"},
		{"a clean one stays clean", "gpu:0", CheckPCIe, matrix.PreflightOK, "Gen5 x16"},
	} {
		c := statusOf(t, checks, tc.dev, tc.check)
		if c.Status != tc.want || !strings.Contains(c.Detail, tc.has) {
			t.Errorf("%s: %s %s = %s %q; want %s with %q", tc.desc, tc.dev, tc.check, c.Status, c.Detail, tc.want, tc.has)
		}
	}
	for _, c := range checks {
		if c.Device == "gpu:4" && c.Name == CheckECCErrors {
			t.Errorf("ECC off, yet its counters were judged: %+v", c)
		}
	}
}

func TestNoNVML(t *testing.T) {
	for _, tc := range []struct {
		desc string
		gpus int
		want matrix.PreflightStatus
	}{
		{"a CPU machine", 0, matrix.PreflightNA},
		{"GPUs without a driver", 2, matrix.PreflightBad},
	} {
		lib := &mock.Interface{InitFunc: func() nvml.Return { return nvml.ERROR_LIBRARY_NOT_FOUND }}
		checks := NVIDIA(context.Background(), lib, nil, Options{SysRoot: pciTree(t, tc.gpus)})
		if len(checks) != 1 || checks[0].Name != CheckNVML || checks[0].Status != tc.want {
			t.Errorf("%s: %+v; want one nvml check, %s", tc.desc, checks, tc.want)
		}
		if len(lib.ShutdownCalls()) != 0 {
			t.Errorf("%s: Shutdown after a failed Init", tc.desc)
		}
	}
}
