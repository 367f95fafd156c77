// Package amd is the telemetry sampler of AMD GPUs: each sample is one
// core/device/amd ReadTelemetry of the GPU's sysfs (hwmon power and
// temperatures, the current pp_dpm_sclk / pp_dpm_mclk levels, VRAM in
// use) and, given the plugin's PIDs, the VRAM they hold (KFD's
// proc/PID/vram_GPUID). amdgpu has no energy counter and no clock-event
// reasons in sysfs, so a sample leaves those unknown: an AMD series is
// never marked throttled, and its joules are not claimed.
package amd

import (
	"math"
	"os"
	"sync"
	"time"

	devamd "github.com/dlcompat/dlcompat/core/device/amd"
	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/matrix"
)

// Name is the sampler's name in the results.
const Name = "sysfs"

// Sampler samples the AMD GPUs under one sysfs root.
type Sampler struct {
	root string
}

var _ telemetry.Sampler = (*Sampler)(nil)

// New samples under root (devamd.SysRoot on a real machine).
func New(root string) *Sampler { return &Sampler{root: root} }

func (s *Sampler) Name() string { return Name }
func (s *Sampler) Close() error { return nil }

// Source is d's, for an AMD GPU whose PCI device is under the root.
func (s *Sampler) Source(d matrix.Device) (telemetry.Source, bool) {
	if d.Kind != matrix.KindROCm || d.PCIBusID == "" {
		return nil, false
	}
	if _, err := os.Stat(devamd.PCIDir(s.root, d.PCIBusID)); err != nil {
		return nil, false
	}
	return &source{root: s.root, dev: d, noted: map[string]bool{}}, true
}

type source struct {
	root string
	dev  matrix.Device

	mu    sync.Mutex
	noted map[string]bool // notes given once
	// gpuID is the GPU's KFD gpu_id, looked up at the first sample that
	// asks for the plugin's VRAM (gpuIDErr when it cannot be).
	gpuID    string
	gpuIDErr error
}

var _ telemetry.ProcessSource = (*source)(nil)

func (s *source) Sample() telemetry.Sample { return s.SampleProcesses(nil) }

// SampleProcesses is Sample with the VRAM pids hold on the GPU: KFD's
// per-process figure (devamd.ProcessVRAM).
func (s *source) SampleProcesses(pids []int) telemetry.Sample {
	out := telemetry.Unknown(time.Now())
	r, err := devamd.ReadTelemetry(s.root, s.dev)
	s.mu.Lock()
	defer s.mu.Unlock()
	note := func(n string) {
		if !s.noted[n] {
			s.noted[n] = true
			out.Notes = append(out.Notes, n)
		}
	}
	if len(pids) > 0 {
		if s.gpuID == "" && s.gpuIDErr == nil {
			s.gpuID, s.gpuIDErr = devamd.GPUID(s.root, s.dev)
		}
		var b int64
		perr := s.gpuIDErr
		if perr == nil {
			b, perr = devamd.ProcessVRAM(s.root, s.gpuID, pids)
		}
		if perr != nil {
			note("process_memory: " + perr.Error())
		} else {
			out.ProcessMemBytes = b
		}
	}
	if err != nil {
		note(err.Error())
		return out
	}
	for _, n := range r.Notes {
		note(n)
	}
	out.SMClockMHz, out.MemClockMHz, out.PowerW = r.SCLKMHz, r.MCLKMHz, r.PowerW
	out.TempC = Temperature(r)
	if r.VRAMUsedBytes >= 0 {
		out.MemUsedBytes = r.VRAMUsedBytes
	}
	return out
}

// Temperature is the one figure a sample has: the junction (hotspot)
// sensor, which is what throttles an AMD GPU; else edge; else the hottest.
func Temperature(r devamd.Sample) float64 {
	for _, l := range []string{"junction", "edge"} {
		if t, ok := r.TempC[l]; ok {
			return t
		}
	}
	if m := r.MaxTempC(); !math.IsNaN(m) {
		return m
	}
	return math.NaN()
}
