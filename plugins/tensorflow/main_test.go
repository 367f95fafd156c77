package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
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

// TestPlantedKernelLayoutFailsInItsContainer: conv kernels transposed to
// [kw, kh, in, out] instead of [kh, kw, in, out] must fail forward at
// conv1, in the plugin's image.
func TestPlantedKernelLayoutFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "tensorflow", pyshim.TFImage, plugintest.Bug{
		What: "kernel layout [kw, kh, in, out]", File: "tensorflow_worker.py",
		Old: "CONV_TO_TF = (2, 3, 1, 0)", New: "CONV_TO_TF = (3, 2, 1, 0)",
		Model: reference.CNN, Layer: "conv1"})
}
