package pluginapi

import (
	"math"
	"sort"
)

// MedianPrecision is the relative precision of the median of samples
// (docs/spec.md §7.1): the half-width of the distribution-free 95 %
// confidence interval of the median from order statistics, divided by
// the median. With n sorted samples x(1..n) the interval is
// [x(j), x(k)], j = floor(n/2 − 0.98·√n), k = ceil(n/2 + 0.98·√n) + 1,
// +Inf when it cannot be said: too few samples for the interval (n < 8:
// j < 1 or k > n), or a median ≤ 0.
func MedianPrecision(samples []float64) float64 {
	n := len(samples)
	j, k := medianCIRanks(n)
	if j < 1 || k > n {
		return math.Inf(1)
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	if !(med > 0) {
		return math.Inf(1)
	}
	return (s[k-1] - s[j-1]) / 2 / med
}

// medianCIRanks are the 1-based ranks bounding the median's 95 % interval.
func medianCIRanks(n int) (int, int) {
	h := 1.96 * math.Sqrt(float64(n)) / 2
	j := int(math.Floor(float64(n)/2 - h))
	k := int(math.Ceil(float64(n)/2+h)) + 1
	return j, k
}

// TimingDone says whether a series of n timed iterations, spent seconds of
// timed time, may stop (docs/spec.md §7.1), and if so whether a cap
// stopped it and the precision it reached (0 when it cannot be said).
func (p PerfOptions) TimingDone(samples []float64, spent float64) (done, capped bool, precision float64) {
	n := len(samples)
	if n < p.Iterations {
		return false, false, 0
	}
	pr := MedianPrecision(samples)
	if !math.IsInf(pr, 1) {
		precision = pr
	}
	if p.TargetPrecision <= 0 || pr <= p.TargetPrecision {
		return true, false, precision
	}
	if n >= p.MaxIterations || spent >= p.MaxSeconds {
		return true, true, precision
	}
	return false, false, precision
}
