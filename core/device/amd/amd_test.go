package amd

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
)

func fixture(name string) string { return filepath.Join("..", "..", "..", "testdata", "sysfs", name) }

func TestDetectMI300X(t *testing.T) {
	devs, notes, err := Detect(fixture("amd-mi300x"))
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) > 0 {
		t.Errorf("notes: %q", notes)
	}
	want := []matrix.Device{
		{ID: "rocm:0", Kind: matrix.KindROCm, Name: "AMD Instinct MI300X", Brand: "AMD", UUID: "GPU-e3aa140f9a5f9e31",
			PCIBusID: "0000:05:00.0", GFXTarget: "gfx942", ComputeUnits: 304, PCIVendorID: "0x1002", PCIDeviceID: "0x74a1", PCIRevision: "0x00",
			PCIeLinkSpeed: "32.0 GT/s PCIe", PCIeLinkWidth: 16, RenderNode: "/dev/dri/renderD128", MemoryTotalBytes: 206141652992, MaxSMClockMHz: 2100},
		{ID: "rocm:1", Kind: matrix.KindROCm, Name: "AMD Instinct MI300X", Brand: "AMD", UUID: "GPU-2250f807caf2231a",
			PCIBusID: "0000:27:00.0", GFXTarget: "gfx942", ComputeUnits: 304, PCIVendorID: "0x1002", PCIDeviceID: "0x74a1", PCIRevision: "0x00",
			PCIeLinkSpeed: "32.0 GT/s PCIe", PCIeLinkWidth: 16, RenderNode: "/dev/dri/renderD129", MemoryTotalBytes: 206141652992, MaxSMClockMHz: 2100},
	}
	if !reflect.DeepEqual(devs, want) {
		t.Errorf("got  %+v\nwant %+v", devs, want)
	}
}

func TestDetectRX7900XTX(t *testing.T) {
	devs, notes, err := Detect(fixture("amd-rx7900xtx"))
	if err != nil || len(notes) > 0 {
		t.Fatalf("err %v, notes %q", err, notes)
	}
	if len(devs) != 1 {
		t.Fatalf("%d devices, want 1 (node 0 is the CPU): %+v", len(devs), devs)
	}
	d := devs[0]
	if d.ID != "rocm:0" || d.Name != "AMD Radeon RX 7900 XTX" || d.GFXTarget != "gfx1100" || d.ComputeUnits != 96 ||
		d.MemoryTotalBytes != 25753026560 || d.PCIBusID != "0000:03:00.0" || d.RenderNode != "/dev/dri/renderD128" ||
		d.PCIeLinkSpeed != "16.0 GT/s PCIe" || d.PCIRevision != "0xc8" || d.MaxSMClockMHz != 2482 {
		t.Errorf("got %+v", d)
	}
}

func TestDetectErrors(t *testing.T) {
	_, _, err := Detect(t.TempDir())
	if !errors.Is(err, ErrNoKFD) || !strings.Contains(err.Error(), "amdgpu driver is not loaded") {
		t.Errorf("no KFD: %v", err)
	}
	_, _, err = Detect(fixture("amd-malformed"))
	if err == nil || !strings.Contains(err.Error(), filepath.Join("nodes", "1", "properties")+" line 3") ||
		!strings.Contains(err.Error(), "gfx_target_version gfx1100") {
		t.Errorf("malformed: %v; want the file, the line and its text", err)
	}
}

func TestGFXTarget(t *testing.T) {
	for v, want := range map[uint64]string{90402: "gfx942", 110000: "gfx1100", 90010: "gfx90a", 90008: "gfx908", 120001: "gfx1201", 0: ""} {
		if got := GFXTarget(v); got != want {
			t.Errorf("GFXTarget(%d) = %q, want %q", v, got, want)
		}
	}
}

