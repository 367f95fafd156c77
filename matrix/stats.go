package matrix

import (
	"math"
	"sort"
)

// Summary describes a sample series.
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	P99    float64 `json:"p99"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Mean   float64 `json:"mean"`
	// CV is the coefficient of variation (stddev / mean).
	CV float64 `json:"cv"`
}

// NoisyCV is the coefficient of variation above which a timing is flagged
// as too noisy to trust.
const NoisyCV = 0.10

// Summarize computes a Summary; quantiles interpolate linearly between
// order statistics.
func Summarize(samples []float64) Summary {
	n := len(samples)
	if n == 0 {
		return Summary{}
	}
	s := append([]float64(nil), samples...)
	sort.Float64s(s)
	var sum float64
	for _, v := range s {
		sum += v
	}
	mean := sum / float64(n)
	var ss float64
	for _, v := range s {
		ss += (v - mean) * (v - mean)
	}
	sd := 0.0
	if n > 1 {
		sd = math.Sqrt(ss / float64(n-1))
	}
	cv := 0.0
	if mean != 0 {
		cv = sd / mean
	}
	return Summary{N: n, Median: Quantile(s, 0.5), P90: Quantile(s, 0.9), P99: Quantile(s, 0.99),
		Min: s[0], Max: s[n-1], Mean: mean, CV: cv}
}

// Quantile of sorted samples, linear interpolation (type 7).
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return sorted[lo]*(1-frac) + sorted[hi]*frac
}
