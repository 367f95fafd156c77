package device

import (
	"errors"
	"fmt"
	"strings"
)

// Kind is the kind of a device.
type Kind string

// Device kinds.
const (
	KindCPU Kind = "cpu"
	KindGPU Kind = "gpu"
)

// CPUID is the ID of the host CPU, the first device of every inventory.
const CPUID = "cpu"

// Device describes one device. A field left at its zero value is one that
// does not apply to the device or that could not be found out; in the latter
// case, unless NVML said the device does not support the query, Notes says
// why.
type Device struct {
	// ID is "cpu" or "gpu:N", N being the index NVML gives the GPU.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Name is the GPU's NVML name ("NVIDIA A100-SXM4-40GB") or the CPU's
	// model name from /proc/cpuinfo, runtime.GOARCH when that has none.
	Name string `json:"name"`
	// Brand is the GPU's product brand (GeForce, Quadro, Tesla, NVIDIA...).
	Brand string `json:"brand,omitempty"`
	// Architecture is the GPU's architecture ("Ampere", "Hopper"...).
	Architecture string `json:"architecture,omitempty"`
	UUID         string `json:"uuid,omitempty"`
	PCIBusID     string `json:"pci_bus_id,omitempty"`
	// MemoryTotalBytes is the GPU's memory, or for the CPU the host's
	// MemTotal from /proc/meminfo.
	MemoryTotalBytes   uint64 `json:"memory_total_bytes,omitempty"`
	MemoryBusWidthBits uint32 `json:"memory_bus_width_bits,omitempty"`
	MaxSMClockMHz      uint32 `json:"max_sm_clock_mhz,omitempty"`
	MaxMemClockMHz     uint32 `json:"max_mem_clock_mhz,omitempty"`
	// TheoreticalBandwidthGBs is the peak memory bandwidth in GB/s (10^9
	// bytes per second), computed as
	//
	//	MaxMemClockMHz × 10^6 × 2 × MemoryBusWidthBits / 8 / 10^9
	//
	// The factor 2 is for double data rate: NVML reports the memory clock
	// such that two transfers happen per cycle, for HBM and GDDR alike
	// (A100-SXM4-40GB: 1215 MHz × 2 × 5120 bits / 8 = 1555 GB/s). Zero when
	// either the clock or the bus width is unknown.
	TheoreticalBandwidthGBs float64 `json:"theoretical_bandwidth_gbs,omitempty"`
	// ComputeCapability is the CUDA compute capability, "major.minor".
	ComputeCapability string `json:"compute_capability,omitempty"`
	// MIGMode is "enabled", "disabled" or "unsupported" (current mode).
	MIGMode string `json:"mig_mode,omitempty"`
	// ECC is "enabled", "disabled" or "unsupported" (current mode).
	ECC string `json:"ecc,omitempty"`
	// PowerLimitW is the power limit the driver enforces, in watts.
	PowerLimitW float64 `json:"power_limit_w,omitempty"`
	// DriverVersion is the NVIDIA driver version ("550.54.15").
	DriverVersion string `json:"driver_version,omitempty"`
	// CUDADriverVersion is the CUDA version the driver supports ("12.4").
	CUDADriverVersion string `json:"cuda_driver_version,omitempty"`
	// Cores is, for the CPU, the number of logical cores this process may
	// use (runtime.NumCPU); 0 for a GPU.
	Cores int `json:"cores,omitempty"`
	// CUDACores is the GPU's number of CUDA cores (NVML GetNumGpuCores).
	CUDACores int `json:"cuda_cores,omitempty"`
	// PeakFP32GFLOPs is the GPU's FP32 peak in GFLOP/s (10^9 per second):
	//
	//	CUDACores × 2 × MaxSMClockMHz / 1000
	//
	// 2 for one fused multiply-add per core per clock. It is the peak of
	// the CUDA cores, the one that applies to the strict fp32 checks (TF32
	// off); tensor cores are not counted. An A100-SXM4 gives 6912 × 2 ×
	// 1410 MHz = 19,492 GFLOP/s, NVIDIA's 19.5 TFLOPS; an H100 SXM5 16896 ×
	// 2 × 1980 MHz = 66.9 TFLOPS. Zero when either input is unknown.
	PeakFP32GFLOPs float64 `json:"peak_fp32_gflops,omitempty"`
	// Notes are this device's problems: each names a field NVML could not
	// report and the NVML error.
	Notes []string `json:"notes,omitempty"`
}

