package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// image is the plugin's own CPU image (its manifest's).
var image = Config().Images["cpu"]

// TestAgainstGoldens runs the real plugin with the MXNet the local executor
// finds (the venv of scripts/setup.d/37-mxnet.sh) through the host's
// runner: both models, every check, every activation and gradient within
// docs/spec.md §6.2's tolerances — which proves the fused LSTM's packed
// parameter vector and gate order (docs/spec.md §4.9) on the real framework.
func TestAgainstGoldens(t *testing.T) {
	plugintest.Check(t, plugintest.Spec(t, "mxnet"), plugintest.Options{})
}

// TestAgainstGoldensInItsContainer runs the plugin in MXNet's image
// (scripts/images/mxnet-cpu) through the docker executor.
func TestAgainstGoldensInItsContainer(t *testing.T) {
	plugintest.CheckInImage(t, "mxnet", image, plugintest.Options{})
}

// TestPlantedGateOrderFailsInItsContainer: MXNet's gates taken as
// i, f, o, g (they are i, f, c, o) must fail forward at layers.0, in the
// plugin's image.
func TestPlantedGateOrderFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "mxnet", image, plugintest.Bug{
		What: "gate order i, f, o, g", File: "mxnet_worker.py",
		Old: `MXNET_GATES = ("i", "f", "g", "o")`, New: `MXNET_GATES = ("i", "f", "o", "g")`,
		Model: reference.LSTM, Layer: "layers.0"})
}
