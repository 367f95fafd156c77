package device

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/internal/nvmlcall"
	"github.com/dlcompat/dlcompat/matrix"
)

// DetectSystem detects the devices of this machine: the NVIDIA GPUs
// through the system's NVML library (libnvidia-ml.so, loaded by go-nvml at
// Init; see [Detect]), then the AMD GPUs in sysfs ([AddAMD]).
func DetectSystem(ctx context.Context) Inventory {
	return DetectSystemAt(ctx, amd.SysRoot)
}

// DetectSystemAt is DetectSystem with the AMD GPUs read under another
// sysfs root (a recorded tree: dlcompat devices --sysfs).
func DetectSystemAt(ctx context.Context, sysRoot string) Inventory {
	inv := Detect(ctx, nvml.New())
	AddAMD(&inv, sysRoot)
	return inv
}

// AddAMD appends the AMD GPUs under the sysfs root (core/device/amd) to
// inv, after the NVIDIA ones. A machine without the amdgpu driver adds
// nothing and says nothing (most machines have none; a --devices rocm
// then says why, see Select); a topology that cannot be read is a note.
func AddAMD(inv *Inventory, sysRoot string) {
	devs, notes, err := amd.Detect(sysRoot)
	switch {
	case errors.Is(err, amd.ErrNoKFD):
		inv.noAMD = "no AMD GPU: " + err.Error()
		return
	case err != nil:
		inv.noAMD = "no AMD GPU: " + err.Error()
		inv.Notes = append(inv.Notes, inv.noAMD)
		return
	}
	if len(devs) == 0 {
		inv.noAMD = "no AMD GPU: the KFD topology has CPU nodes only"
	}
	inv.Devices = append(inv.Devices, devs...)
	inv.Notes = append(inv.Notes, notes...)
}

// Detect returns the CPU and the GPUs lib reports. It initialises lib and,
// if that succeeded, shuts it down before returning; if Init fails it calls
// nothing else on lib (with the real library an unresolved symbol kills the
// process) and returns the CPU alone, with a note saying why and how to fix
// it. A GPU field NVML cannot report is left empty and, unless NVML answered
// ERROR_NOT_SUPPORTED, noted on the device. Detect never fails: problems are
// in the notes. When ctx is done it stops between GPUs and says so.
func Detect(ctx context.Context, lib nvml.Interface) (inv Inventory) {
	inv.Devices = []matrix.Device{detectCPU()}
	if lib == nil {
		inv.Notes = append(inv.Notes, "no NVIDIA GPU: no NVML library was given")
		return inv
	}
	if err := ctx.Err(); err != nil {
		inv.Notes = append(inv.Notes, fmt.Sprintf("GPU detection skipped: %v", err))
		return inv
	}

	var ret nvml.Return
	if err := nvmlcall.Guard(func() { ret = lib.Init() }); err != nil {
		inv.Notes = append(inv.Notes, fmt.Sprintf("no NVIDIA GPU: NVML Init %v", err))
		return inv
	}
	if ret != nvml.SUCCESS {
		inv.Notes = append(inv.Notes, initFailureNote(ret))
		return inv
	}
	defer func() {
		var ret nvml.Return
		if err := nvmlcall.Guard(func() { ret = lib.Shutdown() }); err != nil {
			inv.Notes = append(inv.Notes, fmt.Sprintf("NVML Shutdown %v", err))
		} else if ret != nvml.SUCCESS {
			inv.Notes = append(inv.Notes, fmt.Sprintf("NVML Shutdown failed: %s", ret.Error()))
		}
	}()

	// Run-level facts, copied onto every GPU.
	sys := &prober{}
	var driver, cuda string
	sys.query("driver_version", "SystemGetDriverVersion", func() (r nvml.Return) {
		driver, r = lib.SystemGetDriverVersion()
		return r
	})
	sys.query("cuda_driver_version", "SystemGetCudaDriverVersion", func() nvml.Return {
		v, r := lib.SystemGetCudaDriverVersion()
		if r == nvml.SUCCESS && v > 0 {
			cuda = fmt.Sprintf("%d.%d", v/1000, v%1000/10)
		}
		return r
	})
	inv.Notes = append(inv.Notes, sys.notes...)
	var count int
	ret = nvml.SUCCESS
	if err := nvmlcall.Guard(func() { count, ret = lib.DeviceGetCount() }); err != nil {
		inv.Notes = append(inv.Notes, fmt.Sprintf("no NVIDIA GPU: NVML DeviceGetCount %v", err))
		return inv
	}
	if ret != nvml.SUCCESS {
		inv.Notes = append(inv.Notes, fmt.Sprintf("no NVIDIA GPU: NVML DeviceGetCount: %s", ret.Error()))
		return inv
	}
	if count == 0 {
		inv.Notes = append(inv.Notes, "no NVIDIA GPU: NVML reports none")
		return inv
	}

	for i := 0; i < count; i++ {
		if err := ctx.Err(); err != nil {
			inv.Notes = append(inv.Notes, fmt.Sprintf("GPU detection stopped after %d of %d GPUs: %v", i, count, err))
			break
		}
		var h nvml.Device
		p := &prober{}
		ret := p.query("handle", "DeviceGetHandleByIndex", func() (r nvml.Return) {
			h, r = lib.DeviceGetHandleByIndex(i)
			return r
		})
		if ret != nvml.SUCCESS || h == nil {
			// Without a handle nothing can be asked, and nothing can be run.
			msg := fmt.Sprintf("gpu:%d skipped: NVML DeviceGetHandleByIndex: %s", i, ret.Error())
			if len(p.notes) > 0 {
				msg = fmt.Sprintf("gpu:%d skipped: %s", i, p.notes[0])
			}
			inv.Notes = append(inv.Notes, msg)
			continue
		}
		d := detectGPU(h, p)
		d.ID = fmt.Sprintf("gpu:%d", i)
		d.DriverVersion, d.CUDADriverVersion = driver, cuda
		inv.Devices = append(inv.Devices, d)
	}
	return inv
}