// Inventory is the devices of this machine.
type Inventory struct {
	// Devices holds the CPU first, then the GPUs by NVML index.
	Devices []Device `json:"devices"`
	// Notes are run-level problems, such as why there is no GPU and how to
	// fix it.
	Notes []string `json:"notes,omitempty"`
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
func (d Device) Summary() string {
	var parts []string
	if d.Kind == KindCPU {
		if d.Cores > 0 {
			parts = append(parts, fmt.Sprintf("%d logical cores", d.Cores))
		}
		if d.MemoryTotalBytes > 0 {
			parts = append(parts, formatBytes(d.MemoryTotalBytes))
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
func (inv Inventory) Find(id string) (Device, bool) {
	for _, d := range inv.Devices {
		if d.ID == id {
			return d, true
		}
	}
	return Device{}, false
}

// Select returns the devices a spec names, in inventory order (CPU first,
// then GPUs by index), each once. The spec is "all", "cpu", "gpu" (every
// GPU) or a comma-separated list of those words and device IDs, such as
// "cpu,gpu:0,gpu:3"; case and spaces around elements are ignored.
//
// An ID the inventory lacks is an [ErrUnknownDevice] error listing the valid
// IDs; "gpu", or a gpu:N, without any GPU is an [ErrNoGPU] error carrying
// the inventory's notes, which say why; an empty spec or element is
// [ErrBadSpec].
func (inv Inventory) Select(spec string) ([]Device, error) {
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
		case string(KindGPU):
			n := 0
			for _, d := range inv.Devices {
				if d.Kind == KindGPU {
					want[d.ID] = true
					n++
				}
			}
			if n == 0 {
				return nil, inv.noGPU(spec)
			}
		default:
			if _, ok := inv.Find(elem); !ok {
				if strings.HasPrefix(elem, string(KindGPU)+":") && !inv.hasGPU() {
					return nil, inv.noGPU(spec) // say why there is none, not just which ids exist
				}
				return nil, fmt.Errorf("device spec %q: %w %q; want %s", spec, ErrUnknownDevice, elem, inv.validSpecs())
			}
			want[elem] = true
		}
	}
	var out []Device
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

func (inv Inventory) hasGPU() bool {
	for _, d := range inv.Devices {
		if d.Kind == KindGPU {
			return true
		}
	}
	return false
}

// validSpecs lists what Select accepts, for error messages.
func (inv Inventory) validSpecs() string {
	words := []string{"all"}
	ids := make([]string, 0, len(inv.Devices))
	hasGPU := false
	for _, d := range inv.Devices {
		ids = append(ids, d.ID)
		hasGPU = hasGPU || d.Kind == KindGPU
	}
	if hasGPU {
		words = append(words, "gpu")
	}
	return fmt.Sprintf("%s, or a comma list of the device ids %s", strings.Join(words, ", "), strings.Join(ids, ", "))
}

// formatBytes renders a memory size in GiB with one decimal.
func formatBytes(b uint64) string {
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// driverString renders the driver and CUDA driver versions together.
func driverString(d Device) string {
	switch {
	case d.DriverVersion != "" && d.CUDADriverVersion != "":
		return d.DriverVersion + " (CUDA " + d.CUDADriverVersion + ")"
	case d.CUDADriverVersion != "":
		return "CUDA " + d.CUDADriverVersion
	}
	return d.DriverVersion
}
