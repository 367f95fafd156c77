package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// image is the plugin's own CPU image (its manifest's).
var image = Config().Images["cpu"]

// TestAgainstGoldens runs the real plugin, with the PyTorch the local
// executor finds (Debian's python3-torch after scripts/setup.sh), through
// the host's runner: both models, every check, every activation and
// gradient within docs/spec.md §6.2's tolerances.
func TestAgainstGoldens(t *testing.T) {
	plugintest.Check(t, plugintest.Spec(t, "pytorch"), plugintest.Options{})
}

// TestPrecisionsOnTheCPU: in float64 PyTorch agrees with the oracle to
// rounding, and under torch.autocast's bfloat16 it stays within bf16's
// tolerances, each cell verified to have run in its mode.
func TestPrecisionsOnTheCPU(t *testing.T) {
	run := plugintest.Check(t, plugintest.Spec(t, "pytorch"), plugintest.Options{
		Checks:     []string{pluginapi.CheckForward, pluginapi.CheckBackward, pluginapi.CheckDeterminism},
		Precisions: []string{pluginapi.PrecisionFP64, pluginapi.PrecisionBF16},
	})
	for _, c := range run.Cells {
		want := map[string]string{pluginapi.PrecisionFP64: "float64", pluginapi.PrecisionBF16: "bfloat16"}[c.Precision]
		if c.Check == pluginapi.CheckForward && c.PrecisionEvidence["output_dtype"] != want {
			t.Errorf("%s: evidence %v, want output_dtype %s", c.CellKey, c.PrecisionEvidence, want)
		}
	}
}

// TestAgainstGoldensInItsContainer runs the plugin in PyTorch's image
// through the docker executor.
func TestAgainstGoldensInItsContainer(t *testing.T) {
	plugintest.CheckInImage(t, "pytorch", image, plugintest.Options{Checks: []string{pluginapi.CheckForward, pluginapi.CheckBackward}})
}

// TestInterpreterAsACommandLine runs the plugin on the host with only its
// worker in the image: $DLCOMPAT_PYTHON_PYTORCH may be a command line.
func TestInterpreterAsACommandLine(t *testing.T) {
	if ok, why := plugintest.DockerImage(image); !ok {
		plugintest.Unavailable(t, why)
	}
	spec := plugintest.Spec(t, "pytorch", "DLCOMPAT_PYTHON_PYTORCH="+plugintest.DockerPython(image))
	run := plugintest.Check(t, spec, plugintest.Options{Checks: []string{pluginapi.CheckForward}})
	if got := run.Frameworks[0].Interpreter; got != plugintest.DockerPython(image) {
		t.Errorf("interpreter %q", got)
	}
}

// TestPlantedGateOrderFailsInItsContainer: the LSTM cell's gates read as
// i, f, o, g (they are i, f, g, o) must fail forward at layers.0, in the
// plugin's image.
func TestPlantedGateOrderFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "pytorch", image, plugintest.Bug{
		What: "gate order i, f, o, g", File: "pytorch_worker.py",
		Old: "i, f, g, o = gates.chunk(4, 1)", New: "i, f, o, g = gates.chunk(4, 1)",
		Model: reference.LSTM, Layer: "layers.0"})
}

// TestCharacterise: PyTorch's characterise check on the CPU, in the modes
// it runs there (docs/spec.md §10).
func TestCharacterise(t *testing.T) {
	plugintest.Characterise(t, plugintest.Spec(t, "pytorch"), []string{"fp64", "fp32", "bf16"})
}
