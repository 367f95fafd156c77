package diff

import (
	"math"
	"slices"
	"sync"
)

// MannWhitney is the result of a two-sided Mann-Whitney U test.
type MannWhitney struct {
	// U is the statistic of the first sample: the number of pairs (x, y)
	// with x > y, ties counting one half.
	U float64
	// P is the two-sided p-value.
	P float64
	// Exact reports whether P comes from the exact distribution of U
	// (both samples under 50 and no ties) rather than the normal
	// approximation with tie and continuity corrections.
	Exact bool
}

// exactLimit is the sample size below which, without ties, the exact
// distribution is used (as R's wilcox.test does).
const exactLimit = 50

// MannWhitneyU tests whether x and y come from the same distribution
// against the alternative that one tends to be larger (two-sided). It
// needs no assumption about the shape of the distributions, which is why
// benchstat uses it for timings. It returns P = 1 when either sample is
// empty.
func MannWhitneyU(x, y []float64) MannWhitney {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return MannWhitney{P: 1}
	}
	xs, ys := slices.Clone(x), slices.Clone(y)
	slices.Sort(xs)
	slices.Sort(ys)
	return mannWhitneySorted(xs, ys)
}

// mannWhitneySorted is MannWhitneyU of samples already sorted, both
// non-empty.
func mannWhitneySorted(xs, ys []float64) MannWhitney {
	n1, n2 := len(xs), len(ys)
	// Walk both sorted samples in step, a group of equal values at a
	// time: the group takes ranks r+1 … r+t, each the midrank; tieTerm
	// accumulates Σ(t³ - t) over the groups.
	var r1, tieTerm float64
	r, i, j := 0, 0, 0
	for i < n1 || j < n2 {
		var v float64
		switch {
		case j == n2 || i < n1 && xs[i] <= ys[j]:
			v = xs[i]
		default:
			v = ys[j]
		}
		cx, cy := 0, 0
		for i < n1 && xs[i] == v {
			i++
			cx++
		}
		for j < n2 && ys[j] == v {
			j++
			cy++
		}
		t := float64(cx + cy)
		r1 += float64(cx) * (float64(r) + (t+1)/2)
		if t > 1 {
			tieTerm += t*t*t - t
		}
		r += cx + cy
	}
	fn1, fn2 := float64(n1), float64(n2)
	u := r1 - fn1*(fn1+1)/2
	if tieTerm == 0 && n1 < exactLimit && n2 < exactLimit {
		umin := math.Min(u, fn1*fn2-u)
		return MannWhitney{U: u, P: math.Min(1, 2*lowerTail(n1, n2)[int(umin)]), Exact: true}
	}
	n := fn1 + fn2
	mean := fn1 * fn2 / 2
	variance := fn1 * fn2 / 12 * ((n + 1) - tieTerm/(n*(n-1)))
	if variance <= 0 { // every value equal
		return MannWhitney{U: u, P: 1}
	}
	d := math.Abs(u-mean) - 0.5 // continuity correction
	if d < 0 {
		d = 0
	}
	z := d / math.Sqrt(variance)
	return MannWhitney{U: u, P: math.Min(1, math.Erfc(z/math.Sqrt2))}
}

// tails caches lowerTail per (m, n): diffs test thousands of series of
// the same sizes.
var tails sync.Map // [2]int → []float64

// lowerTail returns P(U ≤ k) for k = 0 … ⌊mn/2⌋, for samples of sizes m
// and n without ties.
func lowerTail(m, n int) []float64 {
	key := [2]int{m, n}
	if v, ok := tails.Load(key); ok {
		return v.([]float64)
	}
	k := m * n / 2
	cdf := uDist(m, n, k)
	for u := 1; u <= k; u++ {
		cdf[u] += cdf[u-1]
	}
	tails.Store(key, cdf)
	return cdf
}

// uDist is P(U = u) for u = 0 … k, for samples of sizes m and n without
// ties, from the
// recurrence p(m, n, u) = m/(m+n)·p(m-1, n, u-n) + n/(m+n)·p(m, n-1, u)
// (the largest of all m+n values is in the first sample or in the
// second). Working in probabilities keeps every term positive and in
// range; the tables are (n+1) × (k+1).
func uDist(m, n, k int) []float64 {
	// prev[j][u] = P(U = u) for sizes (i-1, j); cur for (i, j).
	prev := make([][]float64, n+1)
	cur := make([][]float64, n+1)
	for j := range prev {
		prev[j] = make([]float64, k+1)
		cur[j] = make([]float64, k+1)
		prev[j][0] = 1 // no first-sample values: U = 0
	}
	for i := 1; i <= m; i++ {
		for u := range cur[0] {
			cur[0][u] = 0
		}
		cur[0][0] = 1 // no second-sample values: U = 0
		for j := 1; j <= n; j++ {
			a := float64(i) / float64(i+j)
			b := float64(j) / float64(i+j)
			for u := 0; u <= k; u++ {
				v := b * cur[j-1][u]
				if u >= j {
					v += a * prev[j][u-j]
				}
				cur[j][u] = v
			}
		}
		prev, cur = cur, prev
	}
	return prev[n]
}
