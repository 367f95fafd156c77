package judge

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// Tolerances are the rules of one precision mode.
type Tolerances struct {
	Forward  tensor.Tolerance
	Backward tensor.Tolerance
	// Multiplier and Floor, for the reduced modes (tf32, bf16, fp16): the
	// cell's max abs error against the fp64 oracle may be at most
	// Multiplier × the fp32 error of the same row, device, model and check,
	// or Floor, whichever is larger (Relative). Zero for fp64 and fp32.
	Multiplier, Floor float64
}

// Table holds the tolerances of every precision mode: the one place they
// live (docs/spec.md §6). Each value carries the measurement that justifies it.
var Table = map[string]Tolerances{
	// Strict fp32 (TF32 and similar off). docs/spec.md §6.3's starting point, kept:
	// gorgonia 0.9.18 on the CPU, batch 8, against the float64 oracle
	// measured forward max abs 1.1e-7 / max rel 7.9e-6 (cnn logits) and
	// 1.7e-8 / 2.2e-5 (lstm); backward max abs 6.5e-8 / max rel 6.0e-4
	// (cnn, on gradients near the atol floor) and 1.3e-8 / 5.5e-5 (lstm).
	// The worst element uses under 1% of its allowance, while a transposed
	// or reordered weight errs by O(1): the rule separates the two widely.
	// The Python frameworks, same machine and data, max abs / max rel:
	// forward cnn, lstm — pytorch 1.13 1.3e-7/1.1e-5, 2.0e-8/1.4e-5;
	// tensorflow 2.21 7.2e-8/1.3e-5, 1.7e-8/9.7e-6; keras 3.15 on
	// tensorflow 8.6e-8/5.3e-6, 1.7e-8/9.7e-6, on jax 5.9e-8/4.0e-6,
	// 1.9e-8/3.1e-5; caffe 1.0 4.8e-8/2.9e-6, 2.1e-8/3.1e-5; jax 0.10.2
	// 7.5e-8/9.6e-6, 1.7e-8/2.2e-5. Backward cnn, lstm — pytorch
	// 6.4e-8/4.7e-4, 8.4e-9/6.8e-5; tensorflow 2.3e-8/1.0e-3,
	// 5.1e-9/1.1e-4; keras+tensorflow 2.1e-8/6.3e-4, 5.1e-9/1.1e-4;
	// keras+jax 2.4e-8/4.7e-4, 6.9e-9/1.1e-4; caffe 1.6e-8/4.7e-4,
	// 6.7e-9/5.7e-5; jax 2.3e-8/4.3e-4, 6.9e-9/1.2e-4. Forward only,
	// onnxruntime 1.32 cnn, lstm 7.9e-8/7.4e-6, 2.0e-8/2.2e-5. The max rel of
	// 1e-3 (tensorflow cnn) is on a gradient of 4e-6 whose abs error,
	// 1.5e-8, the atol floor covers 600 times: no framework needed a
	// looser rule. A broken conversion (Keras's gate
	// order, TensorFlow's flatten order) errs by 0.08 and 0.13 on logits.
	// mxnet 1.9.1: forward 5.4e-8/4.2e-6, 1.3e-8/2.2e-5; backward 1.6e-7/1.5e-3 (2.7e-8 abs on a 2.5e-6 gradient, the atol floor's), 1.6e-7/6.4e-4.
	// theano 1.0.5: forward 4.8e-8/7.0e-6, 1.7e-8/7.6e-6; backward 2.1e-8/4.5e-4, 4.7e-9/7.7e-5.
	"fp32": {
		Forward:  tensor.Tolerance{RTol: 1e-4, ATol: 1e-5},
		Backward: tensor.Tolerance{RTol: 1e-3, ATol: 1e-5},
	},
	// The whole model in float64: a correct conversion agrees with the
	// oracle to rounding, so a layout bug that fp32's rule could in
	// principle hide cannot hide here. Measured: pytorch 1.13 in float64
	// on the CPU, max abs 4.7e-16 on cnn and lstm logits and gradients
	// (plugins/pytorch/oracle_test.go); the rule leaves 1000× of room.
	"fp64": {
		Forward:  tensor.Tolerance{RTol: 1e-10, ATol: 1e-12},
		Backward: tensor.Tolerance{RTol: 1e-9, ATol: 1e-12},
	},
	// The reduced modes are judged twice: elementwise by the rule below,
	// and by their max abs error against the fp64 oracle relative to the
	// fp32 error of the same row and device (Relative). The multiplier is
	// the ratio of unit roundoffs (fp32 2^-24; tf32 and fp16 2^-11, bf16
	// 2^-8): an implementation no worse than its format allows stays
	// inside it. The floors and elementwise rules are set from the
	// measurements given with each.
	"tf32": reducedTF32,
	"bf16": reducedBF16,
	"fp16": reducedFP16,
}

