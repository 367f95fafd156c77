package matrix

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// SchemaVersion is the version of the run document. Readers refuse other
// versions rather than guess.
const SchemaVersion = 1

// Status is a cell's outcome (docs/spec.md §5.6).
type Status string

const (
	Pass    Status = "pass"    // ran, numbers within tolerance
	Fail    Status = "fail"    // ran, numbers wrong
	Error   Status = "error"   // the framework raised
	Crash   Status = "crash"   // the plugin process died
	Timeout Status = "timeout" // over the per-check limit; the plugin was killed
	Skip    Status = "skip"    // not applicable or not installed, with the reason
	Unknown Status = "unknown" // expected but no result arrived; never a pass
)

// Statuses lists every status in report order.
var Statuses = []Status{Pass, Fail, Error, Crash, Timeout, Skip, Unknown}

// Finished reports whether a cell with this status needs no rerun on resume.
func (s Status) Finished() bool { return s != Unknown && s != "" }

// Bad reports whether the status makes the run exit non-zero.
func (s Status) Bad() bool {
	return s == Fail || s == Error || s == Crash || s == Timeout || s == Unknown
}

// Run is one run of dlcompat: what ran where, and every cell's result.
type Run struct {
	SchemaVersion int       `json:"schema_version"`
	RunID         string    `json:"run_id"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished,omitempty"`
	// ElapsedSeconds is the time the run spent running, summed over its
	// sessions when it was resumed (Finished − Started would count the
	// pause between them); 0 in documents that do not record it.
	ElapsedSeconds  float64         `json:"elapsed_seconds,omitempty"`
	Host            Host            `json:"host"`
	DlcompatVersion string          `json:"dlcompat_version"`
	Config          json.RawMessage `json:"config,omitempty"`
	ConfigHash      string          `json:"config_hash"`
	// Shard is "k/n" for one shard of a fanned-out run (dlcompat run
	// --shard); empty for a whole run or a merged one.
	Shard string `json:"shard,omitempty"`
	// Shards lists, in a merged run, the documents it was merged from.
	Shards      []ShardInfo `json:"shards,omitempty"`
	Devices     []Device    `json:"devices"`
	DeviceNotes []string    `json:"device_notes,omitempty"`
	// Preflight is what was checked on each device (and the host) before
	// its cells ran (docs/spec.md §11.2).
	Preflight  []PreflightCheck `json:"preflight,omitempty"`
	Frameworks []Framework      `json:"frameworks"`
	Cells      []Cell           `json:"cells"`
	Notes      []string         `json:"notes,omitempty"`
}

