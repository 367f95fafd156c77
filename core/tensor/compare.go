package tensor

import (
	"fmt"
	"math"
)

// Tolerance is docs/spec.md §6.1's elementwise rule |got − want| ≤ ATol + RTol·|want|,
// or, when RelL2 is set, the rule of the tensor as a whole:
// ‖got − want‖₂ ≤ RelL2·‖want‖₂ (docs/spec.md §9: in bf16, a ReLU whose
// input rounds across zero flips a few gradient elements by their whole
// size, which no elementwise rule tells from a layout bug, while the norm
// moves by a fraction of what a wrong layout moves it).
type Tolerance struct {
	RTol  float64 `json:"rtol"`
	ATol  float64 `json:"atol"`
	RelL2 float64 `json:"rel_l2,omitempty"`
}

// Comparison is the outcome of comparing two arrays of one shape.
type Comparison struct {
	// MaxAbsErr is max |got − want|.
	MaxAbsErr float64 `json:"max_abs_err"`
	// MaxRelErr is max |got − want| / |want| over elements whose |want|
	// exceeds the absolute tolerance (below it the absolute term decides,
	// and the ratio only measures noise around zero).
	MaxRelErr float64 `json:"max_rel_err"`
	// WorstIndex is the multi-index of the element that most exceeds the
	// rule (or comes closest to it, when all pass).
	WorstIndex []int   `json:"worst_index"`
	WorstGot   float64 `json:"worst_got"`
	WorstWant  float64 `json:"worst_want"`
	// Violations counts elements outside the rule; NaN or Inf in got counts
	// as a violation.
	Violations int  `json:"violations"`
	Pass       bool `json:"pass"`
	// RelL2Err is ‖got − want‖₂ / ‖want‖₂, measured under a RelL2 rule.
	RelL2Err float64 `json:"rel_l2_err,omitempty"`
}

// Compare applies tol elementwise. Shapes must agree.
func Compare(shape []int, got, want []float64, tol Tolerance) (Comparison, error) {
	if len(got) != len(want) || len(want) != Numel(shape) {
		return Comparison{}, fmt.Errorf("compare: %d values against %d for shape %v", len(got), len(want), shape)
	}
	c := Comparison{Pass: true}
	worst := math.Inf(-1) // err − allowed: the margin of the worst element
	wi := 0
	for i := range want {
		g, w := got[i], want[i]
		d := math.Abs(g - w)
		allowed := tol.ATol + tol.RTol*math.Abs(w)
		bad := !(d <= allowed) // NaN fails
		if math.IsNaN(d) || math.IsInf(g, 0) {
			d = math.Inf(1)
		}
		if d > c.MaxAbsErr {
			c.MaxAbsErr = d
		}
		if math.Abs(w) > tol.ATol {
			if r := d / math.Abs(w); r > c.MaxRelErr {
				c.MaxRelErr = r
			}
		}
		if bad {
			c.Violations++
			c.Pass = false
		}
		if margin := d - allowed; margin > worst {
			worst, wi = margin, i
		}
	}
	if len(want) > 0 {
		c.WorstIndex = Unravel(wi, shape)
		c.WorstGot, c.WorstWant = got[wi], want[wi]
	}
	if tol.RelL2 > 0 {
		var num, den float64
		for i := range want {
			d := got[i] - want[i]
			num += d * d
			den += want[i] * want[i]
		}
		c.RelL2Err = math.Sqrt(num) / math.Sqrt(den)
		if den == 0 {
			c.RelL2Err = math.Sqrt(num)
		}
		c.Pass = c.RelL2Err <= tol.RelL2 // NaN fails
		if c.Pass {
			c.Violations = 0
		} else if c.Violations == 0 {
			c.Violations = 1
		}
	}
	return c, nil
}

// Unravel turns a flat row-major index into a multi-index.
func Unravel(i int, shape []int) []int {
	idx := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}

// BitwiseEqual reports whether two tensors hold the same bytes; when they
// do not, it returns the first differing element index and the largest
// absolute difference, so a nondeterminism report can say how big it is.
func BitwiseEqual(a, b Tensor) (equal bool, maxAbsDiff float64, err error) {
	if a.DType != b.DType || len(a.Data) != len(b.Data) {
		return false, math.Inf(1), fmt.Errorf("dtype/shape differ: %s%v vs %s%v", a.DType, a.Shape, b.DType, b.Shape)
	}
	if string(a.Data) == string(b.Data) {
		return true, 0, nil
	}
	av, err := a.Float64s()
	if err != nil {
		return false, 0, err
	}
	bv, _ := b.Float64s()
	for i := range av {
		if d := math.Abs(av[i] - bv[i]); d > maxAbsDiff || math.IsNaN(d) {
			maxAbsDiff = d
		}
	}
	return false, maxAbsDiff, nil
}
