package main

import (
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// image is the plugin's own CPU image (its manifest's).
var image = Config().Images["cpu"]

// TestAgainstGoldensInItsContainer runs the real plugin in Caffe's image
// through the docker executor and the host's runner: both models, every
// check, and every activation and gradient within docs/spec.md §6.2's tolerances —
// which proves the time-major LSTM with its cont blob, the i,f,o,g gate
// order and the single bias on the real framework, on Python 3.9.
func TestAgainstGoldensInItsContainer(t *testing.T) {
	plugintest.CheckInImage(t, "caffe", image, plugintest.Options{})
}

// TestLocalIsASkipThatSaysHow: without Caffe on the host, the plugin is
// unavailable with the reason and the command that gets it, never an error.
func TestLocalIsASkipThatSaysHow(t *testing.T) {
	spec := plugintest.Spec(t, "caffe", "DLCOMPAT_PYTHON_CAFFE=/usr/bin/python3")
	run := plugintest.RunUnavailable(t, spec)
	for _, c := range run.Cells {
		if c.Status != "skip" || !strings.Contains(c.Reason, "build-images.sh caffe-cpu") || !strings.Contains(c.Reason, "No module named 'caffe'") {
			t.Errorf("%s: %s %q, want a skip that says how to install caffe", c.CellKey, c.Status, c.Reason)
		}
	}
}

// TestPlantedGateOrderFailsInItsContainer: Caffe's gates taken in the
// canonical order i, f, g, o (Caffe's is i, f, o, g) must fail forward at
// layers.0, in the plugin's image.
func TestPlantedGateOrderFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "caffe", image, plugintest.Bug{
		What: "gate order i, f, g, o", File: "caffe_worker.py",
		Old: `CAFFE_GATES = ("i", "f", "o", "g")`, New: `CAFFE_GATES = ("i", "f", "g", "o")`,
		Model: reference.LSTM, Layer: "layers.0"})
}
