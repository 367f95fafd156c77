package telemetry

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// Window is the part of a recording one series owns.
type Window struct {
	// From and To bound the series' timed iterations; zero values mean
	// the plugin did not report them, and the whole call (from the end of
	// the baseline to Stop) is taken instead (matrix.WindowCall).
	From, To time.Time
	// Iterations and Batch are the series' timed calls and their batch,
	// for the energy per item; Train marks a training-step series, whose
	// energy is also given per step.
	Iterations, Batch int
	Train             bool
}

// Summarize sums the recording up over w, for the series' results.
// source names the sampler (Sampler.Name).
func Summarize(source string, samples []Sample, baselineEnd, stopped time.Time, w Window) *matrix.Telemetry {
	t := &matrix.Telemetry{Source: source, Window: matrix.WindowSeries}
	from, to := w.From, w.To
	if from.IsZero() || to.IsZero() || !to.After(from) {
		t.Window = matrix.WindowCall
		from, to = baselineEnd, stopped
		if n := len(samples); n > 0 && (to.IsZero() || to.After(samples[n-1].At)) {
			to = samples[n-1].At // Stop's own sample closes the call
		}
	}
	t.WindowSeconds = to.Sub(from).Seconds()
	notes := map[string]bool{}
	for _, s := range samples {
		for _, n := range s.Notes {
			notes[n] = true
		}
	}

	var in []Sample
	for _, s := range samples {
		if !s.At.Before(from) && !s.At.After(to) {
			in = append(in, s)
		}
	}
	t.Samples = len(in)
	if len(in) == 0 {
		// A window shorter than the interval: the samples around it speak
		// for it.
		if b, ok := before(samples, from); ok {
			in = append(in, b)
		}
		if a, ok := after(samples, to); ok {
			in = append(in, a)
		}
		notes[fmt.Sprintf("the window (%.3g s) fell between two samples; its figures are those of the samples around it", t.WindowSeconds)] = true
	}

	var sm, mem, power []float64
	var reasons Reason
	for _, s := range in {
		sm = appendKnown(sm, s.SMClockMHz)
		mem = appendKnown(mem, s.MemClockMHz)
		power = appendKnown(power, s.PowerW)
		if !math.IsNaN(s.TempC) {
			t.TempMaxC = math.Max(t.TempMaxC, s.TempC)
		}
		if s.MemUsedBytes >= 0 {
			t.MemoryUsedMaxBytes = max(t.MemoryUsedMaxBytes, uint64(s.MemUsedBytes))
		}
		if s.ProcessMemBytes >= 0 {
			t.ProcessMemoryMaxBytes = max(t.ProcessMemoryMaxBytes, uint64(s.ProcessMemBytes))
		}
		if s.ReasonsKnown {
			reasons |= s.Reasons
		}
	}
	t.SMClockMedianMHz, t.MemClockMedianMHz, t.PowerMedianW = median(sm), median(mem), median(power)
	if len(sm) > 0 {
		t.SMClockMinMHz = slices.Min(sm)
	}
	if len(power) > 0 {
		t.PowerMaxW = slices.Max(power)
	}
	t.ClockEventReasons = reasons.Names()
	if th := reasons & Throttling; th != 0 {
		t.Throttled, t.ThrottleReasons = true, th.Names()
	}

	if e, ok := counterEnergy(samples, from, to); ok {
		t.EnergyJ, t.EnergyFrom = e, "counter"
	} else if e, ok := powerEnergy(samples, from, to); ok {
		t.EnergyJ, t.EnergyFrom = e, "power"
	}
	if t.Window == matrix.WindowSeries && t.EnergyFrom != "" && w.Iterations > 0 {
		if w.Batch > 0 {
			t.JoulesPerItem = t.EnergyJ / float64(w.Iterations*w.Batch)
		}
		if w.Train {
			t.JoulesPerStep = t.EnergyJ / float64(w.Iterations)
		}
	}

	var base []Sample
	for _, s := range samples {
		if s.At.Before(baselineEnd) || s.At.Equal(baselineEnd) {
			base = append(base, s)
		}
	}
	if len(base) > 0 {
		b := &matrix.TelemetryBaseline{Samples: len(base), Seconds: baselineEnd.Sub(base[0].At).Seconds()}
		var bsm, bp []float64
		var br Reason
		for _, s := range base {
			bsm, bp = appendKnown(bsm, s.SMClockMHz), appendKnown(bp, s.PowerW)
			if !math.IsNaN(s.TempC) {
				b.TempMaxC = math.Max(b.TempMaxC, s.TempC)
			}
			if s.MemUsedBytes >= 0 {
				b.MemoryUsedBytes = max(b.MemoryUsedBytes, uint64(s.MemUsedBytes))
			}
			if s.ReasonsKnown {
				br |= s.Reasons
			}
		}
		b.SMClockMedianMHz, b.PowerMedianW, b.ClockEventReasons = median(bsm), median(bp), br.Names()
		t.Baseline = b
	}
	for n := range notes {
		t.Notes = append(t.Notes, n)
	}
	slices.Sort(t.Notes)
	return t
}

