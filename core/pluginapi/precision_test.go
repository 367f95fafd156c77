package pluginapi

import (
	"math"
	"testing"
)

func TestMedianPrecision(t *testing.T) {
	// n = 9: ranks j = floor(4.5 − 2.94) = 1, k = ceil(4.5 + 2.94) + 1 = 9.
	if j, k := medianCIRanks(9); j != 1 || k != 9 {
		t.Fatalf("ranks(9) = %d, %d; want 1, 9", j, k)
	}
	// n = 100: j = floor(50 − 9.8) = 40, k = ceil(59.8) + 1 = 61.
	if j, k := medianCIRanks(100); j != 40 || k != 61 {
		t.Fatalf("ranks(100) = %d, %d; want 40, 61", j, k)
	}
	s := make([]float64, 100)
	for i := range s {
		s[99-i] = float64(i + 1) // 1..100, unsorted
	}
	// median 50.5, interval [40, 61]: half-width 10.5.
	if got, want := MedianPrecision(s), 10.5/50.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("precision = %g, want %g", got, want)
	}
	if got := MedianPrecision(s[:7]); !math.IsInf(got, 1) {
		t.Errorf("7 samples: precision %g, want +Inf (too few for the interval)", got)
	}
}

func TestTimingDone(t *testing.T) {
	p := PerfOptions{Iterations: 10, MaxIterations: 30, MaxSeconds: 1, TargetPrecision: 0.02}
	flat := make([]float64, 10)
	for i := range flat {
		flat[i] = 1 + float64(i%2)*1e-4
	}
	if done, capped, pr := p.TimingDone(flat[:9], 0); done || capped || pr != 0 {
		t.Errorf("under the minimum: done %v capped %v precision %g", done, capped, pr)
	}
	if done, capped, pr := p.TimingDone(flat, 0.01); !done || capped || pr > 0.02 {
		t.Errorf("steady series: done %v capped %v precision %g", done, capped, pr)
	}
	noisy := make([]float64, 10)
	for i := range noisy {
		noisy[i] = float64(1 + i)
	}
	if done, _, _ := p.TimingDone(noisy, 0.01); done {
		t.Error("noisy series under both caps stopped")
	}
	if done, capped, _ := p.TimingDone(noisy, 1.5); !done || !capped {
		t.Errorf("noisy series past max seconds: done %v capped %v", done, capped)
	}
	fixed := p
	fixed.TargetPrecision = 0
	if done, capped, _ := fixed.TimingDone(noisy, 0); !done || capped {
		t.Errorf("fixed count: done %v capped %v", done, capped)
	}
	bad := DefaultPerfOptions()
	bad.TargetPrecision, bad.MaxIterations = 0.02, 5
	if err := bad.Validate(); err == nil {
		t.Error("max iterations < iterations validated")
	}
}