// Host describes the machine that ran the host process.
type Host struct {
	Hostname string `json:"hostname"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	CPUs     int    `json:"cpus"`
	Go       string `json:"go"`
}

// Framework is one framework-version row source: a plugin as it described
// itself, and how it was started.
type Framework struct {
	Name        string            `json:"name"`
	Version     string            `json:"version"`
	Build       map[string]string `json:"build,omitempty"`
	Executor    string            `json:"executor"`
	Plugin      string            `json:"plugin"`
	Image       string            `json:"image,omitempty"`
	ImageDigest string            `json:"image_digest,omitempty"`
	Interpreter string            `json:"interpreter,omitempty"`
	Unavailable string            `json:"unavailable,omitempty"`
	Warnings    []string          `json:"warnings,omitempty"`
	// Packages is what was installed where the plugin ran, read once
	// per image (or interpreter); PackagesNote says why there is no list.
	Packages     *Packages `json:"packages,omitempty"`
	PackagesNote string    `json:"packages_note,omitempty"`
}

// CellKey identifies a cell. Two runs' cells with the same key measured
// the same thing.
type CellKey struct {
	Framework        string `json:"framework"`
	FrameworkVersion string `json:"framework_version"`
	Device           string `json:"device"`
	Model            string `json:"model"`
	Check            string `json:"check"`
	Precision        string `json:"precision"`
}

func (k CellKey) String() string {
	if k.Model == "" { // a device check (docs/spec.md §10)
		return fmt.Sprintf("%s %s × %s × %s", k.Framework, k.FrameworkVersion, k.Device, k.Check)
	}
	return fmt.Sprintf("%s %s × %s × %s × %s", k.Framework, k.FrameworkVersion, k.Device, k.Model, k.Check)
}

// Cell is the result of one check of one model on one device.
type Cell struct {
	CellKey
	Status Status `json:"status"`
	Reason string `json:"reason,omitempty"`

	// Measured errors against the oracle, pass or fail (numeric checks).
	MaxAbsErr *Float `json:"max_abs_err,omitempty"`
	MaxRelErr *Float `json:"max_rel_err,omitempty"`
	// Worst names the tensor (output, activation or parameter gradient)
	// and index where the error is largest relative to its tolerance.
	Worst               string `json:"worst,omitempty"`
	FirstDivergingLayer string `json:"first_diverging_layer,omitempty"`
	// PrecisionEvidence is what the plugin read back from its framework to
	// show the precision in effect (output and activation dtypes, TF32 and
	// autocast switches).
	PrecisionEvidence map[string]string `json:"precision_evidence,omitempty"`
	Tolerance         *Tolerance        `json:"tolerance,omitempty"`
	Tensors           []TensorError     `json:"tensors,omitempty"`

	Timings         []Timing `json:"timings,omitempty"`
	PeakMemoryBytes int64    `json:"peak_memory_bytes,omitempty"`
	MemoryKind      string   `json:"memory_kind,omitempty"`

	Warnings   []string  `json:"warnings,omitempty"`
	StderrTail string    `json:"stderr_tail,omitempty"`
	Started    time.Time `json:"started,omitempty"`
	// Seconds is the cell's wall time seen by the host, around the plugin
	// call; ComputeSeconds the part the plugin reports it spent in the
	// framework (building and running the model), 0 when it does not say.
	Seconds        float64 `json:"seconds"`
	ComputeSeconds float64 `json:"compute_seconds,omitempty"`
	// Reproduce is one command line that runs this cell alone again.
	Reproduce string `json:"reproduce,omitempty"`
}

// Tolerance is the rule a numeric cell was judged by. A reduced-precision
// cell also records the bound its max abs error was held to, relative to
// its fp32 twin's error (docs/spec.md §9).
type Tolerance struct {
	RTol float64 `json:"rtol"`
	ATol float64 `json:"atol"`
	// RelL2, when set, replaced the elementwise rule: each tensor's
	// ‖got − want‖₂ ≤ RelL2·‖want‖₂.
	RelL2 float64 `json:"rel_l2,omitempty"`
	// MaxAbsBound, when set, is max(Multiplier × the fp32 error, Floor).
	MaxAbsBound float64 `json:"max_abs_bound,omitempty"`
}

// TensorError is the comparison of one tensor against the oracle.
type TensorError struct {
	Name       string `json:"name"`
	MaxAbsErr  Float  `json:"max_abs_err"`
	MaxRelErr  Float  `json:"max_rel_err"`
	WorstIndex []int  `json:"worst_index,omitempty"`
	Violations int    `json:"violations"`
	Pass       bool   `json:"pass"`
}

// Timing is one series of raw samples with its summary. Samples are kept
// so that diff can test them; the summary is for people.
type Timing struct {
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Better  string    `json:"better"` // "lower" or "higher"
	Batch   int       `json:"batch"`
	Samples []float64 `json:"samples"`
	Summary Summary   `json:"summary"`
	// ItemsPerSecond is Batch / median, and GFLOPs the achieved rate from
	// docs/spec.md §1.3's FLOP counts (0 when unknown).
	ItemsPerSecond float64 `json:"items_per_second,omitempty"`
	GFLOPs         float64 `json:"gflops,omitempty"`
	// PercentOfPeak is GFLOPs as a percentage of the device's
	// PeakFP32GFLOPs; 0 when the peak is unknown (the CPU, or a GPU whose
	// core count NVML does not report).
	PercentOfPeak float64 `json:"percent_of_peak,omitempty"`
	// Noisy is set when Summary.CV exceeds NoisyCV: compare with care.
	Noisy bool `json:"noisy,omitempty"`
	// MedianPrecision is how well the plugin's adaptive loop knew the
	// median when it stopped: the half-width of its distribution-free 95 %
	// confidence interval over the median (docs/spec.md §7.1; 0 when not
	// reported); Capped says an iteration or time cap stopped the series
	// before it reached the target precision.
	MedianPrecision float64 `json:"median_precision,omitempty"`
	Capped          bool    `json:"capped,omitempty"`
	// Timer is the clock the samples were read from: "host_monotonic",
	// "cuda_event" or "hip_event" (docs/spec.md §7.1); "" when the plugin
	// did not say.
	Timer string `json:"timer,omitempty"`
	// GBPerSecond is a characterisation stream's achieved bandwidth, in
	// 10^9 bytes per second: the bytes docs/spec.md §10.1 counts per call
	// over the median (0 for other series).
	GBPerSecond float64 `json:"gb_per_second,omitempty"`
	// FLOPsPerByte is a model series' arithmetic intensity, where it sits
	// on the device's roofline: docs/spec.md §10.4's FLOPs over the bytes
	// a call must move at the least (0 when unknown).
	FLOPsPerByte float64 `json:"flops_per_byte,omitempty"`
	// Telemetry is the device as the host sampled it during the series
	// (a GPU with a sampler); nil elsewhere.
	Telemetry *Telemetry `json:"telemetry,omitempty"`
}

// ShardInfo is one input of a merged run.
type ShardInfo struct {
	File     string    `json:"file"`
	RunID    string    `json:"run_id"`
	Shard    string    `json:"shard,omitempty"`
	Hostname string    `json:"hostname"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitempty"`
	Cells    int       `json:"cells"`
}

// Float is a float64 whose non-finite values survive JSON, written as the
// strings "NaN", "Infinity" and "-Infinity" (protobuf's JSON mapping).
type Float float64

// F returns a *Float.
func F(v float64) *Float { f := Float(v); return &f }

func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(v)
}

func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] != '"' { // a plain number: the common case
		v, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("bad float %s", b)
		}
		*f = Float(v)
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "Infinity":
			*f = Float(math.Inf(1))
		case "-Infinity":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("bad float %q", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// Counts tallies cells per status.
func (r *Run) Counts() map[Status]int {
	c := map[Status]int{}
	for _, cell := range r.Cells {
		c[cell.Status]++
	}
	return c
}

// Failed reports whether any cell has a bad status.
func (r *Run) Failed() bool {
	for _, c := range r.Cells {
		if c.Status.Bad() {
			return true
		}
	}
	return false
}

// Plural counts a noun: "1 cell", "0 cells", "2 cells". A noun that
// ends in s is the same in the plural ("1 series", "3 series").
func Plural(n int, noun string) string {
	if n == 1 || strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Summary is the run's tally: "40 cells: 32 pass, 8 skip", or "0 cells".
func (r *Run) Summary() string {
	counts := r.Counts()
	var parts []string
	for _, s := range Statuses {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	total := Plural(len(r.Cells), "cell")
	if len(parts) == 0 {
		return total
	}
	return total + ": " + strings.Join(parts, ", ")
}
