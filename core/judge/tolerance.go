package judge

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dlcompat/dlcompat/core/tensor"
)

// Tolerances are the rules of one precision mode.
type Tolerances struct {
	Forward  tensor.Tolerance
	Backward tensor.Tolerance
}

// Table holds the tolerances of every precision mode: the one place they
// live (SPEC §4). Each value carries the measurement that justifies it.
var Table = map[string]Tolerances{
	// Strict fp32 (TF32 and similar off). SPEC §4's starting point, kept:
	// gorgonia 0.9.18 on the CPU measured at batch 8 against the float64
	// oracle — forward max rel 2.6e-6 (cnn) / 4.1e-7 (lstm), backward max
	// rel 1.1e-4 (cnn, a near-zero conv1 gradient) / 6.2e-6 (lstm) — so
	// the rule leaves roughly 10× headroom and still catches a transposed
	// or reordered weight, which errs by O(1).
	"fp32": {
		Forward:  tensor.Tolerance{RTol: 1e-4, ATol: 1e-5},
		Backward: tensor.Tolerance{RTol: 1e-3, ATol: 1e-5},
	},
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
