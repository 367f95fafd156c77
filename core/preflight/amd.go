package preflight

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

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

// pcieGenerations maps a sysfs link speed's transfer rate to its PCIe
// generation ("32.0 GT/s PCIe" is Gen5).
var pcieGenerations = map[string]int{"2.5": 1, "5.0": 2, "8.0": 3, "16.0": 4, "32.0": 5, "64.0": 6}

// AMD runs the host checks of AMD GPUs (is the KFD topology there when
// AMD GPUs are on the PCI bus; are there as many on the bus as in it) and
// the checks of each AMD GPU (kind rocm) in devices, reading nothing but
// sysfs under sysRoot (amd.SysRoot on a real machine): the PCIe link,
// and, where the board has RAS, ECC, its uncorrectable errors and its
// bad-page table. Devices of other kinds are left out.
func AMD(ctx context.Context, sysRoot string, devices []matrix.Device) []matrix.PreflightCheck {
	host := func(name string, st matrix.PreflightStatus, format string, args ...any) matrix.PreflightCheck {
		return matrix.PreflightCheck{Device: matrix.PreflightHost, Name: name, Status: st, Detail: fmt.Sprintf(format, args...)}
	}
	onBus, busErr := countPCI(filepath.Join(sysRoot, "bus", "pci", "devices"), amd.VendorAMD, classDisplay, classAccelerator)
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

	if gen, width, maxGen, maxWidth, missing, err := sysfsLink(pci); err != nil {
		add(CheckPCIe, matrix.PreflightWarn, "could not be checked: %v", err)
	} else if missing != "" {
		add(CheckPCIe, matrix.PreflightNA, "sysfs has no %s for this GPU", missing)
	} else {
		st, detail := pcieVerdict(gen, width, maxGen, maxWidth)
		add(CheckPCIe, st, "%s", detail)
	}

	ras := filepath.Join(pci, "ras")
	if _, err := os.Stat(ras); err != nil {
		add(CheckECCMode, matrix.PreflightNA, "no RAS interface (%s): a board without ECC memory, or RAS turned off (amdgpu.ras_enable=0)", ras)
		add(CheckRetired, matrix.PreflightNA, "no RAS interface: no bad-page table")
		return out
	}

	// ras/features is "feature mask: 0x…"; bit 0 is the memory controller's
	// (UMC) RAS, which is what ECC of the VRAM means.
	umcOn := false
	if mask, err := rasFeatures(filepath.Join(ras, "features")); err != nil {
		add(CheckECCMode, matrix.PreflightWarn, "could not be checked: %v", err)
	} else if mask&1 == 0 {
		add(CheckECCMode, matrix.PreflightWarn, "disabled: the memory controller's RAS is off (feature mask %#x), so a memory error would go unnoticed (amdgpu.ras_mask)", mask)
	} else {
		umcOn = true
		add(CheckECCMode, matrix.PreflightOK, "enabled (RAS feature mask %#x)", mask)
	}

	if umcOn {
		if counts, err := rasCounts(filepath.Join(ras, "umc_err_count")); err != nil {
			add(CheckECCErrors, matrix.PreflightWarn, "could not be checked: %v", err)
		} else if counts["ue"] > 0 {
			add(CheckECCErrors, matrix.PreflightBad, "%s since the driver loaded (%d correctable): results on this GPU may be corrupt; drain it and reset it", matrix.Plural(int(counts["ue"]), "uncorrectable memory error"), counts["ce"])
		} else {
			add(CheckECCErrors, matrix.PreflightOK, "0 uncorrectable memory errors (%d correctable)", counts["ce"])
		}
	}

	if pages, err := badPages(filepath.Join(ras, "gpu_vram_bad_pages")); errors.Is(err, os.ErrNotExist) {
		add(CheckRetired, matrix.PreflightNA, "no bad-page table (ras/gpu_vram_bad_pages)")
	} else if err != nil {
		add(CheckRetired, matrix.PreflightWarn, "could not be checked: %v", err)
	} else if pages['F'] > 0 {
		add(CheckRetired, matrix.PreflightBad, "%s that could not be retired: the GPU needs service (%d retired, %d pending)", matrix.Plural(pages['F'], "bad page"), pages['R'], pages['P'])
	} else if pages['P'] > 0 {
		add(CheckRetired, matrix.PreflightBad, "%s pending retirement: reset the GPU to retire them (%d retired)", matrix.Plural(pages['P'], "bad page"), pages['R'])
	} else {
		add(CheckRetired, matrix.PreflightOK, "none pending (%d retired)", pages['R'])
	}
	return out
}

