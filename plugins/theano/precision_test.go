package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestPlantedBugFailsInEveryPrecision: Theano's default true convolution
// (filter_flip=True) fails forward at conv1 in fp64 and fp32, the modes
// Theano runs (docs/spec.md §9).
func TestPlantedBugFailsInEveryPrecision(t *testing.T) {
	plugintest.PlantedFailsInEveryMode(t, "theano", image, plugintest.Bug{
		What: "filter_flip=True", File: "theano_worker.py",
		Old: "FILTER_FLIP = False", New: "FILTER_FLIP = True",
		Model: reference.CNN, Layer: "conv1"},
		[]string{pluginapi.PrecisionFP64, pluginapi.PrecisionFP32})
}