// detectGPU asks NVML everything about one GPU; p collects the notes.
func detectGPU(h nvml.Device, p *prober) matrix.Device {
	d := matrix.Device{Kind: matrix.KindGPU}
	p.query("name", "GetName", func() (r nvml.Return) {
		d.Name, r = h.GetName()
		return r
	})
	p.query("brand", "GetBrand", func() nvml.Return {
		b, r := h.GetBrand()
		if r == nvml.SUCCESS {
			d.Brand = brandName(b)
		}
		return r
	})
	p.query("architecture", "GetArchitecture", func() nvml.Return {
		a, r := h.GetArchitecture()
		if r == nvml.SUCCESS {
			d.Architecture = archName(a)
		}
		return r
	})
	p.query("uuid", "GetUUID", func() (r nvml.Return) {
		d.UUID, r = h.GetUUID()
		return r
	})
	p.query("pci_bus_id", "GetPciInfo", func() nvml.Return {
		pci, r := h.GetPciInfo()
		if r == nvml.SUCCESS {
			d.PCIBusID = cString(pci.BusId[:])
		}
		return r
	})
	p.query("memory_total_bytes", "GetMemoryInfo", func() nvml.Return {
		m, r := h.GetMemoryInfo()
		if r == nvml.SUCCESS {
			d.MemoryTotalBytes = m.Total
		}
		return r
	})
	p.query("memory_bus_width_bits", "GetMemoryBusWidth", func() (r nvml.Return) {
		d.MemoryBusWidthBits, r = h.GetMemoryBusWidth()
		return r
	})
	p.query("max_sm_clock_mhz", "GetMaxClockInfo(CLOCK_SM)", func() (r nvml.Return) {
		d.MaxSMClockMHz, r = h.GetMaxClockInfo(nvml.CLOCK_SM)
		return r
	})
	p.query("max_mem_clock_mhz", "GetMaxClockInfo(CLOCK_MEM)", func() (r nvml.Return) {
		d.MaxMemClockMHz, r = h.GetMaxClockInfo(nvml.CLOCK_MEM)
		return r
	})
	d.TheoreticalBandwidthGBs = bandwidthGBs(d.MaxMemClockMHz, d.MemoryBusWidthBits)
	p.query("cuda_cores", "GetNumGpuCores", func() (r nvml.Return) {
		d.CUDACores, r = h.GetNumGpuCores()
		return r
	})
	d.PeakFP32GFLOPs = peakFP32GFLOPs(d.CUDACores, d.MaxSMClockMHz)
	p.query("compute_capability", "GetCudaComputeCapability", func() nvml.Return {
		major, minor, r := h.GetCudaComputeCapability()
		if r == nvml.SUCCESS {
			d.ComputeCapability = fmt.Sprintf("%d.%d", major, minor)
		}
		return r
	})
	ret := p.query("mig_mode", "GetMigMode", func() nvml.Return {
		current, _, r := h.GetMigMode()
		if r == nvml.SUCCESS {
			d.MIGMode = onOff(current == nvml.DEVICE_MIG_ENABLE)
		}
		return r
	})
	if ret == nvml.ERROR_NOT_SUPPORTED {
		d.MIGMode = "unsupported"
	}
	ret = p.query("ecc", "GetEccMode", func() nvml.Return {
		current, _, r := h.GetEccMode()
		if r == nvml.SUCCESS {
			d.ECC = onOff(current == nvml.FEATURE_ENABLED)
		}
		return r
	})
	if ret == nvml.ERROR_NOT_SUPPORTED {
		d.ECC = "unsupported"
	}
	p.query("power_limit_w", "GetEnforcedPowerLimit", func() nvml.Return {
		mw, r := h.GetEnforcedPowerLimit()
		if r == nvml.SUCCESS {
			d.PowerLimitW = float64(mw) / 1000
		}
		return r
	})
	// The SM count and the per-precision peaks of the characterise check
	// (docs/spec.md §10.3; the table is peaks.go).
	d.SMCount = smCount(d.CUDACores, d.ComputeCapability)
	d.PeakGFLOPsByPrecision = peaksByPrecision(d.SMCount, d.ComputeCapability, d.MaxSMClockMHz)
	ret = p.query("persistence", "GetPersistenceMode", func() nvml.Return {
		m, r := h.GetPersistenceMode()
		if r == nvml.SUCCESS {
			d.Persistence = onOff(m == nvml.FEATURE_ENABLED)
		}
		return r
	})
	if ret == nvml.ERROR_NOT_SUPPORTED {
		d.Persistence = "unsupported"
	}
	p.query("vbios_version", "GetVbiosVersion", func() (r nvml.Return) {
		d.VBIOSVersion, r = h.GetVbiosVersion()
		return r
	})
	p.query("inforom_version", "GetInforomImageVersion", func() (r nvml.Return) {
		d.InfoROMVersion, r = h.GetInforomImageVersion()
		return r
	})
	p.query("app_sm_clock_mhz", "GetApplicationsClock(CLOCK_SM)", func() (r nvml.Return) {
		d.AppSMClockMHz, r = h.GetApplicationsClock(nvml.CLOCK_SM)
		return r
	})
	p.query("app_mem_clock_mhz", "GetApplicationsClock(CLOCK_MEM)", func() (r nvml.Return) {
		d.AppMemClockMHz, r = h.GetApplicationsClock(nvml.CLOCK_MEM)
		return r
	})
	d.Notes = p.notes
	return d
}

