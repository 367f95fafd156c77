package pluginapi

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/go-plugin"
)

// Framework is what every plugin implements.
type Framework interface {
	Describe(ctx context.Context, req DescribeRequest) (DescribeResponse, error)
	Run(ctx context.Context, req RunRequest) (RunResponse, error)
}

// ProtocolVersion is the newest protocol this build speaks. Bump it, and
// add a set to PluginSets, when a change would mislead an older peer.
const ProtocolVersion = 1

// PluginName is the name under which the Framework is dispensed.
const PluginName = "framework"

// Handshake is shared by host and plugins. The cookie never changes: it
// only tells a plugin binary run by hand that it is not meant to be.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "DLCOMPAT_PLUGIN",
	MagicCookieValue: "a3f1c2d4-dlcompat-framework-plugin",
}

// PluginSets returns the versioned plugin sets: host and plugin agree on
// the newest version both have. impl is nil on the host side.
func PluginSets(impl Framework) map[int]plugin.PluginSet {
	return map[int]plugin.PluginSet{
		1: {PluginName: &GRPCPlugin{Impl: impl}},
	}
}

// Checks a plugin can be asked to run.
const (
	CheckForward     = "forward"
	CheckBackward    = "backward"
	CheckDeterminism = "determinism"
	CheckPerf        = "perf"
)

// AllChecks lists the checks in report order.
var AllChecks = []string{CheckForward, CheckBackward, CheckDeterminism, CheckPerf}

// CheckCharacterise measures the device through the framework rather
// than a model (docs/spec.md §10): memory bandwidth, host↔device copies
// and matrix-multiply throughput per precision. It is a device check:
// one cell per row and device, with no model and no precision in its
// key. A plugin offers it by listing it in its capabilities; it is not in
// AllChecks, which are the model checks every kit implements.
const CheckCharacterise = "characterise"

// DeviceChecks are the checks that measure a device, not a model.
var DeviceChecks = []string{CheckCharacterise}

// Timing names of the characterise check (docs/spec.md §10.1). Batch is
// the number of float32 elements of each array for the streams, and the
// matrix size n (n×n by n×n) for a GEMM.
const (
	TimingCopy  = "copy"  // dst = src on the device
	TimingTriad = "triad" // a = b + s·c on the device
	TimingH2D   = "h2d"   // pinned host memory → device
	TimingD2H   = "d2h"   // device → pinned host memory
	// TimingGEMMPrefix + a precision mode: C = A·B in that mode.
	TimingGEMMPrefix = "gemm_"
)

// GEMMTiming is the name of the GEMM series of mode precision.
func GEMMTiming(precision string) string { return TimingGEMMPrefix + precision }

// Precision modes (docs/spec.md §9), in report order.
const (
	PrecisionFP64 = "fp64" // the whole model in float64
	PrecisionFP32 = "fp32" // strict float32: TF32 and similar off
	PrecisionTF32 = "tf32" // float32 with TF32 math in matmul and convolution
	PrecisionBF16 = "bf16" // the framework's bfloat16 autocast / mixed policy
	PrecisionFP16 = "fp16" // the framework's float16 autocast / mixed policy
)

// AllPrecisions lists the modes in report order.
var AllPrecisions = []string{PrecisionFP64, PrecisionFP32, PrecisionTF32, PrecisionBF16, PrecisionFP16}

// Evidence keys a plugin may report in RunResponse.PrecisionEvidence.
const (
	EvidenceOutputDType     = "output_dtype"     // dtype of the logits as the framework returned them
	EvidenceActivationDType = "activation_dtype" // dtype of one intermediate activation
)

// Status values of a RunResponse.
const (
	StatusOK    = "ok"
	StatusError = "error"
	StatusSkip  = "skip"
	// StatusCrash: the process that runs the framework inside the plugin
	// (a Python worker) died or broke its protocol; Message carries its
	// last lines. The plugin itself lives on and starts a new one.
	StatusCrash = "crash"
)

