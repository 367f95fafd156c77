package matrixtest

import (
	"math"
	"math/rand/v2"

	"github.com/dlcompat/dlcompat/matrix"
)

// Characterisation is what a synthetic characterise cell measured: GB/s
// per stream series, GFLOP/s per GEMM mode.
type Characterisation struct {
	Streams map[string]float64 // copy, triad, h2d, d2h
	GEMM    map[string]float64 // fp64 … fp16
	// StreamElements and GEMMSize are the series' batches.
	StreamElements, GEMMSize int
}

// CharacteriseCell is a passing characterise cell (docs/spec.md §10) of
// framework on device whose medians give c's rates, with samples drawn
// around them (cv about 2%) from seed.
func CharacteriseCell(framework, version, device string, c Characterisation, samples int, seed uint64) matrix.Cell {
	rng := rand.New(rand.NewPCG(seed, 11))
	cell := matrix.Cell{CellKey: matrix.CellKey{Framework: framework, FrameworkVersion: version, Device: device, Check: "characterise"},
		Status: matrix.Pass, Started: Start, Seconds: 4}
	bytesPer := map[string]float64{"copy": 8, "triad": 12, "h2d": 4, "d2h": 4}
	draw := func(name string, batch int, med float64) matrix.Timing {
		t := matrix.Timing{Name: name, Unit: "s", Better: "lower", Batch: batch}
		for i := 0; i < samples; i++ {
			t.Samples = append(t.Samples, math.Round(med*math.Exp(0.02*rng.NormFloat64())*1e9)/1e9)
		}
		t.Summary = matrix.Summarize(t.Samples)
		return t
	}
	for _, s := range []string{"copy", "triad", "h2d", "d2h"} {
		if gbs := c.Streams[s]; gbs > 0 {
			t := draw(s, c.StreamElements, bytesPer[s]*float64(c.StreamElements)/gbs/1e9)
			t.GBPerSecond = bytesPer[s] * float64(c.StreamElements) / t.Summary.Median / 1e9
			cell.Timings = append(cell.Timings, t)
		}
	}
	n := float64(c.GEMMSize)
	for _, m := range []string{"fp64", "fp32", "tf32", "bf16", "fp16"} {
		if gf := c.GEMM[m]; gf > 0 {
			t := draw("gemm_"+m, c.GEMMSize, 2*n*n*n/gf/1e9)
			t.GFLOPs = 2 * n * n * n / t.Summary.Median / 1e9
			cell.Timings = append(cell.Timings, t)
			cell.Tensors = append(cell.Tensors, matrix.TensorError{Name: "gemm_" + m, MaxAbsErr: 1e-6, MaxRelErr: 3e-7, Pass: true})
		}
	}
	return cell
}

// cnnFLOPsPerByte is docs/spec.md §10.4's intensity of the cnn at batch b
// in fp32: 9,385,472·b FLOPs over 4·(422,218 + 49,530·b) bytes.
func cnnFLOPsPerByte(b int) float64 {
	return 9385472 * float64(b) / (4 * (422218 + 49530*float64(b)))
}
