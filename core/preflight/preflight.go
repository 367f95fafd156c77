package preflight

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/internal/nvmlcall"

	"github.com/dlcompat/dlcompat/matrix"
)

// Options tune the checks.
type Options struct {
	// SysRoot is the sysfs root the PCI bus and the AMD GPUs are read
	// under (a recorded tree in tests); "" is amd.SysRoot, /sys.
	SysRoot string
}

// The checks' names.
const (
	CheckNVML        = "nvml"
	CheckGPUCount    = "gpu_count"
	CheckPersistence = "persistence"
	CheckPCIe        = "pcie_link"
	CheckECCMode     = "ecc_mode"
	CheckECCErrors   = "ecc_uncorrected"
	CheckRetired     = "retired_pages"
	CheckRowRemap    = "row_remap"
	CheckMIG         = "mig"
	// CheckContainerRuntime is the docker executor's (exec.GPURuntimeChecker).
	CheckContainerRuntime = "nvidia_container_runtime"
)

// NVIDIA runs the host checks (NVML loads; the PCI bus's NVIDIA GPUs
// against NVML's count) and every check of each GPU in devices. It
// initialises lib and shuts it down; devices that are not GPUs are
// left out.
func NVIDIA(ctx context.Context, lib nvml.Interface, devices []matrix.Device, o Options) []matrix.PreflightCheck {
	onBus, busErr := CountPCI(amd.PCIBusDir(o.sysRoot()))
	host := func(name string, st matrix.PreflightStatus, format string, args ...any) matrix.PreflightCheck {
		return matrix.PreflightCheck{Device: matrix.PreflightHost, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)}
	}
	var out []matrix.PreflightCheck
	var ret nvml.Return
	if err := nvmlcall.Guard(func() { ret = lib.Init() }); err != nil || ret != nvml.SUCCESS {
		why := fmt.Sprintf("NVML Init: %s", nvmlcall.RetName(ret))
		if err != nil {
			why = "NVML Init " + err.Error()
		}
		switch {
		case busErr == nil && onBus == 0:
			out = append(out, host(CheckNVML, matrix.PreflightNA, "%s; no NVIDIA GPU on the PCI bus either", why))
		case busErr == nil:
			out = append(out, host(CheckNVML, matrix.PreflightBad, "%s, but %s on the PCI bus: install or load the driver (nvidia-smi must work)", why, matrix.Plural(onBus, "NVIDIA GPU")))
		default:
			out = append(out, host(CheckNVML, matrix.PreflightNA, "%s; the PCI bus could not be read (%v)", why, busErr))
		}
		return out
	}
	defer nvmlcall.Guard(func() { lib.Shutdown() })
	var version, driver string
	_ = nvmlcall.Guard(func() { version, _ = lib.SystemGetNVMLVersion() })
	_ = nvmlcall.Guard(func() { driver, _ = lib.SystemGetDriverVersion() })
	out = append(out, host(CheckNVML, matrix.PreflightOK, "NVML %s, driver %s", orDash(version), orDash(driver)))

	count := -1
	_ = nvmlcall.Guard(func() {
		n, r := lib.DeviceGetCount()
		if r == nvml.SUCCESS {
			count = n
		}
	})
	switch {
	case count < 0:
		out = append(out, host(CheckGPUCount, matrix.PreflightBad, "NVML could not count its GPUs"))
	case busErr != nil:
		out = append(out, host(CheckGPUCount, matrix.PreflightNA, "NVML reports %d; the PCI bus could not be read (%v)", count, busErr))
	case onBus != count:
		out = append(out, host(CheckGPUCount, matrix.PreflightBad, "%s on the PCI bus, NVML reports %d: a GPU fell off the bus, is held by another driver (vfio) or failed to initialise (dmesg says which)", matrix.Plural(onBus, "NVIDIA GPU"), count))
	default:
		out = append(out, host(CheckGPUCount, matrix.PreflightOK, "%d on the PCI bus, %d in NVML", onBus, count))
	}

	for _, d := range devices {
		if ctx.Err() != nil {
			break
		}
		if d.Kind != matrix.KindGPU {
			continue
		}
		h, ok := handle(lib, d)
		if !ok {
			out = append(out, matrix.PreflightCheck{Device: d.ID, Name: CheckNVML, Status: matrix.PreflightBad, Detail: "NVML has no handle for this GPU any more (fell off the bus?)"})
			continue
		}
		out = append(out, gpuChecks(d.ID, h)...)
	}
	return out
}

