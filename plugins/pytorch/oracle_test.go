package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

// TestOracleAgreesWithTorchFloat64 is docs/spec.md §3.3's second, independent check
// of the oracle: PyTorch, with every module in torch.float64, runs both
// models forward (every activation) and backward (every gradient, through
// autograd) on the reference tensors, and must match the golden files that
// core/reference computed in plain Go (plugintest.OracleTol).
func TestOracleAgreesWithTorchFloat64(t *testing.T) {
	p := pyshim.New(Config())
	defer p.Close()
	plugintest.AgreesWithOracle(t, "torch float64", p)
}
