package judge

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// Verdict is the judged part of a cell.
type Verdict struct {
	Status              matrix.Status
	Reason              string
	MaxAbsErr           *matrix.Float
	MaxRelErr           *matrix.Float
	Worst               string
	FirstDivergingLayer string
	Tolerance           *matrix.Tolerance
	Tensors             []matrix.TensorError
	// Timings are a perf check's series, summarised.
	Timings  []matrix.Timing
	Warnings []string
}

type compared struct {
	name string
	c    tensor.Comparison
}

// compareOne compares the plugin's tensor name against the golden one.
func compareOne(name string, got, golden tensor.File, tol tensor.Tolerance) (compared, error) {
	want, ok := golden.Tensors[name]
	if !ok {
		return compared{}, fmt.Errorf("golden has no %q", name)
	}
	g, ok := got.Tensors[name]
	if !ok {
		return compared{}, fmt.Errorf("plugin returned no %q", name)
	}
	if !tensor.SameShape(g.Shape, want.Shape) {
		return compared{}, fmt.Errorf("%s: plugin returned shape %v, want %v", name, g.Shape, want.Shape)
	}
	gv, err := g.Float64s()
	if err != nil {
		return compared{}, fmt.Errorf("%s: %v", name, err)
	}
	wv, err := want.Float64s()
	if err != nil {
		return compared{}, fmt.Errorf("golden %s: %v", name, err)
	}
	c, err := tensor.Compare(want.Shape, gv, wv, tol)
	return compared{name, c}, err
}

func toMatrix(cs []compared) []matrix.TensorError {
	out := make([]matrix.TensorError, len(cs))
	for i, c := range cs {
		out[i] = matrix.TensorError{Name: c.name, MaxAbsErr: matrix.Float(c.c.MaxAbsErr), MaxRelErr: matrix.Float(c.c.MaxRelErr),
			WorstIndex: c.c.WorstIndex, Violations: c.c.Violations, Pass: c.c.Pass}
	}
	return out
}

// summarise sets the cell-level errors: the maxima over cs, and the worst
// tensor as the one with the most violations (then the largest rel error).
func summarise(v *Verdict, cs []compared, tol tensor.Tolerance) {
	var maxAbs, maxRel float64
	worst := -1
	for i, c := range cs {
		maxAbs = math.Max(maxAbs, c.c.MaxAbsErr)
		maxRel = math.Max(maxRel, c.c.MaxRelErr)
		if math.IsNaN(c.c.MaxAbsErr) {
			maxAbs = math.NaN()
		}
		if worst < 0 || c.c.Violations > cs[worst].c.Violations ||
			(c.c.Violations == cs[worst].c.Violations && c.c.MaxRelErr > cs[worst].c.MaxRelErr) {
			worst = i
		}
	}
	if tol.RelL2 > 0 {
		// Under a norm rule the cell's relative error is the worst tensor's
		// ‖got − want‖₂/‖want‖₂: elementwise ratios near zero mean nothing.
		maxRel = 0
		for _, c := range cs {
			maxRel = math.Max(maxRel, c.c.RelL2Err)
		}
	}
	v.MaxAbsErr, v.MaxRelErr = matrix.F(maxAbs), matrix.F(maxRel)
	v.Tolerance = &matrix.Tolerance{RTol: tol.RTol, ATol: tol.ATol, RelL2: tol.RelL2}
	v.Tensors = toMatrix(cs)
	if worst >= 0 {
		w := cs[worst]
		v.Worst = fmt.Sprintf("%s%v (got %.7g, want %.7g)", w.name, w.c.WorstIndex, w.c.WorstGot, w.c.WorstWant)
	}
}

func failVerdict(reason string) Verdict { return Verdict{Status: matrix.Fail, Reason: reason} }