func handle(lib nvml.Interface, d matrix.Device) (nvml.Device, bool) {
	var h nvml.Device
	ret := nvml.ERROR_NOT_FOUND
	if d.UUID != "" {
		_ = nvmlcall.Guard(func() { h, ret = lib.DeviceGetHandleByUUID(d.UUID) })
	}
	if ret != nvml.SUCCESS {
		if i, err := strconv.Atoi(strings.TrimPrefix(d.ID, "gpu:")); err == nil {
			_ = nvmlcall.Guard(func() { h, ret = lib.DeviceGetHandleByIndex(i) })
		}
	}
	return h, ret == nvml.SUCCESS && h != nil
}

// gpuChecks runs the checks of one GPU.
func gpuChecks(id string, h nvml.Device) []matrix.PreflightCheck {
	var out []matrix.PreflightCheck
	add := func(name string, st matrix.PreflightStatus, format string, args ...any) {
		out = append(out, matrix.PreflightCheck{Device: id, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)})
	}
	// query runs an NVML call; a failure other than NOT_SUPPORTED is the
	// check's result (warn: it could not be checked), NOT_SUPPORTED is n/a.
	query := func(name string, fn func() nvml.Return) bool {
		var ret nvml.Return
		if err := nvmlcall.Guard(func() { ret = fn() }); err != nil {
			add(name, matrix.PreflightWarn, "could not be checked: NVML %v", err)
			return false
		}
		switch ret {
		case nvml.SUCCESS:
			return true
		case nvml.ERROR_NOT_SUPPORTED:
			add(name, matrix.PreflightNA, "not supported by this GPU")
		default:
			add(name, matrix.PreflightWarn, "could not be checked: NVML %s", nvmlcall.RetName(ret))
		}
		return false
	}

	var pm nvml.EnableState
	if query(CheckPersistence, func() (r nvml.Return) { pm, r = h.GetPersistenceMode(); return r }) {
		if pm == nvml.FEATURE_ENABLED {
			add(CheckPersistence, matrix.PreflightOK, "enabled")
		} else {
			add(CheckPersistence, matrix.PreflightWarn, "disabled: the driver tears the GPU down when no process holds it, and each plugin's first call pays for bringing it up (nvidia-smi -pm 1, or nvidia-persistenced)")
		}
	}

	var gen, width, maxGen, maxWidth int
	if query(CheckPCIe, func() nvml.Return {
		for _, q := range []func() nvml.Return{
			func() (r nvml.Return) { gen, r = h.GetCurrPcieLinkGeneration(); return r },
			func() (r nvml.Return) { width, r = h.GetCurrPcieLinkWidth(); return r },
			func() (r nvml.Return) { maxGen, r = h.GetMaxPcieLinkGeneration(); return r },
			func() (r nvml.Return) { maxWidth, r = h.GetMaxPcieLinkWidth(); return r },
		} {
			if r := q(); r != nvml.SUCCESS {
				return r
			}
		}
		return nvml.SUCCESS
	}) {
		st, detail := pcieVerdict(gen, width, maxGen, maxWidth)
		add(CheckPCIe, st, "%s", detail)
	}

	var ecc, pending nvml.EnableState
	eccOn := false
	if query(CheckECCMode, func() (r nvml.Return) { ecc, pending, r = h.GetEccMode(); return r }) {
		eccOn = ecc == nvml.FEATURE_ENABLED
		switch {
		case eccOn:
			add(CheckECCMode, matrix.PreflightOK, "enabled")
		case pending == nvml.FEATURE_ENABLED:
			add(CheckECCMode, matrix.PreflightWarn, "disabled, enabled after the next reset")
		default:
			add(CheckECCMode, matrix.PreflightWarn, "disabled: a memory error would go unnoticed (nvidia-smi -e 1, then reset the GPU)")
		}
	}
	if eccOn {
		var n uint64
		if query(CheckECCErrors, func() (r nvml.Return) {
			n, r = h.GetTotalEccErrors(nvml.MEMORY_ERROR_TYPE_UNCORRECTED, nvml.VOLATILE_ECC)
			return r
		}) {
			if n > 0 {
				add(CheckECCErrors, matrix.PreflightBad, "%d volatile uncorrected ECC errors since the driver loaded: results on this GPU may be corrupt; drain it and reset it", n)
			} else {
				add(CheckECCErrors, matrix.PreflightOK, "0 volatile uncorrected errors")
			}
		}
	}

	var retired nvml.EnableState
	if query(CheckRetired, func() (r nvml.Return) { retired, r = h.GetRetiredPagesPendingStatus(); return r }) {
		if retired == nvml.FEATURE_ENABLED {
			add(CheckRetired, matrix.PreflightBad, "pages are waiting to be retired: reset the GPU to retire them")
		} else {
			add(CheckRetired, matrix.PreflightOK, "none pending")
		}
	}

	var remapPending, remapFailed bool
	var corr, unc int
	if query(CheckRowRemap, func() (r nvml.Return) { corr, unc, remapPending, remapFailed, r = h.GetRemappedRows(); return r }) {
		switch {
		case remapFailed:
			add(CheckRowRemap, matrix.PreflightBad, "a row remap failed: the GPU needs service (%d correctable, %d uncorrectable remapped rows)", corr, unc)
		case remapPending:
			add(CheckRowRemap, matrix.PreflightBad, "a row remap is pending: reset the GPU (%d correctable, %d uncorrectable remapped rows)", corr, unc)
		default:
			add(CheckRowRemap, matrix.PreflightOK, "none pending (%d correctable, %d uncorrectable remapped rows)", corr, unc)
		}
	}

	var mig int
	if query(CheckMIG, func() (r nvml.Return) { mig, _, r = h.GetMigMode(); return r }) {
		if mig == nvml.DEVICE_MIG_ENABLE {
			add(CheckMIG, matrix.PreflightWarn, "enabled: frameworks see MIG instances, not the whole GPU, and its peak figures do not apply")
		} else {
			add(CheckMIG, matrix.PreflightOK, "disabled")
		}
	}
	return out
}

