// Package nvidia is the telemetry sampler of NVIDIA GPUs, through NVML
// (go-nvml's nvml.Interface, so tests run on go-nvml's mock servers).
//
// A sample reads the SM and memory clocks (nvmlDeviceGetClockInfo), the
// current clock-event reasons (nvmlDeviceGetCurrentClocksEventReasons,
// or the older ...ThrottleReasons where the driver lacks it), power
// (nvmlDeviceGetPowerUsage, mW), the energy counter
// (nvmlDeviceGetTotalEnergyConsumption, mJ since the driver loaded;
// Volta and later), the temperature, the memory in use and, given the
// plugin's PIDs, the memory its processes hold
// (nvmlDeviceGetComputeRunningProcesses). A query the
// device does not support is asked once and then left out; one that
// fails is named in the sample's notes, once.
package nvidia

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/dlcompat/dlcompat/core/internal/nvmlcall"

	"github.com/dlcompat/dlcompat/core/telemetry"
	"github.com/dlcompat/dlcompat/matrix"
)

// Name is the sampler's name in the results.
const Name = "nvml"

// Sampler samples the GPUs of one NVML library.
type Sampler struct {
	lib nvml.Interface

	mu      sync.Mutex
	sources map[string]*source
}

var _ telemetry.Sampler = (*Sampler)(nil)

// Open initialises lib; Close shuts it down. An error says NVML could
// not start, and the run goes on without telemetry.
func Open(lib nvml.Interface) (*Sampler, error) {
	var ret nvml.Return
	if err := nvmlcall.Guard(func() { ret = lib.Init() }); err != nil {
		return nil, fmt.Errorf("NVML Init %v", err)
	}
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("NVML Init: %s", nvmlcall.RetName(ret))
	}
	return &Sampler{lib: lib, sources: map[string]*source{}}, nil
}

func (s *Sampler) Name() string { return Name }

// Close shuts NVML down.
func (s *Sampler) Close() error {
	var ret nvml.Return
	if err := nvmlcall.Guard(func() { ret = s.lib.Shutdown() }); err != nil {
		return fmt.Errorf("NVML Shutdown %v", err)
	}
	if ret != nvml.SUCCESS {
		return fmt.Errorf("NVML Shutdown: %s", nvmlcall.RetName(ret))
	}
	return nil
}

// Source finds d's handle: by UUID when the inventory has one, else by
// the index in its ID ("gpu:3").
func (s *Sampler) Source(d matrix.Device) (telemetry.Source, bool) {
	if d.Kind != matrix.KindGPU {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if src, ok := s.sources[d.ID]; ok {
		return src, true
	}
	var h nvml.Device
	ret := nvml.ERROR_NOT_FOUND
	if d.UUID != "" {
		_ = nvmlcall.Guard(func() { h, ret = s.lib.DeviceGetHandleByUUID(d.UUID) })
	}
	if ret != nvml.SUCCESS {
		idx, err := strconv.Atoi(strings.TrimPrefix(d.ID, "gpu:"))
		if err != nil {
			return nil, false
		}
		_ = nvmlcall.Guard(func() { h, ret = s.lib.DeviceGetHandleByIndex(idx) })
	}
	if ret != nvml.SUCCESS || h == nil {
		return nil, false
	}
	src := &source{h: h, skip: map[string]bool{}}
	s.sources[d.ID] = src
	return src, true
}

type source struct {
	h nvml.Device

	mu   sync.Mutex
	skip map[string]bool // queries not to ask again: unsupported, or failed once
	// legacyReasons: the driver lacks GetCurrentClocksEventReasons
	// (before R535); ask the ThrottleReasons call instead.
	legacyReasons bool
}

var _ telemetry.ProcessSource = (*source)(nil)

func (s *source) Sample() telemetry.Sample { return s.SampleProcesses(nil) }

// SampleProcesses is Sample with the device memory pids hold: the sum of
// their entries in nvmlDeviceGetComputeRunningProcesses (a process with
// no context on the device holds none). NVML reports host PIDs, so a
// containerised plugin's are the host's view of its processes.
func (s *source) SampleProcesses(pids []int) telemetry.Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := telemetry.Unknown(time.Now())
	ask := func(field string, fn func() nvml.Return) bool {
		if s.skip[field] {
			return false
		}
		var ret nvml.Return
		if err := nvmlcall.Guard(func() { ret = fn() }); err != nil {
			s.skip[field] = true
			out.Notes = append(out.Notes, fmt.Sprintf("%s: NVML %v", field, err))
			return false
		}
		switch ret {
		case nvml.SUCCESS:
			return true
		case nvml.ERROR_NOT_SUPPORTED:
			s.skip[field] = true
			out.Notes = append(out.Notes, field+": not supported by this GPU")
		default:
			s.skip[field] = true
			out.Notes = append(out.Notes, fmt.Sprintf("%s: NVML %s", field, nvmlcall.RetName(ret)))
		}
		return false
	}
	ask("sm_clock", func() nvml.Return {
		v, r := s.h.GetClockInfo(nvml.CLOCK_SM)
		out.SMClockMHz = float64(v)
		return r
	})
	ask("mem_clock", func() nvml.Return {
		v, r := s.h.GetClockInfo(nvml.CLOCK_MEM)
		out.MemClockMHz = float64(v)
		return r
	})
	ask("power", func() nvml.Return {
		v, r := s.h.GetPowerUsage()
		out.PowerW = float64(v) / 1000
		return r
	})
	ask("temperature", func() nvml.Return {
		v, r := s.h.GetTemperature(nvml.TEMPERATURE_GPU)
		out.TempC = float64(v)
		return r
	})
	ask("energy", func() nvml.Return {
		v, r := s.h.GetTotalEnergyConsumption()
		if v > math.MaxInt64 {
			return nvml.ERROR_UNKNOWN
		}
		out.EnergyMJ = int64(v)
		return r
	})
	ask("memory_used", func() nvml.Return {
		m, r := s.h.GetMemoryInfo()
		out.MemUsedBytes = int64(m.Used)
		return r
	})
	if len(pids) > 0 {
		ask("process_memory", func() nvml.Return {
			procs, r := s.h.GetComputeRunningProcesses()
			if r != nvml.SUCCESS {
				return r
			}
			b, ok := processBytes(procs, pids)
			if !ok {
				s.skip["process_memory"] = true
				out.Notes = append(out.Notes, "process_memory: the driver does not account the plugin's processes (NVML_VALUE_NOT_AVAILABLE)")
			}
			out.ProcessMemBytes = b
			return r
		})
	}
	s.reasons(&out, ask)
	for _, f := range []struct {
		name string
		v    *float64
	}{{"sm_clock", &out.SMClockMHz}, {"mem_clock", &out.MemClockMHz}, {"power", &out.PowerW}, {"temperature", &out.TempC}} {
		if s.skip[f.name] {
			*f.v = math.NaN()
		}
	}
	if s.skip["energy"] {
		out.EnergyMJ = -1
	}
	if s.skip["memory_used"] {
		out.MemUsedBytes = -1
	}
	if len(pids) == 0 || s.skip["process_memory"] {
		out.ProcessMemBytes = -1
	}
	return out
}

