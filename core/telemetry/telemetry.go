package telemetry

import (
	"math"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// Sampler gives the telemetry sources of a machine's devices.
type Sampler interface {
	// Name is what matrix.Telemetry.Source records ("nvml").
	Name() string
	// Source returns the source for d, or false when this sampler has
	// none (a device of another kind, or one it cannot find).
	Source(d matrix.Device) (Source, bool)
	// Close releases the sampler (NVML's Shutdown).
	Close() error
}

// Source reads one device.
type Source interface {
	// Sample reads the device now. A figure it cannot read is left
	// unknown (see Sample) and, the first time, named in Sample.Notes.
	Sample() Sample
}

// ProcessSource is a Source that can also read the device memory held by
// given host processes (NVML's per-process accounting): the plugin's.
type ProcessSource interface {
	Source
	// SampleProcesses is Sample with ProcessMemBytes: the device memory
	// the processes pids hold on this device now.
	SampleProcesses(pids []int) Sample
}

// Sample is one reading of a device. Unknown figures are NaN (the
// floats), -1 (EnergyMJ, MemUsedBytes, ProcessMemBytes) or ReasonsKnown
// false.
type Sample struct {
	At          time.Time
	SMClockMHz  float64
	MemClockMHz float64
	PowerW      float64
	TempC       float64
	// EnergyMJ is the device's energy counter, in millijoules since the
	// driver loaded.
	EnergyMJ     int64
	MemUsedBytes int64
	// ProcessMemBytes is the device memory the plugin's processes hold
	// (Options.Processes), of MemUsedBytes, which counts every process.
	ProcessMemBytes int64
	Reasons         Reason
	ReasonsKnown    bool
	// Notes name the figures a source could not read, once each.
	Notes []string
}

// Unknown is a sample with every figure unknown, taken at t.
func Unknown(t time.Time) Sample {
	nan := math.NaN()
	return Sample{At: t, SMClockMHz: nan, MemClockMHz: nan, PowerW: nan, TempC: nan, EnergyMJ: -1, MemUsedBytes: -1, ProcessMemBytes: -1}
}

// Options tune the sampling. DefaultOptions are the defaults.
type Options struct {
	// Interval between samples: 20 ms, about as often as NVML refreshes
	// power on current GPUs; a latency series of 100 one-millisecond
	// iterations still gets 5 samples.
	Interval time.Duration
	// Baseline is sampled before the plugin is called: 200 ms.
	Baseline time.Duration
	// Processes are the host PIDs of the plugin (its process and its
	// descendants: the framework's worker). A ProcessSource then reads
	// the device memory they hold; none: it is not read.
	Processes []int
}

// DefaultOptions are the sampling defaults.
func DefaultOptions() Options {
	return Options{Interval: 20 * time.Millisecond, Baseline: 200 * time.Millisecond}
}
