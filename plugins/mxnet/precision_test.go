package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestPlantedBugFailsInEveryPrecision: the gates packed i, f, o, g fail
// forward at layers.0 in fp64 and fp32, the modes MXNet runs here
// (docs/spec.md §9).
func TestPlantedBugFailsInEveryPrecision(t *testing.T) {
	plugintest.PlantedFailsInEveryMode(t, "mxnet", image, plugintest.Bug{
		What: "gates i, f, o, g", File: "mxnet_worker.py",
		Old: `MXNET_GATES = ("i", "f", "g", "o")`, New: `MXNET_GATES = ("i", "f", "o", "g")`,
		Model: reference.LSTM, Layer: "layers.0"},
		[]string{pluginapi.PrecisionFP64, pluginapi.PrecisionFP32})
}
