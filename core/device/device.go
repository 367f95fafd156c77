package device

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// CPUID is the ID of the host CPU, the first device of every inventory.
const CPUID = "cpu"

// Inventory is the devices of this machine.
type Inventory struct {
	// Devices holds the CPU first, then the NVIDIA GPUs by NVML index,
	// then the AMD GPUs by ROCm index.
	Devices []matrix.Device `json:"devices"`
	// Notes are run-level problems, such as why there is no GPU and how to
	// fix it.
	Notes []string `json:"notes,omitempty"`
	// noAMD says why there is no AMD GPU, for a spec that asks for one.
	noAMD string
}

// Errors returned by [Inventory.Select].
var (
	// ErrUnknownDevice means a device spec names an ID the inventory lacks.
	ErrUnknownDevice = errors.New("unknown device")
	// ErrNoGPU means a device spec asks for "gpu" but no GPU was detected.
	ErrNoGPU = errors.New("no GPU detected")
	// ErrBadSpec means a device spec is empty or has an empty element.
	ErrBadSpec = errors.New("bad device spec")
)

// Summary returns the device on one line, for logs and messages.
func Summary(d matrix.Device) string {
	var parts []string
	if d.Kind == matrix.KindCPU {
		if d.Cores > 0 {
			parts = append(parts, fmt.Sprintf("%d logical cores", d.Cores))
		}
		if d.MemoryTotalBytes > 0 {
			parts = append(parts, formatBytes(d.MemoryTotalBytes))
		}
	} else if d.Kind == matrix.KindROCm {
		for _, p := range []string{d.GFXTarget, plural(d.ComputeUnits, "CUs"), bytesOrEmpty(d.MemoryTotalBytes), d.PCIBusID, link(d)} {
			if p != "" {
				parts = append(parts, p)
			}
		}
	} else {
		if d.Architecture != "" {
			parts = append(parts, d.Architecture)
		}
		if d.ComputeCapability != "" {
			parts = append(parts, "compute "+d.ComputeCapability)
		}
		if d.MemoryTotalBytes > 0 {
			parts = append(parts, formatBytes(d.MemoryTotalBytes))
		}
		if d.TheoreticalBandwidthGBs > 0 {
			parts = append(parts, fmt.Sprintf("%.0f GB/s", d.TheoreticalBandwidthGBs))
		}
		if d.MIGMode == "enabled" {
			parts = append(parts, "MIG enabled")
		}
		if d.DriverVersion != "" {
			parts = append(parts, "driver "+d.DriverVersion)
		}
		if d.CUDADriverVersion != "" {
			parts = append(parts, "CUDA "+d.CUDADriverVersion)
		}
	}
	name := d.Name
	if name == "" {
		name = "unknown " + string(d.Kind)
	}
	s := d.ID + " " + name
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, ", ") + ")"
	}
	return s
}

// Find returns the device with the given ID.
func (inv Inventory) Find(id string) (matrix.Device, bool) {
	for _, d := range inv.Devices {
		if d.ID == id {
			return d, true
		}
	}
	return matrix.Device{}, false
}

