package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestPlantedGateOrderFailsInItsContainer: the gate blocks read as
// i, f, o, g (the canonical rows are i, f, g, o) must fail forward at
// layers.0, in the plugin's scratch image.
func TestPlantedGateOrderFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "gorgonia", manifest.Images["cpu"], plugintest.Bug{
		What: "gate order i, f, o, g", File: "engine/models.go",
		Old:   "\tgateG        // cell candidate, tanh\n\tgateO        // output, sigmoid\n",
		New:   "\tgateO        // output, sigmoid\n\tgateG        // cell candidate, tanh\n",
		Model: reference.LSTM, Layer: "layers.0"})
}
