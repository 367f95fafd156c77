package amd

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// SysRoot is the sysfs root of a real machine.
const SysRoot = "/sys"

// VendorAMD is AMD's PCI vendor id, as sysfs writes it.
const VendorAMD = "0x1002"

// ErrNoKFD means the sysfs root has no KFD topology: no amdgpu driver (or
// one without compute) is loaded, so there is no AMD GPU to run on.
var ErrNoKFD = errors.New("no KFD topology")

// TopologyDir is where the KFD topology's nodes are under root.
func TopologyDir(root string) string {
	return filepath.Join(root, "class", "kfd", "kfd", "topology", "nodes")
}

// PCIBusDir is where sysfs lists the PCI devices under root, one
// directory per address.
func PCIBusDir(root string) string {
	return filepath.Join(root, "bus", "pci", "devices")
}

// PCIDir is the PCI device directory of a GPU at bdf under root.
func PCIDir(root, bdf string) string {
	return filepath.Join(PCIBusDir(root), bdf)
}

// Detect returns the AMD GPUs under the sysfs root, in KFD node order,
// with notes on what it could not find out. A root without a KFD topology
// is ErrNoKFD (wrapped, with the path); a file it cannot parse is an error
// naming the file.
func Detect(root string) ([]matrix.Device, []string, error) {
	dir := TopologyDir(root)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w: %s does not exist (the amdgpu driver is not loaded)", ErrNoKFD, dir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the KFD topology: %v", err)
	}
	var nodes []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() {
			nodes = append(nodes, n)
		}
	}
	sort.Ints(nodes) // numerically: node 10 after node 9
	var devs []matrix.Device
	var notes []string
	for _, n := range nodes {
		nodeDir := filepath.Join(dir, strconv.Itoa(n))
		props, err := readProperties(filepath.Join(nodeDir, "properties"))
		if err != nil {
			return nil, nil, err
		}
		if props["simd_count"] == 0 {
			continue // a CPU node
		}
		d, dn, err := gpu(root, nodeDir, props)
		if err != nil {
			return nil, nil, err
		}
		d.ID = fmt.Sprintf("%s:%d", matrix.KindROCm, len(devs))
		for _, s := range dn {
			notes = append(notes, d.ID+": "+s)
		}
		devs = append(devs, d)
	}
	return devs, notes, nil
}

// gpu describes the GPU of one KFD node.
func gpu(root, nodeDir string, p map[string]uint64) (matrix.Device, []string, error) {
	d := matrix.Device{Kind: matrix.KindROCm, Brand: "AMD"}
	var notes []string
	d.GFXTarget = GFXTarget(p["gfx_target_version"])
	if spc := p["simd_per_cu"]; spc > 0 {
		d.ComputeUnits = int(p["simd_count"] / spc)
	}
	d.MaxSMClockMHz = uint32(p["max_engine_clk_fcompute"])
	d.PCIBusID = busID(p)
	if minor, ok := p["drm_render_minor"]; ok && minor > 0 {
		d.RenderNode = fmt.Sprintf("/dev/dri/renderD%d", minor)
	} else {
		notes = append(notes, "no drm_render_minor in its KFD node: it cannot be given to a container")
	}
	if u := p["unique_id"]; u != 0 {
		d.UUID = fmt.Sprintf("GPU-%016x", u) // as rocminfo prints it
	}
	d.MemoryTotalBytes = p["local_mem_size"]
	if d.MemoryTotalBytes == 0 {
		mem, err := bankBytes(nodeDir)
		if err != nil {
			return d, nil, err
		}
		d.MemoryTotalBytes = mem
	}

	pci := PCIDir(root, d.PCIBusID)
	if _, err := os.Stat(pci); err != nil {
		notes = append(notes, fmt.Sprintf("its PCI device %s is not in sysfs: no PCI identity", pci))
		d.Name = fallbackName(d)
		return d, notes, nil
	}
	var err error
	read := func(name string) string {
		if err != nil {
			return ""
		}
		var s string
		s, err = readOptional(filepath.Join(pci, name))
		return s
	}
	d.PCIVendorID, d.PCIDeviceID, d.PCIRevision = read("vendor"), read("device"), read("revision")
	d.PCIeLinkSpeed = read("current_link_speed")
	width := read("current_link_width")
	vram := read("mem_info_vram_total")
	product := read("product_name")
	if err != nil {
		return d, nil, err
	}
	if d.PCIVendorID != "" && d.PCIVendorID != VendorAMD {
		notes = append(notes, fmt.Sprintf("PCI vendor %s is not AMD's %s", d.PCIVendorID, VendorAMD))
	}
	if width != "" {
		if d.PCIeLinkWidth, err = strconv.Atoi(width); err != nil {
			return d, nil, fmt.Errorf("%s: %q is not a link width", filepath.Join(pci, "current_link_width"), width)
		}
	}
	if vram != "" {
		b, err := strconv.ParseUint(vram, 10, 64)
		if err != nil {
			return d, nil, fmt.Errorf("%s: %q is not a byte count", filepath.Join(pci, "mem_info_vram_total"), vram)
		}
		d.MemoryTotalBytes = b // the driver's own figure wins over KFD's
	}
	d.Name = product
	if d.Name == "" {
		d.Name = fallbackName(d)
	}
	return d, notes, nil
}