// sysfsLink reads a PCI device's current and maximum link. missing names
// the first of the four files the kernel does not provide.
func sysfsLink(pci string) (gen, width, maxGen, maxWidth int, missing string, err error) {
	read := func(name string) string {
		if missing != "" || err != nil {
			return ""
		}
		b, rerr := os.ReadFile(filepath.Join(pci, name))
		switch {
		case errors.Is(rerr, os.ErrNotExist):
			missing = name
		case rerr != nil:
			err = rerr
		}
		return strings.TrimSpace(string(b))
	}
	speed, w, maxSpeed, maxW := read("current_link_speed"), read("current_link_width"), read("max_link_speed"), read("max_link_width")
	if missing != "" || err != nil {
		return
	}
	parseGen := func(name, s string) int {
		// "32.0 GT/s PCIe"; older kernels write "32 GT/s" or "2.5 GT/s".
		rate := strings.Fields(s)
		if len(rate) > 0 {
			r := rate[0]
			if !strings.Contains(r, ".") {
				r += ".0"
			}
			if g, ok := pcieGenerations[r]; ok {
				return g
			}
		}
		if err == nil {
			err = fmt.Errorf("%s: %q is not a PCIe transfer rate (a link that is down reads \"Unknown\")", filepath.Join(pci, name), s)
		}
		return 0
	}
	parseWidth := func(name, s string) int {
		n, perr := strconv.Atoi(s)
		if perr != nil && err == nil {
			err = fmt.Errorf("%s: %q is not a link width", filepath.Join(pci, name), s)
		}
		return n
	}
	gen, maxGen = parseGen("current_link_speed", speed), parseGen("max_link_speed", maxSpeed)
	width, maxWidth = parseWidth("current_link_width", w), parseWidth("max_link_width", maxW)
	return
}

// rasFeatures parses ras/features: "feature mask: 0x3fff".
func rasFeatures(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(b))
	_, hex, ok := strings.Cut(text, ":")
	mask, perr := strconv.ParseUint(strings.TrimPrefix(strings.TrimSpace(hex), "0x"), 16, 64)
	if !ok || perr != nil {
		return 0, fmt.Errorf("%s: %q is not \"feature mask: 0x…\"", path, text)
	}
	return mask, nil
}

// rasCounts parses a RAS block's error counts: "ue: N" and "ce: N", one
// a line (newer kernels add "de: N", deferred errors).
func rasCounts(path string) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	counts := map[string]uint64{}
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		key, value, ok := strings.Cut(line, ":")
		n, perr := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if !ok || perr != nil {
			return nil, fmt.Errorf("%s line %d: %q is not \"ue: N\" or \"ce: N\"", path, i+1, line)
		}
		counts[strings.TrimSpace(key)] = n
	}
	if _, ok := counts["ue"]; !ok {
		return nil, fmt.Errorf("%s has no \"ue: N\" line", path)
	}
	return counts, nil
}

// badPages counts the bad-page table's pages by flag: one page a line,
// "0x00000001 : 0x00001000 : R", the flag R (retired: reserved, never
// used again), P (pending: retired at the next reset) or F (it could not
// be retired).
func badPages(path string) (map[byte]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pages := map[byte]int{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ":")
		flag := ""
		if len(f) == 3 {
			flag = strings.TrimSpace(f[2])
		}
		if flag != "R" && flag != "P" && flag != "F" {
			return nil, fmt.Errorf("%s line %d: %q is not \"pfn : size : R|P|F\"", path, i+1, line)
		}
		pages[flag[0]]++
	}
	return pages, nil
}