func TestTelemetry(t *testing.T) {
	for _, tc := range []struct {
		fixture          string
		dev              int
		power, sclk, mcl float64
		vram             int64
		temps            map[string]float64
	}{
		{"amd-mi300x", 1, 141, 132, 1300, 297623552, map[string]float64{"junction": 40, "mem": 33}},
		{"amd-rx7900xtx", 0, 58, 1535, 1249, 1048576, map[string]float64{"edge": 45, "junction": 52, "mem": 50}},
	} {
		root := fixture(tc.fixture)
		devs, _, err := Detect(root)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ReadTelemetry(root, devs[tc.dev])
		if err != nil {
			t.Fatal(err)
		}
		if s.PowerW != tc.power || s.SCLKMHz != tc.sclk || s.MCLKMHz != tc.mcl || s.VRAMUsedBytes != tc.vram ||
			!reflect.DeepEqual(s.TempC, tc.temps) || len(s.Notes) > 0 {
			t.Errorf("%s %s: got %+v", tc.fixture, devs[tc.dev].ID, s)
		}
		if m := s.MaxTempC(); m != tc.temps["junction"] {
			t.Errorf("max temperature %v", m)
		}
	}
}

func TestTelemetryMissingAndMalformed(t *testing.T) {
	d := matrix.Device{ID: "rocm:0", Kind: matrix.KindROCm, PCIBusID: "0000:03:00.0"}
	s, err := ReadTelemetry(t.TempDir(), d)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(s.PowerW) || !math.IsNaN(s.SCLKMHz) || s.VRAMUsedBytes != -1 || len(s.Notes) != 4 {
		t.Errorf("an empty tree: %+v, want every figure unknown and 4 notes", s)
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(PCIDir(root, d.PCIBusID), "pp_dpm_sclk"), "0: 500Mhz\n1: fast *\n")
	if _, err := ReadTelemetry(root, d); err == nil || !strings.Contains(err.Error(), "pp_dpm_sclk line 2") {
		t.Errorf("malformed clock: %v", err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// A process's VRAM is KFD's figure for that GPU: the plugin's two
// processes on rocm:0, not another user's, nothing on rocm:1.
func TestProcessVRAM(t *testing.T) {
	root := fixture("amd-mi300x")
	devs, _, err := Detect(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dev  int
		id   string
		pids []int
		want int64
	}{
		{0, "45780", []int{4242, 4243, 31337}, 2<<30 + 256<<20},
		{1, "13575", []int{4242, 4243}, 0},
	} {
		id, err := GPUID(root, devs[tc.dev])
		if err != nil || id != tc.id {
			t.Fatalf("%s: gpu_id %q (%v), want %s", devs[tc.dev].ID, id, err, tc.id)
		}
		got, err := ProcessVRAM(root, id, tc.pids)
		if err != nil || got != tc.want {
			t.Errorf("%s: %d bytes (%v), want %d", devs[tc.dev].ID, got, err, tc.want)
		}
	}
	bad := t.TempDir()
	os.MkdirAll(filepath.Join(ProcDir(bad), "5"), 0o755)
	os.WriteFile(filepath.Join(ProcDir(bad), "5", "vram_1"), []byte("lots\n"), 0o644)
	if _, err := ProcessVRAM(bad, "1", []int{5}); err == nil || !strings.Contains(err.Error(), "vram_1") {
		t.Errorf("an unparsable vram file: %v, want an error naming it", err)
	}
}

// Every kernel spelling of a PCIe rate reads as its generation; a link
// that is down ("Unknown") is an error naming the file.
func TestReadLink(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) { os.WriteFile(filepath.Join(dir, name), []byte(v+"\n"), 0o644) }
	write("current_link_width", "16")
	write("max_link_width", "16")
	for speed, gen := range map[string]int{"2.5 GT/s PCIe": 1, "8 GT/s": 3, "16.0 GT/s PCIe": 4, "64.0 GT/s PCIe": 6} {
		write("current_link_speed", speed)
		write("max_link_speed", speed)
		l, err := ReadLink(dir)
		if err != nil || l.Gen != gen || l.MaxGen != gen || l.Width != 16 {
			t.Errorf("%q: %+v (%v), want Gen%d x16", speed, l, err, gen)
		}
	}
	write("current_link_speed", "Unknown")
	if _, err := ReadLink(dir); err == nil || !strings.Contains(err.Error(), "current_link_speed") {
		t.Errorf("a link that is down: %v, want an error naming current_link_speed", err)
	}
	os.Remove(filepath.Join(dir, "max_link_width"))
	write("current_link_speed", "8 GT/s")
	if _, err := ReadLink(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no max_link_width: %v, want os.ErrNotExist", err)
	}
}
