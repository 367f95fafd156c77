package amd

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Link is a GPU's PCIe link as sysfs gives it: the generation and width
// it trained to (current_link_speed, current_link_width) and its maximum
// (max_link_speed, max_link_width).
type Link struct{ Gen, Width, MaxGen, MaxWidth int }

// pcieGenerations maps a sysfs link speed's transfer rate to its PCIe
// generation ("32.0 GT/s PCIe" is Gen5).
var pcieGenerations = map[string]int{"2.5": 1, "5.0": 2, "8.0": 3, "16.0": 4, "32.0": 5, "64.0": 6}

// ReadLink reads the link of the PCI device directory pci. A file the
// kernel does not provide is an error matching os.ErrNotExist, naming it;
// one that is not a rate or width ("Unknown": the link is down) an error
// naming the file.
func ReadLink(pci string) (Link, error) {
	var l Link
	for _, f := range []struct {
		name string
		rate bool
		v    *int
	}{{"current_link_speed", true, &l.Gen}, {"current_link_width", false, &l.Width}, {"max_link_speed", true, &l.MaxGen}, {"max_link_width", false, &l.MaxWidth}} {
		path := filepath.Join(pci, f.name)
		b, err := os.ReadFile(path)
		if err != nil {
			return l, err
		}
		s := strings.TrimSpace(string(b))
		ok := false
		if f.rate {
			*f.v, ok = pcieGeneration(s)
		} else {
			n, err := strconv.Atoi(s)
			*f.v, ok = n, err == nil && n > 0
		}
		if !ok {
			return l, fmt.Errorf("%s: %q is not a PCIe link %s", path, s, map[bool]string{true: "speed", false: "width"}[f.rate])
		}
	}
	return l, nil
}

// pcieGeneration reads "32.0 GT/s PCIe" (older kernels: "8 GT/s").
func pcieGeneration(s string) (int, bool) {
	rate, _, _ := strings.Cut(s, " ")
	if !strings.Contains(rate, ".") {
		rate += ".0"
	}
	g, ok := pcieGenerations[rate]
	return g, ok
}

// RASDir is the RAS directory of the PCI device directory pci; a board
// without RAS (a Radeon, or amdgpu.ras_enable=0) has none.
func RASDir(pci string) string { return filepath.Join(pci, "ras") }

// RASUMC is the memory controller's bit of ras/features: ECC of the VRAM.
const RASUMC = 1 << 0

// ReadRASFeatures parses ras/features: "feature mask: 0x3fff".
func ReadRASFeatures(ras string) (uint64, error) {
	path := filepath.Join(ras, "features")
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

// ErrorCounts are a RAS block's uncorrectable and correctable errors
// since the driver loaded.
type ErrorCounts struct{ Uncorrectable, Correctable uint64 }

// ReadUMCErrors parses ras/umc_err_count: "ue: N" and "ce: N", one a
// line (newer kernels add "de: N", deferred errors, which are not
// counted here).
func ReadUMCErrors(ras string) (ErrorCounts, error) {
	path := filepath.Join(ras, "umc_err_count")
	b, err := os.ReadFile(path)
	if err != nil {
		return ErrorCounts{}, err
	}
	var c ErrorCounts
	seen := false
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		key, value, ok := strings.Cut(line, ":")
		n, perr := strconv.ParseUint(strings.TrimSpace(value), 10, 64)
		if !ok || perr != nil {
			return ErrorCounts{}, fmt.Errorf("%s line %d: %q is not \"ue: N\" or \"ce: N\"", path, i+1, line)
		}
		switch strings.TrimSpace(key) {
		case "ue":
			c.Uncorrectable, seen = n, true
		case "ce":
			c.Correctable = n
		}
	}
	if !seen {
		return ErrorCounts{}, fmt.Errorf("%s has no \"ue: N\" line", path)
	}
	return c, nil
}

// BadPages counts the VRAM bad-page table's pages by state.
type BadPages struct {
	Retired int // R: reserved, never used again
	Pending int // P: retired at the next reset
	Failed  int // F: it could not be retired
}

// ReadBadPages parses ras/gpu_vram_bad_pages: one page a line,
// "0x00000001 : 0x00001000 : R" (pfn, size, state).
func ReadBadPages(ras string) (BadPages, error) {
	path := filepath.Join(ras, "gpu_vram_bad_pages")
	b, err := os.ReadFile(path)
	if err != nil {
		return BadPages{}, err
	}
	var p BadPages
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := strings.Split(line, ":")
		state := ""
		if len(f) == 3 {
			state = strings.TrimSpace(f[2])
		}
		switch state {
		case "R":
			p.Retired++
		case "P":
			p.Pending++
		case "F":
			p.Failed++
		default:
			return BadPages{}, fmt.Errorf("%s line %d: %q is not \"pfn : size : R|P|F\"", path, i+1, line)
		}
	}
	return p, nil
}
