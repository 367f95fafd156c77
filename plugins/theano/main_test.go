package main

import (
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// image is the plugin's own CPU image (its manifest's).
var image = Config().Images["cpu"]

// TestAgainstGoldensInItsContainer runs the real plugin in Theano's image
// (Debian bullseye's python3-theano 1.0.5 on Python 3.9) through the docker
// executor and the host's runner: both models, every check, every
// activation and gradient within docs/spec.md §6.2's tolerances — which
// proves the unflipped conv2d and the scan LSTM on the real framework.
func TestAgainstGoldensInItsContainer(t *testing.T) {
	run := plugintest.CheckInImage(t, "theano", image, plugintest.Options{})
	if v := run.Frameworks[0].Version; !strings.HasPrefix(v, "1.0.") {
		t.Errorf("version %q: want the real Theano 1.0.x", v)
	}
}

// TestLocalIsASkipThatSaysHow: without Theano on the host, the plugin is
// unavailable with the reason and the command that gets it, never an error.
func TestLocalIsASkipThatSaysHow(t *testing.T) {
	spec := plugintest.Spec(t, "theano", "DLCOMPAT_PYTHON_THEANO=/usr/bin/python3")
	run := plugintest.RunUnavailable(t, spec)
	for _, c := range run.Cells {
		if c.Status != "skip" || !strings.Contains(c.Reason, "build-images.sh theano-cpu") || !strings.Contains(c.Reason, "No module named 'theano'") {
			t.Errorf("%s: %s %q, want a skip that says how to install theano", c.CellKey, c.Status, c.Reason)
		}
	}
}

// TestPlantedFlippedKernelFailsInItsContainer: conv2d left at its default
// filter_flip=True (every kernel flipped: a true convolution, not the
// canonical cross-correlation) must fail forward at conv1, in the plugin's
// image.
func TestPlantedFlippedKernelFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "theano", image, plugintest.Bug{
		What: "filter_flip=True", File: "theano_worker.py",
		Old: "FILTER_FLIP = False", New: "FILTER_FLIP = True",
		Model: reference.CNN, Layer: "conv1"})
}
