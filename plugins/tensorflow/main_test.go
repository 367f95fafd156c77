package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestAgainstGoldens runs the real plugin, with the TensorFlow the local
// executor finds (the venv of scripts/setup.d/30-python.sh), through the
// host's runner: both models, every check, and every activation and
// gradient within docs/spec.md §6.2's tolerances — which proves each layout
// conversion (NHWC input, [kh,kw,in,out] kernels, C,H,W flatten,
// transposed linear and LSTM weights) on the real framework.
func TestAgainstGoldens(t *testing.T) {
	plugintest.Check(t, plugintest.Spec(t, "tensorflow"), plugintest.Options{})
}