func appendKnown(xs []float64, v float64) []float64 {
	if math.IsNaN(v) {
		return xs
	}
	return append(xs, v)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// before is the last sample at or before t; after the first at or after.
func before(samples []Sample, t time.Time) (Sample, bool) {
	for i := len(samples) - 1; i >= 0; i-- {
		if !samples[i].At.After(t) {
			return samples[i], true
		}
	}
	return Sample{}, false
}

func after(samples []Sample, t time.Time) (Sample, bool) {
	for _, s := range samples {
		if !s.At.Before(t) {
			return s, true
		}
	}
	return Sample{}, false
}

// at interpolates a figure of the samples (those where it is known) at
// t, linearly between the two around it; false when t is outside them.
func at(samples []Sample, t time.Time, fig func(Sample) (float64, bool)) (float64, bool) {
	var prev *Sample
	var pv float64
	for i := range samples {
		v, ok := fig(samples[i])
		if !ok {
			continue
		}
		s := &samples[i]
		if s.At.Equal(t) {
			return v, true
		}
		if s.At.After(t) {
			if prev == nil {
				return 0, false
			}
			f := float64(t.Sub(prev.At)) / float64(s.At.Sub(prev.At))
			return pv + f*(v-pv), true
		}
		prev, pv = s, v
	}
	return 0, false
}

// counterEnergy is the energy counter's delta over [from, to], in
// joules (the counter counts millijoules).
func counterEnergy(samples []Sample, from, to time.Time) (float64, bool) {
	fig := func(s Sample) (float64, bool) { return float64(s.EnergyMJ), s.EnergyMJ >= 0 }
	a, ok1 := at(samples, from, fig)
	b, ok2 := at(samples, to, fig)
	if !ok1 || !ok2 || b < a {
		return 0, false
	}
	return (b - a) / 1000, true
}

// powerEnergy integrates power over [from, to] (trapezoids between the
// samples, the ends interpolated), for a device without a counter.
func powerEnergy(samples []Sample, from, to time.Time) (float64, bool) {
	fig := func(s Sample) (float64, bool) { return s.PowerW, !math.IsNaN(s.PowerW) }
	p0, ok1 := at(samples, from, fig)
	p1, ok2 := at(samples, to, fig)
	if !ok1 || !ok2 {
		return 0, false
	}
	prevT, prevP, e := from, p0, 0.0
	for _, s := range samples {
		if !s.At.After(from) || !s.At.Before(to) || math.IsNaN(s.PowerW) {
			continue
		}
		e += (s.At.Sub(prevT).Seconds()) * (prevP + s.PowerW) / 2
		prevT, prevP = s.At, s.PowerW
	}
	e += to.Sub(prevT).Seconds() * (prevP + p1) / 2
	return e, true
}
