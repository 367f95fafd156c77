package diff_test

import (
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// TestCompareIsLinearInSeriesOfOneName (issue 9, item 6): a crafted cell
// with many series of one name and batch on both sides made Compare test
// every old series against every new one (n² Mann-Whitney tests and
// TimingDiffs). Series of one name and batch pair up in order, each
// compared once.
func TestCompareIsLinearInSeriesOfOneName(t *testing.T) {
	const n = 1000
	run := func(id string, seed uint64) *matrix.Run {
		r := matrixtest.Base(id, seed).Run()
		p := matrixtest.CellAt(r, "pytorch", "gpu:0", "cnn", "perf")
		one := p.Timings[0]
		p.Timings = nil
		for i := 0; i < n; i++ {
			p.Timings = append(p.Timings, one)
		}
		return r
	}
	c := diff.Compare(run("old", 1), run("new", 2), diff.DefaultThresholds)
	d := findDiff(t, c, "pytorch", "NVIDIA A100-SXM4-40GB", "cnn", "perf")
	if len(d.Timings) != n {
		t.Errorf("%d series of one name on each side gave %d comparisons, want %d (each compared once)", n, len(d.Timings), n)
	}
}