// prober runs NVML queries and collects, as notes, the ones that failed.
type prober struct {
	notes []string
}

// query runs fn, one NVML call filling the named field, and returns its
// result. A failure other than ERROR_NOT_SUPPORTED is noted; so is a panic,
// which is returned as ERROR_UNKNOWN.
func (p *prober) query(field, call string, fn func() nvml.Return) nvml.Return {
	var ret nvml.Return
	if err := nvmlcall.Guard(func() { ret = fn() }); err != nil {
		p.notes = append(p.notes, fmt.Sprintf("%s: NVML %s %v", field, call, err))
		return nvml.ERROR_UNKNOWN
	}
	switch ret {
	case nvml.SUCCESS, nvml.ERROR_NOT_SUPPORTED:
	default:
		p.notes = append(p.notes, fmt.Sprintf("%s: NVML %s: %s", field, call, ret.Error()))
	}
	return ret
}

// initFailureNote says why NVML could not start and how to fix it. It names
// the return code with retName rather than ret.Error(): after a failed Init
// nothing of the library is called, not even nvmlErrorString.
func initFailureNote(ret nvml.Return) string {
	name := nvmlcall.RetName(ret)
	switch ret {
	case nvml.ERROR_LIBRARY_NOT_FOUND:
		return fmt.Sprintf("no NVIDIA GPU: libnvidia-ml.so not found (NVML %s); install the NVIDIA driver to test GPUs", name)
	case nvml.ERROR_DRIVER_NOT_LOADED:
		return fmt.Sprintf("no NVIDIA GPU: the NVIDIA kernel driver is not loaded (NVML %s); load it (modprobe nvidia) or reinstall the driver to test GPUs", name)
	case nvml.ERROR_NO_PERMISSION:
		return fmt.Sprintf("no NVIDIA GPU: no permission to use the GPUs (NVML %s); run with access to /dev/nvidia* to test GPUs", name)
	case nvml.ERROR_LIB_RM_VERSION_MISMATCH:
		return fmt.Sprintf("no NVIDIA GPU: libnvidia-ml.so and the kernel driver differ in version (NVML %s); reboot or reload the driver after upgrading it", name)
	}
	return fmt.Sprintf("no NVIDIA GPU: NVML Init failed (NVML %s); check the driver with nvidia-smi", name)
}