func (o Options) sysRoot() string {
	if o.SysRoot == "" {
		return amd.SysRoot
	}
	return o.SysRoot
}

// pcieVerdict judges a PCIe link from its current and maximum generation
// and width, for NVML's figures and sysfs's alike.
func pcieVerdict(gen, width, maxGen, maxWidth int) (matrix.PreflightStatus, string) {
	switch {
	case width < maxWidth:
		return matrix.PreflightWarn, fmt.Sprintf("Gen%d x%d, trained down from x%d (Gen%d): host-device copies run at a fraction of their speed; reseat the card or check the slot", gen, width, maxWidth, maxGen)
	case gen < maxGen:
		return matrix.PreflightWarn, fmt.Sprintf("Gen%d x%d of Gen%d x%d: below its generation (an idle link drops its generation to save power; if it stays there under load, the link is degraded)", gen, width, maxGen, maxWidth)
	default:
		return matrix.PreflightOK, fmt.Sprintf("Gen%d x%d", gen, width)
	}
}

// PCI vendor ids and the class prefixes of GPUs, as sysfs writes them.
const (
	vendorNVIDIA = "0x10de"
	// classDisplay is a display controller (0x03xxxx: VGA, 3D); an
	// accelerator is a processing accelerator (0x12xxxx), as AMD's
	// Instinct boards enumerate. Audio functions (0x0403) and NVSwitches
	// (0x0680) are neither.
	classDisplay     = "0x03"
	classAccelerator = "0x12"
)

// CountPCI counts the NVIDIA GPUs under a sysfs PCI device directory:
// vendor 0x10de and a display-controller class.
func CountPCI(root string) (int, error) {
	return countPCI(root, vendorNVIDIA, classDisplay)
}

// countPCI counts the devices of vendor whose class starts with one of
// classes under a sysfs PCI device directory.
func countPCI(root, vendor string, classes ...string) (int, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		v, err1 := os.ReadFile(filepath.Join(root, e.Name(), "vendor"))
		c, err2 := os.ReadFile(filepath.Join(root, e.Name(), "class"))
		if err1 != nil || err2 != nil || strings.TrimSpace(string(v)) != vendor {
			continue
		}
		for _, prefix := range classes {
			if strings.HasPrefix(strings.TrimSpace(string(c)), prefix) {
				n++
				break
			}
		}
	}
	return n, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