// notAvailable is NVML_VALUE_NOT_AVAILABLE, what usedGpuMemory reads when
// the driver does not account a process (Windows WDDM; some containers).
const notAvailable = math.MaxUint64

// processBytes sums the device memory of the processes among procs whose
// PID is in pids; false when one of them is not accounted.
func processBytes(procs []nvml.ProcessInfo, pids []int) (int64, bool) {
	var sum uint64
	for _, p := range procs {
		if !slices.Contains(pids, int(p.Pid)) {
			continue
		}
		if p.UsedGpuMemory == notAvailable {
			return 0, false
		}
		sum += p.UsedGpuMemory
	}
	return int64(min(sum, math.MaxInt64)), true
}

// reasons reads the clock-event reasons, falling back to the call's old
// name where the driver predates the new one.
func (s *source) reasons(out *telemetry.Sample, ask func(string, func() nvml.Return) bool) {
	if !s.legacyReasons && !s.skip["clock_event_reasons"] {
		var v uint64
		var ret nvml.Return
		err := nvmlcall.Guard(func() { v, ret = s.h.GetCurrentClocksEventReasons() })
		switch {
		case err == nil && ret == nvml.SUCCESS:
			out.Reasons, out.ReasonsKnown = fromNVML(v), true
			return
		case err != nil || ret == nvml.ERROR_FUNCTION_NOT_FOUND || ret == nvml.ERROR_NOT_SUPPORTED:
			s.legacyReasons = true
		default:
			ask("clock_event_reasons", func() nvml.Return { return ret })
			return
		}
	}
	ask("clock_event_reasons", func() nvml.Return {
		v, r := s.h.GetCurrentClocksThrottleReasons()
		if r == nvml.SUCCESS {
			out.Reasons, out.ReasonsKnown = fromNVML(v), true
		}
		return r
	})
}

// nvmlReasons maps NVML's bits onto telemetry's. go-nvml names the
// hardware-slowdown bits only ClocksThrottleReason* (their
// ClocksEventReason names were dropped from its generated constants);
// the values are the same either way.
var nvmlReasons = []struct {
	nvml uint64
	r    telemetry.Reason
}{
	{nvml.ClocksEventReasonGpuIdle, telemetry.ReasonGPUIdle},
	{nvml.ClocksEventReasonApplicationsClocksSetting, telemetry.ReasonAppClocksSetting},
	{nvml.ClocksEventReasonSwPowerCap, telemetry.ReasonSWPowerCap},
	{nvml.ClocksThrottleReasonHwSlowdown, telemetry.ReasonHWSlowdown},
	{nvml.ClocksEventReasonSyncBoost, telemetry.ReasonSyncBoost},
	{nvml.ClocksEventReasonSwThermalSlowdown, telemetry.ReasonSWThermalSlowdown},
	{nvml.ClocksThrottleReasonHwThermalSlowdown, telemetry.ReasonHWThermalSlowdown},
	{nvml.ClocksThrottleReasonHwPowerBrakeSlowdown, telemetry.ReasonHWPowerBrake},
	{nvml.ClocksEventReasonDisplayClockSetting, telemetry.ReasonDisplayClocks},
}

func fromNVML(v uint64) telemetry.Reason {
	var r telemetry.Reason
	left := v
	for _, m := range nvmlReasons {
		if v&m.nvml != 0 {
			r |= m.r
			left &^= m.nvml
		}
	}
	return r | telemetry.Reason(left) // bits not mapped keep their place, named by value
}