// bandwidthGBs is the theoretical peak memory bandwidth in GB/s: clock ×
// 2 transfers per cycle (DDR) × bus width in bytes. See
// Device.TheoreticalBandwidthGBs.
func bandwidthGBs(memClockMHz, busWidthBits uint32) float64 {
	return float64(memClockMHz) * 1e6 * 2 * float64(busWidthBits) / 8 / 1e9
}

// peakFP32GFLOPs: see Device.PeakFP32GFLOPs.
func peakFP32GFLOPs(cudaCores int, smClockMHz uint32) float64 {
	return float64(cudaCores) * 2 * float64(smClockMHz) / 1000
}

func onOff(on bool) string {
	if on {
		return "enabled"
	}
	return "disabled"
}

func brandName(b nvml.BrandType) string {
	switch b {
	case nvml.BRAND_QUADRO:
		return "Quadro"
	case nvml.BRAND_TESLA:
		return "Tesla"
	case nvml.BRAND_NVS:
		return "NVS"
	case nvml.BRAND_GRID:
		return "GRID"
	case nvml.BRAND_GEFORCE:
		return "GeForce"
	case nvml.BRAND_TITAN:
		return "Titan"
	case nvml.BRAND_NVIDIA_VAPPS:
		return "NVIDIA Virtual Applications"
	case nvml.BRAND_NVIDIA_VPC:
		return "NVIDIA Virtual PC"
	case nvml.BRAND_NVIDIA_VCS:
		return "NVIDIA Virtual Compute Server"
	case nvml.BRAND_NVIDIA_VWS:
		return "NVIDIA RTX Virtual Workstation"
	case nvml.BRAND_NVIDIA_CLOUD_GAMING:
		return "NVIDIA Cloud Gaming"
	case nvml.BRAND_QUADRO_RTX:
		return "Quadro RTX"
	case nvml.BRAND_NVIDIA_RTX:
		return "NVIDIA RTX"
	case nvml.BRAND_NVIDIA:
		return "NVIDIA"
	case nvml.BRAND_GEFORCE_RTX:
		return "GeForce RTX"
	case nvml.BRAND_TITAN_RTX:
		return "Titan RTX"
	case nvml.BRAND_UNKNOWN:
		return "unknown"
	}
	return fmt.Sprintf("brand %d", int32(b))
}

func archName(a nvml.DeviceArchitecture) string {
	switch a {
	case nvml.DEVICE_ARCH_KEPLER:
		return "Kepler"
	case nvml.DEVICE_ARCH_MAXWELL:
		return "Maxwell"
	case nvml.DEVICE_ARCH_PASCAL:
		return "Pascal"
	case nvml.DEVICE_ARCH_VOLTA:
		return "Volta"
	case nvml.DEVICE_ARCH_TURING:
		return "Turing"
	case nvml.DEVICE_ARCH_AMPERE:
		return "Ampere"
	case nvml.DEVICE_ARCH_ADA:
		return "Ada"
	case nvml.DEVICE_ARCH_HOPPER:
		return "Hopper"
	case nvml.DEVICE_ARCH_BLACKWELL:
		return "Blackwell"
	case nvml.DEVICE_ARCH_RUBIN:
		return "Rubin"
	case nvml.DEVICE_ARCH_UNKNOWN:
		return "unknown"
	}
	return fmt.Sprintf("architecture %d", uint32(a))
}

// cString converts a NUL-terminated C char array.
func cString(cs []int8) string {
	b := make([]byte, 0, len(cs))
	for _, c := range cs {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// detectCPU describes the host CPU from /proc/cpuinfo and /proc/meminfo.
func detectCPU() matrix.Device {
	d := matrix.Device{ID: CPUID, Kind: matrix.KindCPU, Name: runtime.GOARCH, Cores: runtime.NumCPU()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		if name := cpuModelName(f); name != "" {
			d.Name = name
		}
		f.Close()
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		d.MemoryTotalBytes = memTotalBytes(f)
		f.Close()
	}
	return d
}

// cpuModelName returns the first "model name" of a /proc/cpuinfo, spaces
// collapsed, or "" if there is none (arm64 kernels, for one, give none).
func cpuModelName(r io.Reader) string {
	s := bufio.NewScanner(r)
	for s.Scan() {
		key, value, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.Join(strings.Fields(value), " ")
		}
	}
	return ""
}

// memTotalBytes returns MemTotal from a /proc/meminfo, or 0.
func memTotalBytes(r io.Reader) uint64 {
	s := bufio.NewScanner(r)
	for s.Scan() {
		key, value, ok := strings.Cut(s.Text(), ":")
		if !ok || key != "MemTotal" {
			continue
		}
		f := strings.Fields(value) // "24684084 kB"
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}
