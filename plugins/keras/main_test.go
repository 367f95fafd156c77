package main

import (
	"os"
	"regexp"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

// TestAgainstGoldens runs the real plugin on each Keras backend the local
// environment has (scripts/setup.d/30-python.sh installs tensorflow and
// jax) through the host's runner: both models, every check, and every
// activation and gradient within docs/spec.md §6.2's tolerances — which proves each
// conversion (kernel transposes, the permuted fc1 kernel behind an NHWC
// Flatten, the LSTM's gate order and single bias) on the real framework.
func TestAgainstGoldens(t *testing.T) {
	for _, backend := range []string{"tensorflow", "jax"} {
		t.Run(backend, func(t *testing.T) {
			checks := pluginapi.AllChecks
			if backend != "tensorflow" {
				checks = []string{pluginapi.CheckForward, pluginapi.CheckBackward, pluginapi.CheckDeterminism}
			}
			run := plugintest.Check(t, plugintest.Spec(t, "keras", "KERAS_BACKEND="+backend), plugintest.Options{Checks: checks})
			if want := "+" + backend; len(run.Frameworks) != 1 || !hasSuffix(run.Frameworks[0].Version, want) {
				t.Errorf("frameworks %+v: want a version ending in %q", run.Frameworks, want)
			}
		})
	}
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

// TestTorchInItsContainer runs the plugin on the torch backend in its own
// image (scripts/images/keras-torch: Debian trixie's PyTorch) through the
// docker executor: both models, every check, within the strict fp32
// tolerances, and a version that names the backend.
func TestTorchInItsContainer(t *testing.T) {
	run := plugintest.CheckInImage(t, "keras", torchImage, plugintest.Options{Env: []string{"KERAS_BACKEND=torch"}})
	if v := run.Frameworks[0].Version; !hasSuffix(v, "+torch") {
		t.Errorf("version %q: want one ending in +torch", v)
	}
}

// TestPlantedFlattenOrderFailsOnTorch: fc1's kernel set as the plain
// transpose of fc1.weight, without permuting its rows from PyTorch's
// C, H, W flatten order to Keras's H, W, C, must fail forward at fc1 (the
// conv layers before it still pass), on the torch backend in its image.
func TestPlantedFlattenOrderFailsOnTorch(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "keras", torchImage, plugintest.Bug{
		What: "fc1 kernel transposed without the flatten permutation", File: "keras_worker.py",
		Old:   `L("fc1").set_weights([fc1_to_keras(p["fc1.weight"]), p["fc1.bias"]])`,
		New:   `L("fc1").set_weights([p["fc1.weight"].T, p["fc1.bias"]])`,
		Model: reference.CNN, Layer: "fc1"}, "KERAS_BACKEND=torch")
}

// TestTorchImageRecipe: the image the manifest names for the torch
// backend is the one scripts/images/keras-torch builds.
func TestTorchImageRecipe(t *testing.T) {
	b, err := os.ReadFile("../../scripts/images/keras-torch/image.conf")
	if err != nil {
		t.Fatal(err)
	}
	tag := regexp.MustCompile(`(?m)^TAG=(\S+)$`).FindStringSubmatch(string(b))
	if tag == nil || "dlcompat/keras-torch:"+tag[1] != torchImage {
		t.Errorf("recipe tag %v, manifest image %s", tag, torchImage)
	}
	if got := Config().Variant.Images["torch"]; got != torchImage {
		t.Errorf("variant image %q", got)
	}
}

// TestPlantedKernelLayoutFailsOnTensorFlow: conv kernels transposed to
// [kw, kh, in, out] must fail forward at conv1, on the tensorflow backend
// in its image.
func TestPlantedKernelLayoutFailsOnTensorFlow(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "keras", pyshim.TFImage, plugintest.Bug{
		What: "kernel layout [kw, kh, in, out]", File: "keras_worker.py",
		Old: "CONV_TO_KERAS = (2, 3, 1, 0)", New: "CONV_TO_KERAS = (3, 2, 1, 0)",
		Model: reference.CNN, Layer: "conv1"}, "KERAS_BACKEND=tensorflow")
}
