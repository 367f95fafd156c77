// Package nvmlfake extends go-nvml's own mock servers (dgxh200, dgxh100,
// dgxa100) with what they leave out and dlcompat reads: clocks and their
// clock-event (throttle) reasons, power and a running energy counter,
// temperature, memory in use, PCIe link state, ECC mode and error
// counters, retired pages and row remapping, persistence, firmware
// versions and application clocks. It is for tests only: the hardware
// this session lacks, faked at NVML's interface (docs/spec.md §11).
//
// Each GPU's State can be changed while a test runs (a GPU that starts
// to throttle, a link that trains down), under its lock.
package nvmlfake

import (
	"sync"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh200"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// State is one fake GPU's readings.
type State struct {
	SMClockMHz, MemClockMHz       uint32
	MaxSMClockMHz, MaxMemClockMHz uint32
	AppSMClockMHz, AppMemClockMHz uint32
	// PowerW is the draw; the energy counter integrates it over time.
	PowerW       float64
	PowerLimitW  float64
	TempC        uint32
	MemUsedBytes uint64
	// Processes lists the compute processes on the GPU and the memory
	// each holds (GetComputeRunningProcesses), asked at each call: a test
	// may name processes it starts later. nil: none.
	Processes func() []nvml.ProcessInfo
	// Reasons are NVML clock-event reason bits (nvml.ClocksEventReason*,
	// nvml.ClocksThrottleReason*).
	Reasons uint64
	// LegacyReasons makes GetCurrentClocksEventReasons missing
	// (ERROR_FUNCTION_NOT_FOUND), as on drivers before R535.
	LegacyReasons bool
	// NoEnergy makes the energy counter unsupported (before Volta).
	NoEnergy bool

	PCIeGen, PCIeWidth, PCIeMaxGen, PCIeMaxWidth int
	ECC                                          bool
	VolatileUncorrected                          uint64
	RetiredPagesPending                          bool
	RowRemapPending, RowRemapFailure             bool
	Persistence                                  bool
	VBIOS, InfoROM                               string
	CUDACores                                    int
	MemoryBusWidthBits                           uint32
}

// GPU is one fake GPU: its mock device and its state.
type GPU struct {
	Device *server.Device

	mu       sync.Mutex
	state    State
	energyMJ float64
	last     time.Time
}

// Update changes the GPU's state under its lock.
func (g *GPU) Update(fn func(*State)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance()
	fn(&g.state)
}

// EnergyMJ is the counter now.
func (g *GPU) EnergyMJ() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance()
	return uint64(g.energyMJ)
}

func (g *GPU) advance() {
	now := time.Now()
	if !g.last.IsZero() {
		g.energyMJ += g.state.PowerW * now.Sub(g.last).Seconds() * 1000
	}
	g.last = now
}

func (g *GPU) read(fn func(*State)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance()
	fn(&g.state)
}

// H200 is a healthy H200 SXM 141GB as a busy GPU reads: boost clocks, no
// throttling, Gen5 x16, ECC on and clean, persistence on.
func H200() State {
	return State{
		SMClockMHz: 1980, MemClockMHz: 3201, MaxSMClockMHz: 1980, MaxMemClockMHz: 3201,
		AppSMClockMHz: 1785, AppMemClockMHz: 3201, PowerW: 412.5, PowerLimitW: 700, TempC: 47,
		MemUsedBytes: 2 << 30, PCIeGen: 5, PCIeWidth: 16, PCIeMaxGen: 5, PCIeMaxWidth: 16,
		ECC: true, Persistence: true, VBIOS: "96.00.A5.00.01", InfoROM: "G520.0200.00.05",
		CUDACores: 16896, MemoryBusWidthBits: 6144,
	}
}

// H100 is the same for an H100 SXM5 80GB.
func H100() State {
	s := H200()
	s.MemClockMHz, s.MaxMemClockMHz, s.AppMemClockMHz, s.MemoryBusWidthBits = 2619, 2619, 2619, 5120
	s.VBIOS = "96.00.74.00.01"
	return s
}

// NewH200 is go-nvml's dgxh200 server (8 H200s) with every GPU in state
// s; NewH100 the dgxh100 one.
func NewH200(s State) (*server.Server, []*GPU) { return extend(dgxh200.New(), s) }
func NewH100(s State) (*server.Server, []*GPU) { return extend(dgxh100.New(), s) }

// Extend adds the fake readings to a server's devices, each in state s.
func extend(srv *server.Server, s State) (*server.Server, []*GPU) {
	var out []*GPU
	for _, d := range srv.Devices {
		dev := d.(*server.Device)
		g := &GPU{Device: dev, state: s, energyMJ: 1_000_000_000} // a counter that has been running a while
		g.wire()
		out = append(out, g)
	}
	return srv, out
}

func enable(b bool) nvml.EnableState {
	if b {
		return nvml.FEATURE_ENABLED
	}
	return nvml.FEATURE_DISABLED
}