// busID is the PCI address of a KFD node's GPU: its domain, and its
// location_id's bus, device and function bits.
func busID(p map[string]uint64) string {
	loc := p["location_id"]
	return fmt.Sprintf("%04x:%02x:%02x.%d", p["domain"], loc>>8, (loc>>3)&0x1f, loc&0x7)
}

// GFXTarget renders KFD's gfx_target_version (major*10000 + minor*100 +
// stepping, in decimal) as the LLVM target name: 90402 is gfx942, 110000
// gfx1100, 90010 gfx90a (the stepping is one hex digit).
func GFXTarget(v uint64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("gfx%d%d%x", v/10000, v/100%100, v%100)
}

// names is the marketing name of a PCI device and revision when the
// driver has no product_name: a few entries of amdgpu.ids (libdrm),
// the table the ROCm tools name cards by. A card not in it gets its gfx
// target and device id.
var names = map[string]string{
	"0x74a1/0x00": "AMD Instinct MI300X",
	"0x74a5/0x00": "AMD Instinct MI325X",
	"0x740f/0x02": "AMD Instinct MI210",
	"0x744c/0xc8": "AMD Radeon RX 7900 XTX",
	"0x744c/0xcc": "AMD Radeon RX 7900 XT",
	"0x744c/0xce": "AMD Radeon RX 7900 GRE",
}

func fallbackName(d matrix.Device) string {
	if n, ok := names[d.PCIDeviceID+"/"+d.PCIRevision]; ok {
		return n
	}
	s := "AMD GPU"
	if d.GFXTarget != "" {
		s += " " + d.GFXTarget
	}
	if d.PCIDeviceID != "" {
		s += " (" + d.PCIDeviceID + ")"
	}
	return s
}

// bankBytes sums size_in_bytes over a node's memory banks: KFD reports
// a dGPU's VRAM there, local_mem_size being 0 on current kernels.
func bankBytes(nodeDir string) (uint64, error) {
	banks, _ := filepath.Glob(filepath.Join(nodeDir, "mem_banks", "*", "properties"))
	var total uint64
	for _, b := range banks {
		p, err := readProperties(b)
		if err != nil {
			return 0, err
		}
		total += p["size_in_bytes"]
	}
	return total, nil
}

// readProperties parses a KFD properties file: one "name value" a line,
// the value a decimal unsigned integer.
func readProperties(path string) (map[string]uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the KFD topology: %v", err)
	}
	defer f.Close()
	props := make(map[string]uint64)
	s := bufio.NewScanner(f)
	for line := 1; s.Scan(); line++ {
		text := strings.TrimSpace(s.Text())
		if text == "" {
			continue
		}
		f := strings.Fields(text)
		var v uint64
		if len(f) == 2 {
			v, err = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) != 2 || err != nil {
			return nil, fmt.Errorf("%s line %d: %q is not \"name value\" with a decimal value: not a KFD properties file (check the sysfs root)", path, line, text)
		}
		props[f[0]] = v
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(props) == 0 {
		return nil, fmt.Errorf("%s is empty: not a KFD properties file (check the sysfs root)", path)
	}
	return props, nil
}

// readOptional returns a sysfs file's content, trimmed; "" with no error
// when the driver does not provide it.
func readOptional(path string) (string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading %s: %v", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
