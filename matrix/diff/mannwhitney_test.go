package diff

import (
	"math"
	"testing"
)

// The expected values come from SciPy 1.x,
// scipy.stats.mannwhitneyu(x, y, alternative="two-sided",
// method="exact" without ties and both samples under 50, else
// "asymptotic", use_continuity=True), matching R's
// wilcox.test; SciPy's statistic is U of the first sample, as here.
func TestMannWhitneyUKnownValues(t *testing.T) {
	var x60, y60 []float64
	for i := 0; i < 60; i++ {
		x60 = append(x60, math.Mod(float64(i)*0.37, 5))
		y60 = append(y60, 0.4+math.Mod(float64(i)*0.53, 5))
	}
	// As SciPy computed them (10 + 0.1·i and 11.2 + 0.1·(7i mod 20)).
	x20 := []float64{10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.6, 10.7, 10.8, 10.9, 11.0, 11.1, 11.2, 11.3, 11.4, 11.5, 11.6, 11.7, 11.8, 11.9}
	y20 := []float64{11.2, 11.899999999999999, 12.6, 11.299999999999999, 12.0, 12.7, 11.399999999999999, 12.1, 12.799999999999999, 11.5, 12.2, 12.899999999999999, 11.6, 12.299999999999999, 13.0, 11.7, 12.399999999999999, 13.1, 11.799999999999999, 12.5}
	for _, tc := range []struct {
		desc  string
		x, y  []float64
		u, p  float64
		exact bool
	}{
		{"separated 5 v 5", []float64{1, 2, 3, 4, 5}, []float64{6, 7, 8, 9, 10}, 0, 0.007936507936507936, true},
		{"interleaved 5 v 5", []float64{1, 3, 5, 7, 9}, []float64{2, 4, 6, 8, 10}, 10, 0.6904761904761905, true},
		{"4 v 4, one swap", []float64{1, 2, 3, 5}, []float64{4, 6, 7, 8}, 1, 0.05714285714285714, true},
		{"3 v 3 cannot reach 0.05", []float64{1, 2, 3}, []float64{4, 5, 6}, 0, 0.1, true},
		{"unequal 6 v 9", []float64{1.1, 2.3, 0.7, 4.2, 3.3, 2.9}, []float64{3.8, 4.4, 5.1, 2.2, 6.0, 4.9, 5.5, 3.9, 7.1}, 6, 0.011988011988011988, true},
		{"20 v 20 with ties", x20, y20, 34, 7.5476303690786e-06, false},
		{"20 v 20 shift", x20, []float64{11.25, 11.95, 12.65, 11.35, 12.05, 12.75, 11.45, 12.15, 12.85, 11.55, 12.25, 12.95, 11.65, 12.35, 13.05, 11.75, 12.45, 13.15, 11.85, 12.55}, 28, 2.643519594721412e-07, true},
		{"ties use the corrected normal approximation", []float64{1, 2, 2, 3, 3, 3, 4}, []float64{3, 4, 4, 5, 5, 6, 7}, 3.5, 0.007659988586736321, false},
		{"60 v 60 normal approximation", x60, y60, 1538, 0.16990191297923563, false},
	} {
		got := MannWhitneyU(tc.x, tc.y)
		if got.U != tc.u || got.Exact != tc.exact || math.Abs(got.P-tc.p) > 1e-9*tc.p {
			t.Errorf("%s: U %v p %.17g exact %v; want U %v p %.17g exact %v", tc.desc, got.U, got.P, got.Exact, tc.u, tc.p, tc.exact)
		}
		// Swapping the samples mirrors U and keeps p.
		sw := MannWhitneyU(tc.y, tc.x)
		if sw.U != float64(len(tc.x)*len(tc.y))-tc.u || math.Abs(sw.P-got.P) > 1e-12 {
			t.Errorf("%s swapped: U %v p %v", tc.desc, sw.U, sw.P)
		}
	}
}

func TestMannWhitneyUEdgeCases(t *testing.T) {
	check := func(desc string, got MannWhitney, wantP float64) {
		t.Helper()
		if math.Abs(got.P-wantP) > 1e-12 {
			t.Errorf("%s: p %v, want %v", desc, got.P, wantP)
		}
	}
	check("empty", MannWhitneyU(nil, []float64{1, 2}), 1)
	check("all equal", MannWhitneyU([]float64{2, 2, 2}, []float64{2, 2, 2, 2}), 1)
	check("identical samples", MannWhitneyU([]float64{1, 2, 3, 4}, []float64{1, 2, 3, 4}), 1)
	// The exact distribution sums to one.
	var sum float64
	for _, p := range uDist(7, 9, 63) {
		sum += p
	}
	if math.Abs(sum-1) > 1e-12 {
		t.Errorf("P(U ≤ max) = %v, want 1", sum)
	}
}