func (g *GPU) wire() {
	d := g.Device
	d.GetPciInfoFunc = func() (nvml.PciInfo, nvml.Return) {
		p := nvml.PciInfo{PciDeviceId: d.Config.PciDeviceId}
		for i := 0; i < len(d.PciBusID) && i < len(p.BusId)-1; i++ {
			p.BusId[i] = int8(d.PciBusID[i])
		}
		return p, nvml.SUCCESS
	}
	d.GetClockInfoFunc = func(t nvml.ClockType) (v uint32, r nvml.Return) {
		g.read(func(s *State) {
			switch t {
			case nvml.CLOCK_SM, nvml.CLOCK_GRAPHICS:
				v = s.SMClockMHz
			case nvml.CLOCK_MEM:
				v = s.MemClockMHz
			default:
				r = nvml.ERROR_NOT_SUPPORTED
			}
		})
		return v, r
	}
	d.GetMaxClockInfoFunc = func(t nvml.ClockType) (v uint32, r nvml.Return) {
		g.read(func(s *State) {
			switch t {
			case nvml.CLOCK_SM, nvml.CLOCK_GRAPHICS:
				v = s.MaxSMClockMHz
			case nvml.CLOCK_MEM:
				v = s.MaxMemClockMHz
			default:
				r = nvml.ERROR_NOT_SUPPORTED
			}
		})
		return v, r
	}
	d.GetApplicationsClockFunc = func(t nvml.ClockType) (v uint32, r nvml.Return) {
		g.read(func(s *State) {
			switch t {
			case nvml.CLOCK_SM, nvml.CLOCK_GRAPHICS:
				v = s.AppSMClockMHz
			case nvml.CLOCK_MEM:
				v = s.AppMemClockMHz
			default:
				r = nvml.ERROR_NOT_SUPPORTED
			}
		})
		return v, r
	}
	d.GetPowerUsageFunc = func() (v uint32, r nvml.Return) {
		g.read(func(s *State) { v = uint32(s.PowerW * 1000) })
		return v, r
	}
	d.GetEnforcedPowerLimitFunc = func() (v uint32, r nvml.Return) {
		g.read(func(s *State) { v = uint32(s.PowerLimitW * 1000) })
		return v, r
	}
	d.GetTotalEnergyConsumptionFunc = func() (v uint64, r nvml.Return) {
		g.read(func(s *State) {
			if s.NoEnergy {
				r = nvml.ERROR_NOT_SUPPORTED
				return
			}
			v = uint64(g.energyMJ)
		})
		return v, r
	}
	d.GetTemperatureFunc = func(nvml.TemperatureSensors) (v uint32, r nvml.Return) {
		g.read(func(s *State) { v = s.TempC })
		return v, r
	}
	d.GetMemoryInfoFunc = func() (m nvml.Memory, r nvml.Return) {
		g.read(func(s *State) {
			m = d.MemoryInfo
			m.Used = s.MemUsedBytes
			m.Free = m.Total - min(m.Total, m.Used)
		})
		return m, r
	}
	d.GetComputeRunningProcessesFunc = func() (procs []nvml.ProcessInfo, r nvml.Return) {
		var list func() []nvml.ProcessInfo
		g.read(func(s *State) { list = s.Processes })
		if list != nil {
			procs = list() // outside the lock: it may look the processes up
		}
		return procs, nvml.SUCCESS
	}
	d.GetCurrentClocksEventReasonsFunc = func() (v uint64, r nvml.Return) {
		g.read(func(s *State) {
			if s.LegacyReasons {
				r = nvml.ERROR_FUNCTION_NOT_FOUND
				return
			}
			v = s.Reasons
		})
		return v, r
	}
	d.GetCurrentClocksThrottleReasonsFunc = func() (v uint64, r nvml.Return) {
		g.read(func(s *State) { v = s.Reasons })
		return v, r
	}
	d.GetCurrPcieLinkGenerationFunc = func() (v int, r nvml.Return) {
		g.read(func(s *State) { v = s.PCIeGen })
		return v, r
	}
	d.GetCurrPcieLinkWidthFunc = func() (v int, r nvml.Return) {
		g.read(func(s *State) { v = s.PCIeWidth })
		return v, r
	}
	d.GetMaxPcieLinkGenerationFunc = func() (v int, r nvml.Return) {
		g.read(func(s *State) { v = s.PCIeMaxGen })
		return v, r
	}
	d.GetMaxPcieLinkWidthFunc = func() (v int, r nvml.Return) {
		g.read(func(s *State) { v = s.PCIeMaxWidth })
		return v, r
	}
	d.GetEccModeFunc = func() (cur, pend nvml.EnableState, r nvml.Return) {
		g.read(func(s *State) { cur, pend = enable(s.ECC), enable(s.ECC) })
		return cur, pend, r
	}
	d.GetTotalEccErrorsFunc = func(t nvml.MemoryErrorType, c nvml.EccCounterType) (v uint64, r nvml.Return) {
		g.read(func(s *State) {
			if !s.ECC {
				r = nvml.ERROR_NOT_SUPPORTED
				return
			}
			if t == nvml.MEMORY_ERROR_TYPE_UNCORRECTED && c == nvml.VOLATILE_ECC {
				v = s.VolatileUncorrected
			}
		})
		return v, r
	}
	d.GetRetiredPagesPendingStatusFunc = func() (v nvml.EnableState, r nvml.Return) {
		g.read(func(s *State) { v = enable(s.RetiredPagesPending) })
		return v, r
	}
	d.GetRemappedRowsFunc = func() (corr, unc int, pending, failure bool, r nvml.Return) {
		g.read(func(s *State) { pending, failure = s.RowRemapPending, s.RowRemapFailure })
		return corr, unc, pending, failure, r
	}
	d.GetPersistenceModeFunc = func() (v nvml.EnableState, r nvml.Return) {
		g.read(func(s *State) { v = enable(s.Persistence) })
		return v, r
	}
	d.GetVbiosVersionFunc = func() (v string, r nvml.Return) {
		g.read(func(s *State) { v = s.VBIOS })
		return v, r
	}
	d.GetInforomImageVersionFunc = func() (v string, r nvml.Return) {
		g.read(func(s *State) { v = s.InfoROM })
		return v, r
	}
	d.GetNumGpuCoresFunc = func() (v int, r nvml.Return) {
		g.read(func(s *State) { v = s.CUDACores })
		return v, r
	}
	d.GetMemoryBusWidthFunc = func() (v uint32, r nvml.Return) {
		g.read(func(s *State) { v = s.MemoryBusWidthBits })
		return v, r
	}
}
