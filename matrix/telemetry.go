package matrix

import "strings"

// Telemetry is what the host sampled on a device while one perf series
// ran (docs/spec.md §11): clocks, clock-event reasons, power, energy,
// temperature and memory, over the series' timed window, with a short
// baseline taken before the plugin was called. A figure the sampler
// could not read is left at zero and named in Notes.
type Telemetry struct {
	// Source is the sampler: "nvml".
	Source string `json:"source"`
	// Window is what the samples cover: WindowSeries (the plugin's timed
	// window of this series, warm-ups excluded) or WindowCall (the whole
	// perf call, every series and warm-up in it: the plugin did not
	// report its windows).
	Window        string  `json:"window"`
	WindowSeconds float64 `json:"window_seconds"`
	// Samples is how many samples fell inside the window.
	Samples           int     `json:"samples"`
	SMClockMedianMHz  float64 `json:"sm_clock_median_mhz,omitempty"`
	SMClockMinMHz     float64 `json:"sm_clock_min_mhz,omitempty"`
	MemClockMedianMHz float64 `json:"mem_clock_median_mhz,omitempty"`
	// ClockEventReasons are the reasons the driver gave for holding the
	// clocks below their maximum, OR-ed over the window ("sw_power_cap",
	// "hw_thermal_slowdown", "gpu_idle"…).
	ClockEventReasons []string `json:"clock_event_reasons,omitempty"`
	// Throttled is set when a thermal or power reason (hardware or
	// software) fired during the window; ThrottleReasons names them. A
	// throttled series measured the cooling or the power supply as much
	// as the framework.
	Throttled       bool     `json:"throttled,omitempty"`
	ThrottleReasons []string `json:"throttle_reasons,omitempty"`
	PowerMedianW    float64  `json:"power_median_w,omitempty"`
	PowerMaxW       float64  `json:"power_max_w,omitempty"`
	// EnergyJ is the energy used during the window, in joules: the delta
	// of the device's energy counter (millijoules) when it has one
	// (EnergyFrom "counter"), else power integrated over the samples
	// ("power").
	EnergyJ    float64 `json:"energy_j,omitempty"`
	EnergyFrom string  `json:"energy_from,omitempty"`
	// JoulesPerItem is EnergyJ over the items the window processed
	// (iterations × batch); JoulesPerStep, for a training-step series,
	// EnergyJ over its iterations. Both are 0 for a WindowCall sample,
	// whose energy is not the series' alone.
	JoulesPerItem      float64 `json:"joules_per_item,omitempty"`
	JoulesPerStep      float64 `json:"joules_per_step,omitempty"`
	TempMaxC           float64 `json:"temp_max_c,omitempty"`
	MemoryUsedMaxBytes uint64  `json:"memory_used_max_bytes,omitempty"`
	// ProcessMemoryMaxBytes is the most device memory the plugin's own
	// processes held during the window (NVML per process: every compute
	// context the framework made, its allocator's cache included), where
	// MemoryUsedMaxBytes counts every process on the device.
	ProcessMemoryMaxBytes uint64 `json:"process_memory_max_bytes,omitempty"`
	// Baseline is the device before the plugin was called.
	Baseline *TelemetryBaseline `json:"baseline,omitempty"`
	Notes    []string           `json:"notes,omitempty"`
}

// The windows of Telemetry.Window.
const (
	WindowSeries = "series"
	WindowCall   = "call"
)

// TelemetryBaseline is the idle device just before a perf call.
type TelemetryBaseline struct {
	Seconds           float64  `json:"seconds"`
	Samples           int      `json:"samples"`
	SMClockMedianMHz  float64  `json:"sm_clock_median_mhz,omitempty"`
	PowerMedianW      float64  `json:"power_median_w,omitempty"`
	TempMaxC          float64  `json:"temp_max_c,omitempty"`
	MemoryUsedBytes   uint64   `json:"memory_used_bytes,omitempty"`
	ClockEventReasons []string `json:"clock_event_reasons,omitempty"`
}

// Throttled reports whether the series ran while the device throttled.
func (t Timing) Throttled() bool { return t.Telemetry != nil && t.Telemetry.Throttled }

// Throttled reports whether any of the cell's series ran throttled.
func (c Cell) Throttled() bool {
	for _, t := range c.Timings {
		if t.Throttled() {
			return true
		}
	}
	return false
}

// ThrottleText is "throttled (sw_power_cap, hw_slowdown)", or "" for a
// series that did not throttle.
func (t Timing) ThrottleText() string {
	if !t.Throttled() {
		return ""
	}
	return "throttled (" + strings.Join(t.Telemetry.ThrottleReasons, ", ") + ")"
}

// PreflightStatus is the outcome of one preflight check. It is an axis
// of its own, never a cell's status: a preflight problem says the
// machine is suspect, not the framework.
type PreflightStatus string

const (
	PreflightOK   PreflightStatus = "ok"
	PreflightWarn PreflightStatus = "warn" // measurements may be off: look before trusting them
	PreflightBad  PreflightStatus = "bad"  // the device or host is faulty or misconfigured
	PreflightNA   PreflightStatus = "n/a"  // the device does not support the check
)

// PreflightHost is PreflightCheck.Device for a check of the host.
const PreflightHost = "host"

// PreflightCheck is one check of a device (or the host) made before its
// cells ran (docs/spec.md §11.2).
type PreflightCheck struct {
	// Device is a device ID or PreflightHost.
	Device string          `json:"device"`
	Name   string          `json:"name"`
	Status PreflightStatus `json:"status"`
	Detail string          `json:"detail,omitempty"`
}

// PreflightProblems counts the preflight checks that are warn or bad.
func (r *Run) PreflightProblems() (warn, bad int) {
	for _, p := range r.Preflight {
		switch p.Status {
		case PreflightWarn:
			warn++
		case PreflightBad:
			bad++
		}
	}
	return warn, bad
}

// Packages is what was installed where a framework ran: its image's
// (or interpreter's) packages, and a digest of the list, so two runs'
// environments compare in one string.
type Packages struct {
	// Digest is "sha256:" and the hex SHA-256 of the sorted list, one
	// "manager name version" line each.
	Digest string `json:"digest"`
	// From says how the list was read ("pip list, dpkg-query in image
	// sha256:…").
	From  string    `json:"from"`
	Items []Package `json:"items"`
}

// Package is one installed package.
type Package struct {
	// Manager is "pip", "dpkg" or "go" (a module in the plugin binary).
	Manager string `json:"manager"`
	Name    string `json:"name"`
	Version string `json:"version"`
}
