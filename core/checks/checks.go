// Package checks is the host's table of checks: each check the plugin
// protocol knows (pluginapi.AllChecks) is declared here once, with its
// default time limit, whether it asks for per-layer activations, how a
// plugin's response to it is judged, and what the progress line shows
// after it. The runner, the run specification and the configuration
// file all read it; docs/spec.md §5 says what each check measures.
//
// It does not run anything (core/runner does) nor render results
// (matrix/render does, from the cell's data).
package checks

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dlcompat/dlcompat/core/judge"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/matrix"
)

// Check is one row of the table.
type Check struct {
	Name string
	// Timeout is the default limit of one cell, plugin start not included.
	Timeout time.Duration
	// Activations asks the plugin for per-layer activations, when it
	// offers them, so that a failure names the first diverging layer.
	Activations bool
	// Judge turns the plugin's successful response into the verdict.
	Judge func(Input) judge.Verdict
	// Detail, when set, is what a progress line shows after a passing
	// cell; nil shows the measured errors, when there are any.
	Detail func(matrix.Cell) string
	// Device marks a device check (pluginapi.DeviceChecks): it measures
	// the device through the framework, not a model, so it has one cell
	// per row and device, whose key has no model and no precision, and
	// its request carries no weights.
	Device bool
	// Optional leaves the check out of the default checks: it runs when
	// named (--checks, a configuration's checks).
	Optional bool
}

// Input is what a check is judged on.
type Input struct {
	Response   pluginapi.RunResponse
	Model      reference.Model
	Golden     *refdata.Golden
	Tolerances judge.Tolerances
	// PeakGFLOPs is the device's FP32 peak, 0 when unknown.
	PeakGFLOPs float64
	// Precision is the cell's mode ("" for a device check).
	Precision string
}

// Table lists every check, in report order.
var Table = []Check{
	{
		Name: pluginapi.CheckForward, Timeout: 5 * time.Minute, Activations: true,
		Judge: func(in Input) judge.Verdict {
			return judge.Forward(in.Response.Outputs, in.Golden.Forward, reference.Activations(in.Model), in.Tolerances.Forward)
		},
	},
	{
		Name: pluginapi.CheckBackward, Timeout: 5 * time.Minute,
		Judge: func(in Input) judge.Verdict {
			var params []string
			for _, p := range reference.Params(in.Model) {
				params = append(params, p.Name)
			}
			return judge.Backward(in.Response.Outputs, in.Golden.Backward, params, in.Tolerances.Backward)
		},
	},
	{
		// Two forward+backward passes in one process: twice the work of
		// the others, on a slow framework.
		Name: pluginapi.CheckDeterminism, Timeout: 10 * time.Minute,
		Judge: func(in Input) judge.Verdict { return judge.Determinism(in.Response.Outputs) },
	},
	{
		// Warm-ups and timed series at three batch sizes plus training.
		Name: pluginapi.CheckPerf, Timeout: 30 * time.Minute,
		Judge: func(in Input) judge.Verdict {
			v := judge.Perf(in.Response.Timings, reference.FLOPsPerSample(in.Model), in.PeakGFLOPs)
			for i := range v.Timings { // where the series sits on the roofline (docs/spec.md §10.4)
				v.Timings[i].FLOPsPerByte = reference.FLOPsPerByte(in.Model, v.Timings[i].Batch, ElemBytes(in.Precision))
			}
			return v
		},
		Detail: perfDetail,
	},
	{
		// Streams and a GEMM per precision (docs/spec.md §10): seconds on a
		// CPU, well under a minute on a GPU. Opt-in: it characterises the
		// device, not the framework's models, and a nightly asks for it.
		Name: pluginapi.CheckCharacterise, Timeout: 10 * time.Minute, Device: true, Optional: true,
		Judge: func(in Input) judge.Verdict {
			return judge.Characterise(in.Response.Outputs, in.Response.Timings)
		},
		Detail: characteriseDetail,
	},
}

// ElemBytes is the size of one value in precision mode p: what the
// roofline's bytes are counted in.
func ElemBytes(p string) int {
	switch p {
	case pluginapi.PrecisionFP64:
		return 8
	case pluginapi.PrecisionBF16, pluginapi.PrecisionFP16:
		return 2
	}
	return 4
}

// Defaults lists the checks a run runs when none are named: every check
// but the optional ones, in report order.
func Defaults() []string {
	var names []string
	for _, c := range Table {
		if !c.Optional {
			names = append(names, c.Name)
		}
	}
	return names
}

// IsDevice reports whether name is a device check (Check.Device).
func IsDevice(name string) bool {
	c, ok := Lookup(name)
	return ok && c.Device
}

// Lookup returns the check named name.
func Lookup(name string) (Check, bool) {
	i := slices.IndexFunc(Table, func(c Check) bool { return c.Name == name })
	if i < 0 {
		return Check{}, false
	}
	return Table[i], true
}

// Names lists the checks in report order.
func Names() []string {
	names := make([]string, len(Table))
	for i, c := range Table {
		names[i] = c.Name
	}
	return names
}

// DefaultTimeouts is every check's default limit.
func DefaultTimeouts() map[string]time.Duration {
	m := make(map[string]time.Duration, len(Table))
	for _, c := range Table {
		m[c.Name] = c.Timeout
	}
	return m
}

// Validate refuses a name the table does not have, naming the valid ones.
func Validate(name string) error {
	if _, ok := Lookup(name); !ok {
		return fmt.Errorf("unknown check %q (valid: %s)", name, strings.Join(Names(), ", "))
	}
	return nil
}

// Judge judges a response to check name. A verdict without a status
// (a judge that forgot to set one) is an error that says so: no cell
// leaves the runner without a status.
func Judge(name string, in Input) judge.Verdict {
	c, ok := Lookup(name)
	if !ok {
		return judge.Verdict{Status: matrix.Error, Reason: fmt.Sprintf("dlcompat has no judge for check %q", name)}
	}
	v := c.Judge(in)
	if v.Status == "" {
		v.Status, v.Reason = matrix.Error, fmt.Sprintf("the judge of check %s gave no status (a dlcompat bug; please report it)", name)
	}
	return v
}

// characteriseDetail summarises a characterise cell for a progress line:
// the bandwidths and each GEMM's rate.
func characteriseDetail(c matrix.Cell) string {
	var parts []string
	for _, t := range c.Timings {
		switch {
		case t.GBPerSecond > 0:
			parts = append(parts, fmt.Sprintf("%s %.3g GB/s", t.Name, t.GBPerSecond))
		case t.GFLOPs > 0:
			parts = append(parts, fmt.Sprintf("%s %.4g GFLOP/s", t.Name, t.GFLOPs))
		}
	}
	return strings.Join(parts, ", ")
}

// perfDetail summarises a perf cell's medians for a progress line.
func perfDetail(c matrix.Cell) string {
	var parts []string
	for _, t := range c.Timings {
		switch t.Name {
		case pluginapi.TimingLatency:
			parts = append(parts, fmt.Sprintf("latency b%d %.3gms", t.Batch, t.Summary.Median*1e3))
		case pluginapi.TimingThroughput:
			parts = append(parts, fmt.Sprintf("b%d %.4g/s", t.Batch, t.ItemsPerSecond))
		case pluginapi.TimingTrainStep:
			parts = append(parts, fmt.Sprintf("train b%d %.3gms", t.Batch, t.Summary.Median*1e3))
		}
	}
	return strings.Join(parts, ", ")
}
