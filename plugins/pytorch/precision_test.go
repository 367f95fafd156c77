package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestPlantedBugsFailInEveryPrecision: a conversion bug planted in the
// worker fails forward in fp64, fp32 and bf16 (autocast), naming the first
// diverging layer (docs/spec.md §9): bf16's looser tolerance hides neither.
func TestPlantedBugsFailInEveryPrecision(t *testing.T) {
	modes := []string{pluginapi.PrecisionFP64, pluginapi.PrecisionFP32, pluginapi.PrecisionBF16}
	for _, b := range []plugintest.Bug{
		{What: "gate order i, f, o, g", File: "pytorch_worker.py",
			Old: "i, f, g, o = gates.chunk(4, 1)", New: "i, f, o, g = gates.chunk(4, 1)",
			Model: reference.LSTM, Layer: "layers.0"},
		{What: "pool2 flattened H, W swapped", File: "pytorch_worker.py",
			Old: "F.relu(self.fc1(p2.view(-1, 64 * 7 * 7)))", New: "F.relu(self.fc1(p2.transpose(2, 3).reshape(-1, 64 * 7 * 7)))",
			Model: reference.CNN, Layer: "fc1"},
	} {
		t.Run(b.What, func(t *testing.T) { plugintest.PlantedFailsInEveryMode(t, "pytorch", image, b, modes) })
	}
}