// Names inside RunRequest.Inputs and RunResponse.Outputs (safetensors).
const (
	InputName  = "input"  // float32 model input
	LabelsName = "labels" // int64 labels for the loss

	OutputLogits = "logits" // float32 [N,10]
	OutputLoss   = "loss"   // float32 [1]
	// Prefixes: "act.<activation name>", "grad.<parameter name>".
	ActivationPrefix = "act."
	GradPrefix       = "grad."
	// RepeatPrefix marks the second run of a determinism check: the host
	// compares "repeat.<name>" with "<name>" bit for bit.
	RepeatPrefix = "repeat."
)

// Capabilities declare what a plugin can do; the host checks them before
// calling rather than probing.
type Capabilities struct {
	Models      []string
	Checks      []string
	Precisions  []string
	Activations bool
}

// Has reports whether list contains s.
func Has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Device is a device a plugin can compute on.
type Device struct {
	ID   string // "cpu", "gpu:0", "rocm:0"
	Kind string // "cpu" | "gpu" | "rocm" (an AMD GPU, torch.cuda on a ROCm build)
	Name string
	UUID string
	// Precisions are the modes the plugin runs on this device, a subset
	// of Capabilities.Precisions; empty means all of them.
	Precisions []string
}

type DescribeRequest struct {
	HostCapabilities []string
}

type DescribeResponse struct {
	Framework    string
	Version      string
	Build        map[string]string
	Devices      []Device
	Capabilities Capabilities
	Warnings     []string
	// Unavailable, when set, says why the framework cannot run here.
	Unavailable string
	Interpreter string
}

// PerfOptions steer the perf check (docs/spec.md §7). The host always
// sends every field; a zero is a zero (no warm-up), never "the default".
type PerfOptions struct {
	Warmup            int   // untimed iterations first
	Iterations        int   // timed iterations per series: the minimum (exactly this when TargetPrecision is 0)
	LatencyBatch      int   // batch of the latency series
	ThroughputBatches []int // batches of the throughput series
	TrainBatch        int   // batch of the training step
	// Adaptive timing (docs/spec.md §7.1): past Iterations a series times
	// on until its median is known within TargetPrecision (relative
	// half-width of the median's 95 % confidence interval), or until
	// MaxIterations timed iterations or MaxSeconds of timed time.
	MaxIterations   int
	MaxSeconds      float64
	TargetPrecision float64
}

// DefaultPerfOptions are the defaults of a run: the one place they live.
func DefaultPerfOptions() PerfOptions {
	return PerfOptions{Warmup: 5, Iterations: 20, LatencyBatch: 1, ThroughputBatches: []int{32, 128}, TrainBatch: 32,
		MaxIterations: 1000, MaxSeconds: 2, TargetPrecision: 0.02}
}

