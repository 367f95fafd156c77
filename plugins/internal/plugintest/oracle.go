package plugintest

import (
	"context"
	"math"
	"sort"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/tensor"
)

// OracleTol is the agreement asked of two float64 implementations of the
// same models: the same float32 weights and inputs, summed in other
// orders, differ by a few ulps of the larger partial sums (measured with
// Debian's torch 1.13: max abs 4.7e-16 over every activation and gradient
// of both models; jax 0.10.2 on XLA:CPU: 1.4e-15; the tests log theirs).
var OracleTol = tensor.Tolerance{RTol: 1e-9, ATol: 1e-12}

// Float64Runner is a plugin that can compute in float64, the worker's test
// hook (pyshim.Plugin's RunDType).
type Float64Runner interface {
	Describe(ctx context.Context, req pluginapi.DescribeRequest) (pluginapi.DescribeResponse, error)
	RunDType(ctx context.Context, req pluginapi.RunRequest, dtype string) (pluginapi.RunResponse, error)
}

// AgreesWithOracle is docs/spec.md §3.3's independent check of the oracle
// on one framework (who, as the messages name it): p computes both models
// in float64 on the reference tensors, forward (every activation) and
// backward (every gradient), and each tensor must match the golden files
// that core/reference computed in plain Go within OracleTol. A framework
// that is not installed skips (fails in CI, as Unavailable does).
func AgreesWithOracle(t *testing.T, who string, p Float64Runner) {
	t.Helper()
	ctx := context.Background()
	d, err := p.Describe(ctx, pluginapi.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Unavailable != "" {
		Unavailable(t, who+": "+d.Unavailable)
	}
	for _, m := range reference.Models {
		g, err := refdata.Load(ReferenceDir(), m)
		if err != nil {
			t.Fatal(err)
		}
		for _, check := range []string{pluginapi.CheckForward, pluginapi.CheckBackward} {
			resp, err := p.RunDType(ctx, pluginapi.RunRequest{Model: string(m), Check: check, Device: "cpu",
				Precision: "fp64", Weights: g.Weights, Inputs: g.Inputs, WantActivations: true}, "float64")
			if err != nil || resp.Status != pluginapi.StatusOK {
				t.Fatalf("%s %s: %v %s %s", m, check, err, resp.Status, resp.Message)
			}
			got, err := tensor.Decode(resp.Outputs)
			if err != nil {
				t.Fatal(err)
			}
			golden := g.Forward
			if check == pluginapi.CheckBackward {
				golden = g.Backward
			}
			var names []string
			for n := range golden.Tensors {
				if check == pluginapi.CheckBackward && n == pluginapi.OutputLogits {
					continue // backward returns the loss and gradients
				}
				names = append(names, n)
			}
			sort.Strings(names)
			worst, worstName := 0.0, ""
			for _, n := range names {
				gt, ok := got.Tensors[n]
				if !ok {
					t.Errorf("%s %s: %s returned no %s", m, check, who, n)
					continue
				}
				if gt.DType != tensor.F64 {
					t.Errorf("%s %s: %s is %s, want F64", m, check, n, gt.DType)
				}
				gv, err1 := gt.Float64s()
				wv, err2 := golden.Tensors[n].Float64s()
				if err1 != nil || err2 != nil || !tensor.SameShape(gt.Shape, golden.Tensors[n].Shape) {
					t.Errorf("%s %s: %s: shape %v vs %v (%v, %v)", m, check, n, gt.Shape, golden.Tensors[n].Shape, err1, err2)
					continue
				}
				c, err := tensor.Compare(gt.Shape, gv, wv, OracleTol)
				if err != nil {
					t.Fatal(err)
				}
				if !c.Pass {
					t.Errorf("%s %s: %s: %s and the oracle differ: max abs %.3g, max rel %.3g at %v (%d violations of %g + %g·|y|)",
						m, check, n, who, c.MaxAbsErr, c.MaxRelErr, c.WorstIndex, c.Violations, OracleTol.ATol, OracleTol.RTol)
				}
				if c.MaxAbsErr > worst || math.IsNaN(c.MaxAbsErr) {
					worst, worstName = c.MaxAbsErr, n
				}
			}
			t.Logf("%s %s: %d tensors, %s vs oracle max abs %.3g (%s)", m, check, len(names), who, worst, worstName)
		}
	}
}
