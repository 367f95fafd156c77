package device

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
)

func amdInventory(t *testing.T, fixture string) Inventory {
	t.Helper()
	inv := Inventory{Devices: []matrix.Device{{ID: CPUID, Kind: matrix.KindCPU, Name: "test CPU"}}}
	AddAMD(&inv, filepath.Join("..", "..", "testdata", "sysfs", fixture))
	return inv
}

// The recorded trees' inventories, as `dlcompat devices` prints them.
func TestAMDInventoryText(t *testing.T) {
	for _, f := range []string{"amd-mi300x", "amd-rx7900xtx"} {
		var buf bytes.Buffer
		if err := WriteText(&buf, amdInventory(t, f)); err != nil {
			t.Fatal(err)
		}
		golden(t, f+".golden", buf.Bytes())
	}
}

func TestSelectROCm(t *testing.T) {
	inv := amdInventory(t, "amd-mi300x")
	check := func(spec string, want ...string) {
		t.Helper()
		got, err := inv.Select(spec)
		if err != nil {
			t.Fatalf("Select(%q): %v", spec, err)
		}
		var ids []string
		for _, d := range got {
			ids = append(ids, d.ID)
		}
		if strings.Join(ids, ",") != strings.Join(want, ",") {
			t.Errorf("Select(%q) = %v, want %v", spec, ids, want)
		}
	}
	check("rocm", "rocm:0", "rocm:1")
	check("all", "cpu", "rocm:0", "rocm:1")
	check("ROCM:1, cpu", "cpu", "rocm:1")
	if _, err := inv.Select("rocm:2"); !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), "all, rocm, or a comma list of the device ids cpu, rocm:0, rocm:1") {
		t.Errorf("rocm:2: %v", err)
	}

	none := amdInventory(t, "does-not-exist")
	for _, spec := range []string{"rocm", "rocm:0"} {
		_, err := none.Select(spec)
		if !errors.Is(err, ErrNoGPU) || !strings.Contains(err.Error(), "amdgpu driver is not loaded") {
			t.Errorf("Select(%q) without AMD GPUs: %v; want ErrNoGPU saying why", spec, err)
		}
	}
	if len(none.Notes) != 0 {
		t.Errorf("a machine without the amdgpu driver got notes %q", none.Notes)
	}
	bad := amdInventory(t, "amd-malformed")
	if len(bad.Notes) != 1 || !strings.Contains(bad.Notes[0], filepath.Join("nodes", "1", "properties")+" line 3") {
		t.Errorf("a malformed topology: notes %q, want one naming the file and line", bad.Notes)
	}
}

func TestSummaryROCm(t *testing.T) {
	d := amdInventory(t, "amd-rx7900xtx").Devices[1]
	want := "rocm:0 AMD Radeon RX 7900 XTX (gfx1100, 96 CUs, 24.0 GiB, 0000:03:00.0, 16.0 GT/s PCIe x16)"
	if got := Summary(d); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}
