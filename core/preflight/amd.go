package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/matrix"
)

// The host checks of AMD GPUs; each AMD GPU's checks share the NVIDIA
// names (CheckPCIe, CheckECCMode, CheckECCErrors, CheckRetired): they
// mean the same.
const (
	CheckKFD         = "kfd"
	CheckAMDGPUCount = "amd_gpu_count"
)

// AMD runs the host checks of AMD GPUs (is the KFD topology there when
// AMD GPUs are on the PCI bus; are there as many on the bus as in it) and
// the checks of each AMD GPU (kind rocm) in devices, reading nothing but
// sysfs under o.SysRoot: the PCIe link,
// and, where the board has RAS, ECC, its uncorrectable errors and its
// bad-page table. Devices of other kinds are left out.
func AMD(ctx context.Context, devices []matrix.Device, o Options) []matrix.PreflightCheck {
	sysRoot := o.sysRoot()
	host := func(name string, st matrix.PreflightStatus, format string, args ...any) matrix.PreflightCheck {
		return matrix.PreflightCheck{Device: matrix.PreflightHost, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)}
	}
	onBus, busErr := countPCI(amd.PCIBusDir(sysRoot), amd.VendorAMD, classDisplay, classAccelerator)
	gpus, _, kfdErr := amd.Detect(sysRoot)
	switch {
	case errors.Is(kfdErr, amd.ErrNoKFD) && busErr != nil:
		return []matrix.PreflightCheck{host(CheckKFD, matrix.PreflightNA, "no KFD topology; the PCI bus could not be read (%v)", busErr)}
	case errors.Is(kfdErr, amd.ErrNoKFD) && onBus == 0:
		return []matrix.PreflightCheck{host(CheckKFD, matrix.PreflightNA, "no KFD topology; no AMD GPU on the PCI bus either")}
	case errors.Is(kfdErr, amd.ErrNoKFD):
		return []matrix.PreflightCheck{host(CheckKFD, matrix.PreflightBad, "no KFD topology, but %s on the PCI bus: load the amdgpu driver (modprobe amdgpu; dmesg says why it did not bind)", matrix.Plural(onBus, "AMD GPU"))}
	case kfdErr != nil:
		return []matrix.PreflightCheck{host(CheckKFD, matrix.PreflightBad, "the KFD topology cannot be read: %v", kfdErr)}
	}
	out := []matrix.PreflightCheck{host(CheckKFD, matrix.PreflightOK, "%s in the KFD topology", matrix.Plural(len(gpus), "GPU node"))}

	// A partitioned GPU (an MI300X in CPX mode) is several KFD nodes at
	// one PCI address: the bus counts GPUs, not nodes.
	boards := map[string]bool{}
	for _, g := range gpus {
		boards[g.PCIBusID] = true
	}
	partitioned := ""
	if len(boards) != len(gpus) {
		partitioned = fmt.Sprintf(" (%d KFD nodes: partitioned)", len(gpus))
	}
	switch {
	case busErr != nil:
		out = append(out, host(CheckAMDGPUCount, matrix.PreflightNA, "%d in KFD; the PCI bus could not be read (%v)", len(boards), busErr))
	case onBus != len(boards):
		out = append(out, host(CheckAMDGPUCount, matrix.PreflightBad, "%s on the PCI bus, %d in KFD%s: a GPU fell off the bus, is held by another driver (vfio) or failed to initialise (dmesg says which)", matrix.Plural(onBus, "AMD GPU"), len(boards), partitioned))
	default:
		out = append(out, host(CheckAMDGPUCount, matrix.PreflightOK, "%d on the PCI bus, %d in KFD%s", onBus, len(boards), partitioned))
	}

	for _, d := range devices {
		if ctx.Err() != nil {
			break
		}
		if d.Kind == matrix.KindROCm {
			out = append(out, amdGPUChecks(d.ID, amd.PCIDir(sysRoot, d.PCIBusID))...)
		}
	}
	return out
}

// amdGPUChecks runs the checks of the AMD GPU whose PCI device directory
// is pci. A file the driver does not provide makes its check n/a; one
// that cannot be read or parsed makes it warn (it could not be checked).
func amdGPUChecks(id, pci string) []matrix.PreflightCheck {
	var out []matrix.PreflightCheck
	add := func(name string, st matrix.PreflightStatus, format string, args ...any) {
		out = append(out, matrix.PreflightCheck{Device: id, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
	}

	if l, err := amd.ReadLink(pci); errors.Is(err, os.ErrNotExist) {
		add(CheckPCIe, matrix.PreflightNA, "sysfs does not give this GPU's link: %v", err)
	} else if err != nil {
		add(CheckPCIe, matrix.PreflightWarn, "could not be checked: %v", err)
	} else {
		st, detail := pcieVerdict(l.Gen, l.Width, l.MaxGen, l.MaxWidth)
		add(CheckPCIe, st, "%s", detail)
	}

	ras := amd.RASDir(pci)
	if _, err := os.Stat(ras); err != nil {
		add(CheckECCMode, matrix.PreflightNA, "no RAS interface (%s): a board without ECC memory, or RAS turned off (amdgpu.ras_enable=0)", ras)
		add(CheckRetired, matrix.PreflightNA, "no RAS interface: no bad-page table")
		return out
	}

	umcOn := false
	if mask, err := amd.ReadRASFeatures(ras); err != nil {
		add(CheckECCMode, matrix.PreflightWarn, "could not be checked: %v", err)
	} else if mask&amd.RASUMC == 0 {
		add(CheckECCMode, matrix.PreflightWarn, "disabled: the memory controller's RAS is off (feature mask %#x), so a memory error would go unnoticed (amdgpu.ras_mask)", mask)
	} else {
		umcOn = true
		add(CheckECCMode, matrix.PreflightOK, "enabled (RAS feature mask %#x)", mask)
	}

	if umcOn {
		if c, err := amd.ReadUMCErrors(ras); err != nil {
			add(CheckECCErrors, matrix.PreflightWarn, "could not be checked: %v", err)
		} else if c.Uncorrectable > 0 {
			add(CheckECCErrors, matrix.PreflightBad, "%s since the driver loaded (%d correctable): results on this GPU may be corrupt; drain it and reset it", matrix.Plural(int(c.Uncorrectable), "uncorrectable memory error"), c.Correctable)
		} else {
			add(CheckECCErrors, matrix.PreflightOK, "0 uncorrectable memory errors (%d correctable)", c.Correctable)
		}
	}

	if p, err := amd.ReadBadPages(ras); errors.Is(err, os.ErrNotExist) {
		add(CheckRetired, matrix.PreflightNA, "no bad-page table (ras/gpu_vram_bad_pages)")
	} else if err != nil {
		add(CheckRetired, matrix.PreflightWarn, "could not be checked: %v", err)
	} else if p.Failed > 0 {
		add(CheckRetired, matrix.PreflightBad, "%s that could not be retired: the GPU needs service (%d retired, %d pending)", matrix.Plural(p.Failed, "bad page"), p.Retired, p.Pending)
	} else if p.Pending > 0 {
		add(CheckRetired, matrix.PreflightBad, "%s pending retirement: reset the GPU to retire them (%d retired)", matrix.Plural(p.Pending, "bad page"), p.Retired)
	} else {
		add(CheckRetired, matrix.PreflightOK, "none pending (%d retired)", p.Retired)
	}
	return out
}