// Select returns the devices a spec names, in inventory order (CPU first,
// then GPUs by index), each once. The spec is "all", "cpu", "gpu" (every
// NVIDIA GPU), "rocm" (every AMD GPU) or a comma-separated list of those
// words and device IDs, such as "cpu,gpu:0,gpu:3,rocm:1"; case and spaces
// around elements are ignored.
//
// An ID the inventory lacks is an [ErrUnknownDevice] error listing the valid
// IDs; "gpu", or a gpu:N, without any GPU is an [ErrNoGPU] error carrying
// the inventory's notes, which say why; an empty spec or element is
// [ErrBadSpec].
func (inv Inventory) Select(spec string) ([]matrix.Device, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("%w: empty; want %s", ErrBadSpec, inv.validSpecs())
	}
	want := make(map[string]bool)
	for _, elem := range strings.Split(spec, ",") {
		elem = strings.ToLower(strings.TrimSpace(elem))
		switch elem {
		case "":
			return nil, fmt.Errorf("%w: %q has an empty element; want %s", ErrBadSpec, spec, inv.validSpecs())
		case "all":
			for _, d := range inv.Devices {
				want[d.ID] = true
			}
		case string(matrix.KindGPU):
			n := 0
			for _, d := range inv.Devices {
				if d.Kind == matrix.KindGPU {
					want[d.ID] = true
					n++
				}
			}
			if n == 0 {
				return nil, inv.noGPU(spec)
			}
		case matrix.KindROCm:
			n := 0
			for _, d := range inv.Devices {
				if d.Kind == matrix.KindROCm {
					want[d.ID] = true
					n++
				}
			}
			if n == 0 {
				return nil, inv.noROCm(spec)
			}
		default:
			if _, ok := inv.Find(elem); !ok {
				if strings.HasPrefix(elem, string(matrix.KindGPU)+":") && !inv.hasGPU() {
					return nil, inv.noGPU(spec) // say why there is none, not just which ids exist
				}
				if strings.HasPrefix(elem, matrix.KindROCm+":") && !inv.hasKind(matrix.KindROCm) {
					return nil, inv.noROCm(spec)
				}
				return nil, fmt.Errorf("device spec %q: %w %q; want %s", spec, ErrUnknownDevice, elem, inv.validSpecs())
			}
			want[elem] = true
		}
	}
	var out []matrix.Device
	for _, d := range inv.Devices {
		if want[d.ID] {
			out = append(out, d)
			delete(want, d.ID) // each once, even if IDs repeat
		}
	}
	return out, nil
}

// noGPU is the error for a spec that asks for a GPU where NVML found
// none, with NVML's reason.
func (inv Inventory) noGPU(spec string) error {
	err := fmt.Errorf("device spec %q: %w", spec, ErrNoGPU)
	if len(inv.Notes) > 0 {
		err = fmt.Errorf("%w: %s", err, strings.Join(inv.Notes, "; "))
	}
	return err
}

// noROCm is the error for a spec that asks for an AMD GPU where sysfs
// shows none, with the reason.
func (inv Inventory) noROCm(spec string) error {
	err := fmt.Errorf("device spec %q: %w: no AMD GPU", spec, ErrNoGPU)
	if inv.noAMD != "" {
		err = fmt.Errorf("device spec %q: %w: %s", spec, ErrNoGPU, inv.noAMD)
	}
	return err
}

func (inv Inventory) hasGPU() bool { return inv.hasKind(matrix.KindGPU) }

func (inv Inventory) hasKind(kind string) bool {
	for _, d := range inv.Devices {
		if d.Kind == kind {
			return true
		}
	}
	return false
}

// validSpecs lists what Select accepts, for error messages.
func (inv Inventory) validSpecs() string {
	words := []string{"all"}
	ids := make([]string, 0, len(inv.Devices))
	for _, d := range inv.Devices {
		ids = append(ids, d.ID)
	}
	if inv.hasGPU() {
		words = append(words, "gpu")
	}
	if inv.hasKind(matrix.KindROCm) {
		words = append(words, matrix.KindROCm)
	}
	return fmt.Sprintf("%s, or a comma list of the device ids %s", strings.Join(words, ", "), strings.Join(ids, ", "))
}

// formatBytes renders a memory size in GiB with one decimal.
func formatBytes(b uint64) string {
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// driverString renders the driver and CUDA driver versions together.
func driverString(d matrix.Device) string {
	switch {
	case d.DriverVersion != "" && d.CUDADriverVersion != "":
		return d.DriverVersion + " (CUDA " + d.CUDADriverVersion + ")"
	case d.CUDADriverVersion != "":
		return "CUDA " + d.CUDADriverVersion
	}
	return d.DriverVersion
}

func plural(n int, unit string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d %s", n, unit)
}

func bytesOrEmpty(b uint64) string {
	if b == 0 {
		return ""
	}
	return formatBytes(b)
}

// link renders a PCIe link ("32.0 GT/s PCIe x16").
func link(d matrix.Device) string {
	switch {
	case d.PCIeLinkSpeed != "" && d.PCIeLinkWidth > 0:
		return fmt.Sprintf("%s x%d", d.PCIeLinkSpeed, d.PCIeLinkWidth)
	case d.PCIeLinkSpeed != "":
		return d.PCIeLinkSpeed
	}
	return ""
}
