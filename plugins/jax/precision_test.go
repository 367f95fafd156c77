package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestPlantedBugFailsInEveryPrecision: the kernel's spatial axes declared
// swapped to XLA (OIWH) fails forward at conv1 in fp64, fp32 and bf16 (the
// worker's own policy) alike (docs/spec.md §9).
func TestPlantedBugFailsInEveryPrecision(t *testing.T) {
	plugintest.PlantedFailsInEveryMode(t, "jax", image, plugintest.Bug{
		What: "kernel layout OIWH", File: "jax_worker.py",
		Old: `CONV_DIMS = ("NCHW", "OIHW", "NCHW")`, New: `CONV_DIMS = ("NCHW", "OIWH", "NCHW")`,
		Model: reference.CNN, Layer: "conv1"},
		[]string{pluginapi.PrecisionFP64, pluginapi.PrecisionFP32, pluginapi.PrecisionBF16})
}
