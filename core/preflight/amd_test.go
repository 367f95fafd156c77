package preflight

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/matrix"
)

// fixture is a recorded sysfs tree of testdata/sysfs.
func fixture(name string) string {
	return filepath.Join("..", "..", "testdata", "sysfs", name)
}

// copyFixture copies a recorded sysfs tree to a temporary root the test
// may break.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(fixture(name))); err != nil {
		t.Fatal(err)
	}
	return root
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func amdPreflight(t *testing.T, root string) []matrix.PreflightCheck {
	t.Helper()
	gpus, _, err := amd.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	return AMD(context.Background(), append([]matrix.Device{{ID: "cpu", Kind: matrix.KindCPU}}, gpus...), Options{SysRoot: root})
}

func TestAMDHealthyMI300X(t *testing.T) {
	checks := amdPreflight(t, fixture("amd-mi300x"))
	for _, c := range checks {
		if c.Status != matrix.PreflightOK {
			t.Errorf("%s %s: %s %s; want ok on a healthy MI300X", c.Device, c.Name, c.Status, c.Detail)
		}
	}
	if got, want := len(checks), 2+2*4; got != want {
		t.Errorf("%d checks, want %d (2 host, 4 per GPU, none for the CPU): %+v", got, want, checks)
	}
	if c := statusOf(t, checks, "rocm:1", CheckPCIe); c.Detail != "Gen5 x16" {
		t.Errorf("PCIe detail %q", c.Detail)
	}
	if c := statusOf(t, checks, matrix.PreflightHost, CheckAMDGPUCount); c.Detail != "2 on the PCI bus, 2 in KFD" {
		t.Errorf("count detail %q", c.Detail)
	}
	if c := statusOf(t, checks, "rocm:0", CheckECCErrors); c.Detail != "0 uncorrectable memory errors (0 correctable)" {
		t.Errorf("ECC detail %q", c.Detail)
	}
}

func TestAMDRadeonHasNoRAS(t *testing.T) {
	checks := amdPreflight(t, fixture("amd-rx7900xtx"))
	if c := statusOf(t, checks, "rocm:0", CheckPCIe); c.Status != matrix.PreflightOK || c.Detail != "Gen4 x16" {
		t.Errorf("PCIe %s %q, want ok Gen4 x16", c.Status, c.Detail)
	}
	for _, name := range []string{CheckECCMode, CheckRetired} {
		if c := statusOf(t, checks, "rocm:0", name); c.Status != matrix.PreflightNA {
			t.Errorf("%s: %s %q, want n/a on a board without RAS", name, c.Status, c.Detail)
		}
	}
	for _, c := range checks {
		if c.Name == CheckECCErrors {
			t.Errorf("ECC errors asked of a board without RAS: %+v", c)
		}
	}
}

func TestAMDProblemsShow(t *testing.T) {
	root := copyFixture(t, "amd-mi300x")
	gpu0 := amd.PCIDir(root, "0000:05:00.0")
	gpu1 := amd.PCIDir(root, "0000:27:00.0")
	write(t, filepath.Join(gpu0, "ras", "umc_err_count"), "ue: 2\nce: 7\n")
	write(t, filepath.Join(gpu1, "current_link_width"), "8\n")
	write(t, filepath.Join(gpu1, "ras", "gpu_vram_bad_pages"), "0x00000001 : 0x00001000 : R\n0x00000002 : 0x00001000 : P\n")
	// A third MI300X on the bus that KFD does not list (bound to vfio).
	write(t, filepath.Join(amd.PCIDir(root, "0000:45:00.0"), "vendor"), "0x1002\n")
	write(t, filepath.Join(amd.PCIDir(root, "0000:45:00.0"), "class"), "0x120000\n")
	checks := amdPreflight(t, root)

	for _, want := range []struct {
		dev, name string
		status    matrix.PreflightStatus
		detail    string
	}{
		{matrix.PreflightHost, CheckAMDGPUCount, matrix.PreflightBad, "3 AMD GPUs on the PCI bus, 2 in KFD"},
		{"rocm:0", CheckECCErrors, matrix.PreflightBad, "2 uncorrectable memory errors since the driver loaded (7 correctable)"},
		{"rocm:1", CheckPCIe, matrix.PreflightWarn, "Gen5 x8, trained down from x16"},
		{"rocm:1", CheckRetired, matrix.PreflightBad, "1 bad page pending retirement: reset the GPU to retire them (1 retired)"},
		{"rocm:0", CheckPCIe, matrix.PreflightOK, "Gen5 x16"},
	} {
		c := statusOf(t, checks, want.dev, want.name)
		if c.Status != want.status || !strings.HasPrefix(c.Detail, want.detail) {
			t.Errorf("%s %s: %s %q, want %s %q…", want.dev, want.name, c.Status, c.Detail, want.status, want.detail)
		}
	}
}

