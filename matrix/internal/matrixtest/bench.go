package matrixtest

import (
	"fmt"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// BenchNight is night d of a benchmark store: cells cells: a third perf cells with 12 raw
// samples, the rest numeric.
func BenchNight(d, cells int) *matrix.Run {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
	r := &matrix.Run{SchemaVersion: 1, RunID: fmt.Sprintf("bench-%04d", d), Started: start, Host: matrix.Host{Hostname: "bench"}, DlcompatVersion: "b",
		Devices: []matrix.Device{{ID: "gpu:0", Kind: matrix.KindGPU, Name: "NVIDIA H100 80GB HBM3", DriverVersion: "560"}}}
	checks := []string{"forward", "backward", "perf"}
	for i := 0; i < cells; i++ {
		c := matrix.Cell{CellKey: matrix.CellKey{Framework: fmt.Sprintf("fw%04d", i/6), FrameworkVersion: "1.0", Device: "gpu:0",
			Model: []string{"cnn", "lstm"}[i/3%2], Check: checks[i%3], Precision: "fp32"}, Status: matrix.Pass, MaxAbsErr: matrix.F(1e-6)}
		if c.Check == "perf" {
			t := matrix.Timing{Name: "forward", Unit: "ms", Better: "lower", Batch: 64}
			for s := 0; s < 12; s++ {
				t.Samples = append(t.Samples, 10+float64((s*7+d)%5)*0.1)
			}
			c.Timings = []matrix.Timing{t}
		}
		r.Cells = append(r.Cells, c)
	}
	return r
}