// Validate says what is wrong with p, if anything: a kit refuses such a
// request rather than guess.
func (p PerfOptions) Validate() error {
	var bad []string
	if p.Warmup < 0 {
		bad = append(bad, fmt.Sprintf("warmup %d < 0", p.Warmup))
	}
	if p.Iterations < 1 {
		bad = append(bad, fmt.Sprintf("iterations %d < 1", p.Iterations))
	}
	if p.LatencyBatch < 1 {
		bad = append(bad, fmt.Sprintf("latency batch %d < 1", p.LatencyBatch))
	}
	if p.TrainBatch < 1 {
		bad = append(bad, fmt.Sprintf("train batch %d < 1", p.TrainBatch))
	}
	if p.TargetPrecision < 0 || p.TargetPrecision >= 1 {
		bad = append(bad, fmt.Sprintf("target precision %g outside [0, 1) (0: exactly the iterations asked for)", p.TargetPrecision))
	}
	if p.TargetPrecision > 0 && p.MaxIterations < p.Iterations {
		bad = append(bad, fmt.Sprintf("max iterations %d < iterations %d (raise --perf-max-iterations, or time exactly --perf-iterations with --perf-precision 0)", p.MaxIterations, p.Iterations))
	}
	if p.TargetPrecision > 0 && !(p.MaxSeconds > 0) {
		bad = append(bad, fmt.Sprintf("max seconds %g not > 0", p.MaxSeconds))
	}
	if len(p.ThroughputBatches) == 0 {
		bad = append(bad, "no throughput batch")
	}
	for _, b := range p.ThroughputBatches {
		if b < 1 {
			bad = append(bad, fmt.Sprintf("throughput batch %d < 1", b))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("bad perf options: %s", strings.Join(bad, ", "))
	}
	return nil
}

type RunRequest struct {
	Model     string
	Check     string
	Device    string
	Precision string
	// Weights and Inputs are safetensors bytes (see the name constants).
	Weights         []byte
	Inputs          []byte
	WantActivations bool
	Perf            PerfOptions
}

// Timing names.
const (
	TimingLatency    = "latency"    // forward at LatencyBatch, seconds per call
	TimingThroughput = "throughput" // forward at a throughput batch, seconds per call
	TimingTrainStep  = "train_step" // forward+backward at TrainBatch, seconds per call
)

// Timing is one series of raw samples, measured inside the plugin.
type Timing struct {
	Name    string
	Unit    string
	Batch   int
	Samples []float64
	// WindowStart and WindowEnd bound the timed iterations of the series
	// (warm-ups excluded) on the plugin's wall clock, which is the host's
	// (a subprocess, or a container on the same kernel); zero when the
	// plugin does not report them. The host cuts the device telemetry it
	// samples around the perf call to this window.
	WindowStart, WindowEnd time.Time
	// Precision is the relative precision of the median the series
	// reached (MedianPrecision; 0: not reported); Capped says a cap
	// stopped it before PerfOptions.TargetPrecision.
	Precision float64
	Capped    bool
	// Timer is the clock the samples were read from (TimerHost,
	// TimerCUDAEvent, TimerHIPEvent); "" when the plugin does not say.
	Timer string
}

// Timers a plugin may name for its series (docs/spec.md §7.1).
const (
	// TimerHost: the plugin's monotonic clock read before and after a
	// call that ends with the device synchronised.
	TimerHost = "host_monotonic"
	// TimerCUDAEvent and TimerHIPEvent: events recorded on the device's
	// stream before and after the call, their elapsed time read once the
	// stream is synchronised; host-side launch gaps are not in it.
	TimerCUDAEvent = "cuda_event"
	TimerHIPEvent  = "hip_event"
)

// Memory kinds of a plugin's resident set (RunResponse.MemoryKind on the
// CPU). docs/spec.md §7.5 lists every kind, the frameworks' allocators'
// included; a kind names one counter, so two cells compare only when their
// kinds agree.
const (
	// MemoryCallPeakRSS: the plugin process's peak resident set during
	// this call alone (Linux: VmHWM after clearing it at the call's start).
	MemoryCallPeakRSS = "call_peak_rss"
	// MemoryProcessMaxRSS: the process's peak resident set since it
	// started (getrusage), where the per-call reset is unavailable.
	MemoryProcessMaxRSS = "process_max_rss"
)

type RunResponse struct {
	Status          string
	Message         string
	Outputs         []byte
	Timings         []Timing
	PeakMemoryBytes int64
	MemoryKind      string
	Warnings        []string
	// ComputeSeconds is the time the plugin spent in the framework for
	// this call (building and running the model, and the perf loop),
	// measured inside the plugin; 0 when the plugin does not measure it.
	// The host compares it with the cell's wall time to see its own
	// overhead.
	ComputeSeconds float64
	// PrecisionInEffect is the mode the framework really ran in, read back
	// from its own switches, with what was read (PrecisionEvidence, keys
	// such as EvidenceOutputDType); the host refuses a cell whose mode is
	// not the one asked for. "" from a plugin that does not say.
	PrecisionInEffect string
	PrecisionEvidence map[string]string
}

// InterpreterEnvPrefix starts the environment variable that names the
// Python interpreter of a Python-backed plugin under the local executor:
// DLCOMPAT_PYTHON_<FRAMEWORK> (upper case), e.g. DLCOMPAT_PYTHON_TENSORFLOW.
// Its value is a path or a command line ("docker run -i IMAGE python3").
const InterpreterEnvPrefix = "DLCOMPAT_PYTHON_"

// InterpreterEnv returns the variable naming framework's interpreter.
func InterpreterEnv(framework string) string {
	b := []byte(framework)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			b[i] = '_'
		}
	}
	return InterpreterEnvPrefix + string(b)
}
