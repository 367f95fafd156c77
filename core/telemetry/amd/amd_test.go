package amd

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	devamd "github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/matrix"
)

func TestSampleFixtures(t *testing.T) {
	for _, tc := range []struct {
		fixture                  string
		power, sclk, mclk, tempC float64
		mem                      int64
	}{
		{"amd-mi300x", 139, 132, 1300, 38, 297611264},
		{"amd-rx7900xtx", 58, 1535, 1249, 52, 1048576},
	} {
		root := filepath.Join("..", "..", "..", "testdata", "sysfs", tc.fixture)
		devs, _, err := devamd.Detect(root)
		if err != nil {
			t.Fatal(err)
		}
		s := New(root)
		if _, ok := s.Source(matrix.Device{ID: "gpu:0", Kind: matrix.KindGPU}); ok {
			t.Error("an NVIDIA GPU got an AMD source")
		}
		src, ok := s.Source(devs[0])
		if !ok {
			t.Fatalf("%s: no source for %s", tc.fixture, devs[0].ID)
		}
		got := src.Sample()
		if got.PowerW != tc.power || got.SMClockMHz != tc.sclk || got.MemClockMHz != tc.mclk || got.TempC != tc.tempC ||
			got.MemUsedBytes != tc.mem || got.EnergyMJ != -1 || got.ReasonsKnown || len(got.Notes) > 0 {
			t.Errorf("%s: %+v", tc.fixture, got)
		}
	}
}

func TestSampleNotesOnce(t *testing.T) {
	root := t.TempDir()
	d := matrix.Device{ID: "rocm:0", Kind: matrix.KindROCm, PCIBusID: "0000:03:00.0"}
	if _, ok := New(root).Source(d); ok {
		t.Error("a GPU whose PCI device is not under the root got a source")
	}
	if err := os.MkdirAll(devamd.PCIDir(root, d.PCIBusID), 0o755); err != nil {
		t.Fatal(err)
	}
	src, _ := New(root).Source(d)
	first, second := src.Sample(), src.Sample()
	if !math.IsNaN(first.PowerW) || len(first.Notes) == 0 || len(second.Notes) != 0 {
		t.Errorf("first %+v, second %+v: want unknown figures, their notes once", first, second)
	}
}

// Joined with another sampler, an AMD GPU still gets its sysfs source.
func TestJoined(t *testing.T) {
	root := filepath.Join("..", "..", "..", "testdata", "sysfs", "amd-rx7900xtx")
	devs, _, _ := devamd.Detect(root)
	j := telemetry.Join(New(t.TempDir()), New(root))
	if j.Name() != "sysfs+sysfs" {
		t.Errorf("name %q", j.Name())
	}
	src, ok := j.Source(devs[0])
	if !ok || src.Sample().PowerW != 58 {
		t.Errorf("joined source: %v", ok)
	}
	if err := j.Close(); err != nil {
		t.Error(err)
	}
}

// Given the plugin's PIDs, a sample carries the VRAM they hold (KFD per
// process), and without them none is read.
func TestSampleProcesses(t *testing.T) {
	root := filepath.Join("..", "..", "..", "testdata", "sysfs", "amd-mi300x")
	devs, _, err := devamd.Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := New(root).Source(devs[0])
	ps, ok := src.(telemetry.ProcessSource)
	if !ok {
		t.Fatalf("%T reads no process memory", src)
	}
	if got := ps.SampleProcesses([]int{4242, 4243}); got.ProcessMemBytes != 2<<30+256<<20 || len(got.Notes) > 0 {
		t.Errorf("the plugin's VRAM: %d (notes %q), want 2.25 GiB", got.ProcessMemBytes, got.Notes)
	}
	if got := src.Sample(); got.ProcessMemBytes != -1 {
		t.Errorf("no PIDs: %d, want unknown", got.ProcessMemBytes)
	}
}