// Forward judges a forward check: the logits decide; activations, when
// the plugin returned them, locate the first layer that diverges.
func Forward(outputs []byte, golden tensor.File, layers []string, tol tensor.Tolerance) Verdict {
	got, err := tensor.Decode(outputs)
	if err != nil {
		return Verdict{Status: matrix.Error, Reason: "plugin outputs: " + err.Error()}
	}
	logits, err := compareOne(pluginapi.OutputLogits, got, golden, tol)
	if err != nil {
		return failVerdict(err.Error())
	}
	cs := []compared{logits}
	var firstBad string
	for _, l := range layers {
		name := pluginapi.ActivationPrefix + l
		if _, ok := got.Tensors[name]; !ok {
			continue
		}
		c, err := compareOne(name, got, golden, tol)
		if err != nil {
			if firstBad == "" {
				firstBad = l
			}
			continue
		}
		cs = append(cs, c)
		if !c.c.Pass && firstBad == "" {
			firstBad = l
		}
	}
	var v Verdict
	summarise(&v, cs[:1], tol) // the cell's errors are the logits'
	v.Tensors = toMatrix(cs)
	if logits.c.Pass {
		v.Status = matrix.Pass
		if firstBad != "" {
			v.Warnings = append(v.Warnings, fmt.Sprintf("logits within tolerance, but activation %q is not", firstBad))
		}
		return v
	}
	v.Status = matrix.Fail
	v.FirstDivergingLayer = firstBad
	v.Reason = fmt.Sprintf("%d of %d logits outside |y−y_ref| ≤ %g + %g·|y_ref|", logits.c.Violations, numel(golden, pluginapi.OutputLogits), tol.ATol, tol.RTol)
	if firstBad != "" {
		v.Reason += "; first diverging layer: " + firstBad
	}
	return v
}

func numel(f tensor.File, name string) int { return tensor.Numel(f.Tensors[name].Shape) }

// Backward judges every parameter's gradient.
func Backward(outputs []byte, golden tensor.File, params []string, tol tensor.Tolerance) Verdict {
	got, err := tensor.Decode(outputs)
	if err != nil {
		return Verdict{Status: matrix.Error, Reason: "plugin outputs: " + err.Error()}
	}
	var cs []compared
	var bad []string
	for _, p := range params {
		c, err := compareOne(pluginapi.GradPrefix+p, got, golden, tol)
		if err != nil {
			return failVerdict(err.Error())
		}
		cs = append(cs, c)
		if !c.c.Pass {
			bad = append(bad, p)
		}
	}
	var v Verdict
	summarise(&v, cs, tol)
	if _, ok := got.Tensors[pluginapi.OutputLoss]; ok {
		if c, err := compareOne(pluginapi.OutputLoss, got, golden, tol); err == nil {
			v.Tensors = append(v.Tensors, toMatrix([]compared{c})...)
		}
	}
	if len(bad) == 0 {
		v.Status = matrix.Pass
		return v
	}
	v.Status = matrix.Fail
	v.Reason = fmt.Sprintf("gradients outside %s: %s", ruleText(tol, "g"), strings.Join(bad, ", "))
	return v
}