// A file the driver wrote but that cannot be parsed is a check that could
// not be made (warn, naming the file), never a healthy one or an error.
func TestAMDUnreadableFilesWarn(t *testing.T) {
	root := copyFixture(t, "amd-mi300x")
	gpu0 := amd.PCIDir(root, "0000:05:00.0")
	gpu1 := amd.PCIDir(root, "0000:27:00.0")
	write(t, filepath.Join(gpu0, "current_link_speed"), "Unknown\n")
	write(t, filepath.Join(gpu0, "ras", "umc_err_count"), "ue 2\n")
	write(t, filepath.Join(gpu1, "ras", "features"), "feature mask: 0x3ffe\n")
	os.Remove(filepath.Join(gpu1, "max_link_width"))
	checks := amdPreflight(t, root)

	if c := statusOf(t, checks, "rocm:0", CheckPCIe); c.Status != matrix.PreflightWarn || !strings.Contains(c.Detail, "current_link_speed") {
		t.Errorf("an Unknown link: %s %q, want warn naming the file", c.Status, c.Detail)
	}
	if c := statusOf(t, checks, "rocm:0", CheckECCErrors); c.Status != matrix.PreflightWarn || !strings.Contains(c.Detail, "umc_err_count line 1") {
		t.Errorf("a malformed count: %s %q, want warn naming the file and line", c.Status, c.Detail)
	}
	if c := statusOf(t, checks, "rocm:1", CheckECCMode); c.Status != matrix.PreflightWarn || !strings.Contains(c.Detail, "0x3ffe") {
		t.Errorf("UMC RAS off: %s %q, want warn", c.Status, c.Detail)
	}
	if c := statusOf(t, checks, "rocm:1", CheckPCIe); c.Status != matrix.PreflightNA || !strings.Contains(c.Detail, "max_link_width") {
		t.Errorf("no max_link_width: %s %q, want n/a naming it", c.Status, c.Detail)
	}
	for _, c := range checks {
		if c.Device == "rocm:1" && c.Name == CheckECCErrors {
			t.Errorf("ECC errors asked with the memory controller's RAS off: %+v", c)
		}
	}
}

func TestAMDWithoutKFD(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "bus", "pci", "devices", "0000:00:02.0", "vendor"), "0x8086\n")
	write(t, filepath.Join(root, "bus", "pci", "devices", "0000:00:02.0", "class"), "0x030000\n")
	// AMD's audio function of a GPU is not a GPU.
	write(t, filepath.Join(root, "bus", "pci", "devices", "0000:03:00.1", "vendor"), "0x1002\n")
	write(t, filepath.Join(root, "bus", "pci", "devices", "0000:03:00.1", "class"), "0x040300\n")
	checks := AMD(context.Background(), nil, Options{SysRoot: root})
	if len(checks) != 1 || checks[0].Name != CheckKFD || checks[0].Status != matrix.PreflightNA {
		t.Fatalf("no AMD GPU: %+v, want one n/a kfd check", checks)
	}

	write(t, filepath.Join(root, "bus", "pci", "devices", "0000:03:00.0", "vendor"), "0x1002\n")
	write(t, filepath.Join(root, "bus", "pci", "devices", "0000:03:00.0", "class"), "0x030000\n")
	checks = AMD(context.Background(), nil, Options{SysRoot: root})
	if len(checks) != 1 || checks[0].Status != matrix.PreflightBad || !strings.Contains(checks[0].Detail, "1 AMD GPU on the PCI bus: load the amdgpu driver") {
		t.Fatalf("an AMD GPU without its driver: %+v, want bad, saying to load amdgpu", checks)
	}
}

func TestAMDMalformedTopologyIsBad(t *testing.T) {
	checks := AMD(context.Background(), nil, Options{SysRoot: fixture("amd-malformed")})
	if len(checks) != 1 || checks[0].Status != matrix.PreflightBad || !strings.Contains(checks[0].Detail, "properties line") {
		t.Fatalf("%+v, want one bad kfd check naming the file and line", checks)
	}
}
