package amd

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/dlcompat/dlcompat/matrix"
)

// Sample is one reading of an AMD GPU from sysfs. A figure the driver
// does not provide is NaN (the floats) or -1 (VRAMUsedBytes), and named
// in Notes. It carries the figures of core/telemetry's Sample, so a
// sampler over it is a field-by-field copy.
type Sample struct {
	// PowerW is hwmon power1_average, else power1_input (the driver
	// provides one or the other), microwatts in the file.
	PowerW float64
	// TempC is each hwmon temperature by its label ("edge", "junction",
	// "mem"; "temp2" when the driver gives no label), millidegrees in
	// the file.
	TempC map[string]float64
	// SCLKMHz and MCLKMHz are the current shader and memory clocks: the
	// line of pp_dpm_sclk / pp_dpm_mclk marked with '*'.
	SCLKMHz, MCLKMHz float64
	// VRAMUsedBytes is mem_info_vram_used.
	VRAMUsedBytes int64
	Notes         []string
}

// MaxTempC is the hottest of the temperatures, NaN when there is none.
func (s Sample) MaxTempC() float64 {
	m := math.NaN()
	for _, t := range s.TempC {
		if math.IsNaN(m) || t > m {
			m = t
		}
	}
	return m
}

// ReadTelemetry reads d, a GPU Detect found under root, now. A file the
// driver does not provide leaves its figure unknown, with a note; one that
// is there but unparsable is an error naming it.
func ReadTelemetry(root string, d matrix.Device) (Sample, error) {
	nan := math.NaN()
	s := Sample{PowerW: nan, SCLKMHz: nan, MCLKMHz: nan, VRAMUsedBytes: -1, TempC: map[string]float64{}}
	if d.Kind != matrix.KindROCm || d.PCIBusID == "" {
		return s, fmt.Errorf("%s is not an AMD GPU with a PCI address", d.ID)
	}
	pci := PCIDir(root, d.PCIBusID)
	var err error
	if s.SCLKMHz, err = currentClock(filepath.Join(pci, "pp_dpm_sclk"), &s.Notes); err != nil {
		return s, err
	}
	if s.MCLKMHz, err = currentClock(filepath.Join(pci, "pp_dpm_mclk"), &s.Notes); err != nil {
		return s, err
	}
	if v, ok, err := readInt(filepath.Join(pci, "mem_info_vram_used")); err != nil {
		return s, err
	} else if ok {
		s.VRAMUsedBytes = v
	} else {
		s.Notes = append(s.Notes, "no mem_info_vram_used: VRAM in use unknown")
	}

	hw, _ := filepath.Glob(filepath.Join(pci, "hwmon", "hwmon*"))
	sort.Strings(hw)
	if len(hw) == 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("no hwmon directory under %s: power and temperature unknown", pci))
		return s, nil
	}
	dir := hw[0] // amdgpu registers one
	for _, name := range []string{"power1_average", "power1_input"} {
		v, ok, err := readInt(filepath.Join(dir, name))
		if err != nil {
			return s, err
		}
		if ok {
			s.PowerW = float64(v) / 1e6
			break
		}
	}
	if math.IsNaN(s.PowerW) {
		s.Notes = append(s.Notes, "no hwmon power1_average or power1_input: power unknown")
	}
	temps, _ := filepath.Glob(filepath.Join(dir, "temp*_input"))
	sort.Strings(temps)
	for _, t := range temps {
		v, ok, err := readInt(t)
		if err != nil {
			return s, err
		}
		if !ok {
			continue
		}
		base := strings.TrimSuffix(filepath.Base(t), "_input")
		label, _ := readOptional(filepath.Join(dir, base+"_label"))
		if label == "" {
			label = base
		}
		s.TempC[label] = float64(v) / 1000
	}
	if len(s.TempC) == 0 {
		s.Notes = append(s.Notes, "no hwmon temp*_input: temperature unknown")
	}
	return s, nil
}

// currentClock reads a pp_dpm_* file, one level a line ("1: 2100Mhz *"),
// and returns the level marked '*'.
func currentClock(path string, notes *[]string) (float64, error) {
	text, err := readOptional(path)
	if err != nil {
		return math.NaN(), err
	}
	if text == "" {
		*notes = append(*notes, fmt.Sprintf("no %s: that clock is unknown", filepath.Base(path)))
		return math.NaN(), nil
	}
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasSuffix(strings.TrimSpace(line), "*") {
			continue
		}
		_, level, ok := strings.Cut(line, ":")
		f := strings.Fields(level)
		if ok && len(f) == 2 {
			num := strings.TrimSuffix(strings.TrimSuffix(f[0], "Mhz"), "MHz")
			if mhz, err := strconv.ParseFloat(num, 64); err == nil {
				return mhz, nil
			}
		}
		return math.NaN(), fmt.Errorf("%s line %d: %q is not \"N: <clock>Mhz *\"", path, i+1, line)
	}
	*notes = append(*notes, fmt.Sprintf("%s marks no level with '*': that clock is unknown", path))
	return math.NaN(), nil
}

func readInt(path string) (int64, bool, error) {
	text, err := readOptional(path)
	if err != nil || text == "" {
		return 0, false, err
	}
	v, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %q is not an integer", path, text)
	}
	return v, true, nil
}
