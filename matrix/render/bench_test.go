package render

import (
	"testing"

	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// BenchmarkHTML10k renders the report of a 10,000-cell run (50 GPUs × 25
// frameworks × 2 models × 4 checks), charts and per-cell details included.
func BenchmarkHTML10k(b *testing.B) {
	r := matrixtest.Fleet("html", 1, 25, 50, nil)
	if len(r.Cells) != 10000 {
		b.Fatalf("%d cells", len(r.Cells))
	}
	var n int64
	for b.Loop() {
		cw := &countWriter{}
		if err := WriteHTML(cw, r); err != nil {
			b.Fatal(err)
		}
		n = cw.n
	}
	b.ReportMetric(float64(n)/1e6, "MB")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
