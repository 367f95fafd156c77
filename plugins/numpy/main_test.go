package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestCharacterise runs the real numpy plugin's characterise check on the
// CPU: copy, triad, and numpy's BLAS in fp64 and fp32, each sample
// checked by the host (docs/spec.md §10).
func TestCharacterise(t *testing.T) {
	plugintest.Characterise(t, plugintest.Spec(t, "numpy"), []string{"fp64", "fp32"})
}