// Reduced reports whether mode p is judged relative to fp32 (Relative).
func Reduced(p string) bool { return Table[p].Multiplier > 0 }

// Relative holds a reduced-precision verdict that passed its elementwise
// rule to the bound of its mode: its max abs error at most Multiplier ×
// fp32MaxAbs (the fp32 twin's) or Floor, whichever is larger.
func Relative(v Verdict, mode string, fp32MaxAbs *matrix.Float, t Tolerances) Verdict {
	if t.Multiplier == 0 || fp32MaxAbs == nil || v.MaxAbsErr == nil || v.Tolerance == nil {
		return v
	}
	bound := math.Max(t.Multiplier*float64(*fp32MaxAbs), t.Floor)
	v.Tolerance.MaxAbsBound = bound
	if v.Status == matrix.Pass && !(float64(*v.MaxAbsErr) <= bound) {
		v.Status = matrix.Fail
		v.Reason = fmt.Sprintf("%s max abs error %.3g exceeds max(%g × the fp32 error %.3g, floor %g) = %.3g",
			mode, float64(*v.MaxAbsErr), t.Multiplier, float64(*fp32MaxAbs), t.Floor, bound)
	}
	return v
}

// ForPrecision returns the tolerances of a precision mode.
func ForPrecision(p string) (Tolerances, error) {
	t, ok := Table[p]
	if !ok {
		var names []string
		for k := range Table {
			names = append(names, k)
		}
		sort.Strings(names)
		return Tolerances{}, fmt.Errorf("unknown precision %q (valid: %s)", p, strings.Join(names, ", "))
	}
	return t, nil
}

var (
	// bf16 through the framework's autocast or mixed policy (float32
	// master weights, loss and gradients in float32). Measured, pytorch
	// 1.13 torch.autocast("cpu", bfloat16), batch 8, against the oracle:
	// forward max abs 7.3e-4 (cnn logits, whose largest is 0.09; 5.8e-3 on
	// conv1's output of up to 1.6) and 5.9e-4 (lstm), so 5e-3 + 2%; a
	// planted layout bug errs by 0.08 on these logits. Backward, per
	// gradient ‖g − g_ref‖₂/‖g_ref‖₂: at most 0.165 (cnn conv2.bias; fc1
	// flips a few elements by their whole size, 37% of the largest) and
	// 0.011 (lstm), where a rolled weight gives 1.48 and 1.3: 0.5 keeps
	// three times the margin on both sides. Floor: the forward atol.
	reducedBF16 = Tolerances{
		Forward:    tensor.Tolerance{RTol: 2e-2, ATol: 5e-3},
		Backward:   tensor.Tolerance{RelL2: 0.5},
		Multiplier: 1 << 16, Floor: 5e-3,
	}
	// tf32: float32 storage, TF32 (10-bit mantissa) math in matmul and
	// convolution, on GPUs that have it (Ampere and later). Not measured
	// here (no GPU): set from the format, a unit roundoff of 2^-11, eight
	// times finer than bf16's; revisit with the first GPU run.
	reducedTF32 = Tolerances{
		Forward:    tensor.Tolerance{RTol: 1e-2, ATol: 2e-3},
		Backward:   tensor.Tolerance{RelL2: 0.2},
		Multiplier: 1 << 13, Floor: 2e-3,
	}
	// fp16 through the framework's autocast or mixed policy. Not measured
	// here (no framework on this machine runs fp16 autocast on a CPU): set
	// from the format, like tf32.
	reducedFP16 = Tolerances{
		Forward:    tensor.Tolerance{RTol: 1e-2, ATol: 2e-3},
		Backward:   tensor.Tolerance{RelL2: 0.2},
		Multiplier: 1 << 13, Floor: 2e-3,
	}
)
