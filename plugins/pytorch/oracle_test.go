package main

import (
	"context"
	"math"
	"sort"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/refdata"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

// oracleTol is the agreement asked of two float64 implementations of the
// same models: the same float32 weights and inputs, summed in other
// orders, differ by a few ulps of the larger partial sums (measured with
// Debian's torch 1.13: max abs 4.7e-16 over every activation and gradient
// of both models; the test logs it).
var oracleTol = tensor.Tolerance{RTol: 1e-9, ATol: 1e-12}

// TestOracleAgreesWithTorchFloat64 is docs/spec.md §3.3's second, independent check
// of the oracle: PyTorch, with every module in torch.float64, runs both
// models forward (every activation) and backward (every gradient, through
// autograd) on the reference tensors, and must match the golden files that
// core/reference computed in plain Go.
func TestOracleAgreesWithTorchFloat64(t *testing.T) {
	p := pyshim.New(Config())
	defer p.Close()
	ctx := context.Background()
	d, err := p.Describe(ctx, pluginapi.DescribeRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Unavailable != "" {
		plugintest.Unavailable(t, "pytorch: "+d.Unavailable)
	}
	for _, m := range reference.Models {
		g, err := refdata.Load(plugintest.ReferenceDir(), m)
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
					t.Errorf("%s %s: torch returned no %s", m, check, n)
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
				c, err := tensor.Compare(gt.Shape, gv, wv, oracleTol)
				if err != nil {
					t.Fatal(err)
				}
				if !c.Pass {
					t.Errorf("%s %s: %s: torch float64 and the oracle differ: max abs %.3g, max rel %.3g at %v (%d violations of %g + %g·|y|)",
						m, check, n, c.MaxAbsErr, c.MaxRelErr, c.WorstIndex, c.Violations, oracleTol.ATol, oracleTol.RTol)
				}
				if c.MaxAbsErr > worst || math.IsNaN(c.MaxAbsErr) {
					worst, worstName = c.MaxAbsErr, n
				}
			}
			t.Logf("%s %s: %d tensors, torch float64 vs oracle max abs %.3g (%s)", m, check, len(names), worst, worstName)
		}
	}
}
