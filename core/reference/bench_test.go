package reference

import (
	"fmt"
	"testing"
)

// BenchmarkOracle times the float64 oracle, forward and backward, at batch
// 1 and 32, and reports the time per sample.
func BenchmarkOracle(b *testing.B) {
	for _, m := range Models {
		params := NewWeights(m)
		for _, op := range []string{"forward", "backward"} {
			for _, n := range []int{1, 32} {
				x, labels := NewInput(m, n), Labels(n)
				b.Run(fmt.Sprintf("model=%s/op=%s/batch=%d", m, op, n), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						var err error
						if op == "forward" {
							_, err = Forward(m, params, x)
						} else {
							_, err = Backward(m, params, x, labels)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
				})
			}
		}
	}
}
