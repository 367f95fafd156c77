package amd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// ProcDir is where KFD lists the processes that opened /dev/kfd, one
// directory per (host) PID, under root.
func ProcDir(root string) string {
	return filepath.Join(root, "class", "kfd", "kfd", "proc")
}

// GPUID is the KFD gpu_id of d, a GPU Detect found under root: the
// topology node at d's PCI address's gpu_id file, the number KFD names
// the GPU by in each process's directory. A partitioned GPU has several
// nodes at one address; the first is taken.
func GPUID(root string, d matrix.Device) (string, error) {
	dir := TopologyDir(root)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("reading the KFD topology: %v", err)
	}
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil || !e.IsDir() {
			continue
		}
		node := filepath.Join(dir, e.Name())
		p, err := readProperties(filepath.Join(node, "properties"))
		if err != nil {
			return "", err
		}
		if p["simd_count"] == 0 || busID(p) != d.PCIBusID {
			continue
		}
		id, err := readOptional(filepath.Join(node, "gpu_id"))
		if err != nil {
			return "", err
		}
		if id == "" {
			return "", fmt.Errorf("%s has no gpu_id", node)
		}
		return id, nil
	}
	return "", fmt.Errorf("no KFD node at %s's PCI address %s", d.ID, d.PCIBusID)
}

// ProcessVRAM is the VRAM the processes pids hold on the GPU gpuID (bytes):
// the sum of KFD's proc/PID/vram_GPUID. A process without a directory
// there never opened /dev/kfd, and holds none.
func ProcessVRAM(root, gpuID string, pids []int) (int64, error) {
	var sum int64
	for _, pid := range pids {
		path := filepath.Join(ProcDir(root), strconv.Itoa(pid), "vram_"+gpuID)
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("reading %s: %v", path, err)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s: %q is not a byte count", path, strings.TrimSpace(string(b)))
		}
		sum += n
	}
	return sum, nil
}