// Determinism checks that every output of the second run ("repeat.<name>")
// equals the first bit for bit; a difference is reported with its size.
func Determinism(outputs []byte) Verdict {
	got, err := tensor.Decode(outputs)
	if err != nil {
		return Verdict{Status: matrix.Error, Reason: "plugin outputs: " + err.Error()}
	}
	var names []string
	for n := range got.Tensors {
		if !strings.HasPrefix(n, pluginapi.RepeatPrefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return failVerdict("plugin returned no outputs")
	}
	var diffs []string
	var maxDiff float64
	for _, n := range names {
		r, ok := got.Tensors[pluginapi.RepeatPrefix+n]
		if !ok {
			return failVerdict(fmt.Sprintf("plugin returned %q but no %q", n, pluginapi.RepeatPrefix+n))
		}
		eq, d, err := tensor.BitwiseEqual(got.Tensors[n], r)
		if err != nil {
			return failVerdict(fmt.Sprintf("%s: %v", n, err))
		}
		if !eq {
			diffs = append(diffs, fmt.Sprintf("%s (max |Δ| %.3g)", n, d))
			maxDiff = math.Max(maxDiff, d)
		}
	}
	v := Verdict{MaxAbsErr: matrix.F(maxDiff)}
	if len(diffs) == 0 {
		v.Status = matrix.Pass
		return v
	}
	v.Status = matrix.Fail
	v.Reason = fmt.Sprintf("two identical runs differ: %s", strings.Join(diffs, ", "))
	return v
}

// Plausible bounds of one timing sample, in seconds: a nanosecond to
// eleven days. A sample outside them (NaN, ±Inf, 0, negative, 1e300)
// is a broken timer, not a speed; it would also overflow every summary.
const (
	MinSampleSeconds = 1e-9
	MaxSampleSeconds = 1e6
)

// ruleText writes tol's rule for a tensor named x.
func ruleText(tol tensor.Tolerance, x string) string {
	if tol.RelL2 > 0 {
		return fmt.Sprintf("‖%s−%s_ref‖₂ ≤ %g·‖%s_ref‖₂", x, x, tol.RelL2, x)
	}
	return fmt.Sprintf("|%s−%s_ref| ≤ %g + %g·|%s_ref|", x, x, tol.ATol, tol.RTol, x)
}

// Perf summarises a perf check's raw samples. Perf never fails on speed
// (docs/spec.md §7): it passes when plausible samples arrived, and warns
// when they are too few or too noisy to trust. A sample that is not a
// plausible duration fails the cell, which names it; it is left out of
// the series, so the document stays finite JSON. flopsPerSample is the
// model's forward FLOPs (a training step counts 3×); peakGFLOPs is the
// device's FP32 peak (0 when unknown), against which GFLOP/s are a
// percentage.
func Perf(timings []pluginapi.Timing, flopsPerSample, peakGFLOPs float64) Verdict {
	if len(timings) == 0 {
		return Verdict{Status: matrix.Fail, Reason: "plugin returned no timings"}
	}
	v := Verdict{Status: matrix.Pass}
	var bad []string
	for _, t := range timings {
		samples := make([]float64, 0, len(t.Samples))
		var rejected []string
		for _, x := range t.Samples {
			if x >= MinSampleSeconds && x <= MaxSampleSeconds { // false for NaN
				samples = append(samples, x)
			} else if len(rejected) < 5 {
				rejected = append(rejected, fmt.Sprint(x))
			}
		}
		if n := len(t.Samples) - len(samples); n > 0 {
			bad = append(bad, fmt.Sprintf("%s b%d: %d of %d samples are not durations between %gs and %gs (%s)",
				t.Name, t.Batch, n, len(t.Samples), MinSampleSeconds, MaxSampleSeconds, strings.Join(rejected, ", ")))
		}
		mt := matrix.Timing{Name: t.Name, Unit: t.Unit, Better: "lower", Batch: t.Batch, Samples: samples, Summary: matrix.Summarize(samples),
			MedianPrecision: t.Precision, Capped: t.Capped, Timer: t.Timer}
		if med := mt.Summary.Median; med > 0 {
			mt.ItemsPerSecond = float64(t.Batch) / med
			factor := 1.0
			if t.Name == pluginapi.TimingTrainStep {
				factor = 3 // forward, and backward at twice its cost
			}
			mt.GFLOPs = factor * flopsPerSample * mt.ItemsPerSecond / 1e9
			if peakGFLOPs > 0 {
				mt.PercentOfPeak = 100 * mt.GFLOPs / peakGFLOPs
			}
		}
		mt.Noisy = mt.Summary.N >= 4 && mt.Summary.CV > matrix.NoisyCV
		if mt.Summary.N < 4 {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s b%d: only %d samples; too few to compare", t.Name, t.Batch, mt.Summary.N))
		} else if mt.Summary.CV > matrix.NoisyCV {
			v.Warnings = append(v.Warnings, fmt.Sprintf("%s b%d: noisy (cv %.0f%% > %.0f%%); compare with care", t.Name, t.Batch, 100*mt.Summary.CV, 100*matrix.NoisyCV))
		}
		v.Timings = append(v.Timings, mt)
	}
	if len(bad) > 0 {
		v.Status = matrix.Fail
		v.Reason = "the plugin's timer returned impossible samples: " + strings.Join(bad, "; ")
	}
	return v
}
