package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestPlantedBugFailsInEveryPrecision: the conv kernel transposed in its
// spatial axes ([kw, kh, C, O] for [kh, kw, C, O]) fails forward at conv1 in
// fp64, fp32 and bf16 (the mixed_bfloat16 policy) alike (docs/spec.md §9).
func TestPlantedBugFailsInEveryPrecision(t *testing.T) {
	plugintest.PlantedFailsInEveryMode(t, "tensorflow", Config().Images["cpu"], plugintest.Bug{
		What: "kernel [kw, kh, C, O]", File: "tensorflow_worker.py",
		Old: "CONV_TO_TF = (2, 3, 1, 0)", New: "CONV_TO_TF = (3, 2, 1, 0)",
		Model: reference.CNN, Layer: "conv1"},
		[]string{pluginapi.PrecisionFP64, pluginapi.PrecisionFP32, pluginapi.PrecisionBF16})
}
