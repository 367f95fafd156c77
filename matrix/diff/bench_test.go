package diff_test

import (
	"io"
	"path/filepath"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
	"github.com/dlcompat/dlcompat/matrix/render"
)

// BenchmarkDiff200k: `dlcompat diff` of two 200,000-cell runs (1,000 GPUs
// × 25 frameworks × 2 models × 4 checks; one framework 30% slower): the
// whole command (read both, compare, render text) and the comparison
// alone.
func BenchmarkDiff200k(b *testing.B) {
	dir := b.TempDir()
	oldRun := matrixtest.Fleet("old", 1, 25, 1000, nil)
	newRun := matrixtest.Fleet("new", 2, 25, 1000, map[string]float64{"fw03": 1.3})
	if len(oldRun.Cells) != 200000 {
		b.Fatalf("%d cells", len(oldRun.Cells))
	}
	op, np := filepath.Join(dir, "old.json"), filepath.Join(dir, "new.json")
	matrixtest.WriteRun(b, op, oldRun)
	matrixtest.WriteRun(b, np, newRun)
	b.Run("read+diff+text", func(b *testing.B) {
		for b.Loop() {
			// As the command does: both files at once.
			var o *matrix.Run
			var oerr error
			done := make(chan struct{})
			go func() { o, oerr = matrix.Read(op); close(done) }()
			n, err := matrix.Read(np)
			<-done
			if err != nil || oerr != nil {
				b.Fatal(err, oerr)
			}
			c := diff.Compare(o, n, diff.DefaultThresholds)
			// fw03's perf cells (1,000 GPUs × 2 models), and the odd false
			// positive that α = 0.05 allows among 800,000 series.
			if n := c.Count(diff.Regression); n < 2000 || n > 2020 {
				b.Fatalf("%s", c.Summary())
			}
			if err := render.WriteDiffText(io.Discard, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("diff", func(b *testing.B) {
		for b.Loop() {
			diff.Compare(oldRun, newRun, diff.DefaultThresholds)
		}
	})
}
