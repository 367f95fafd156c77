package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// gokitLeavesEmpty are the response fields the Go plugin kit, with the
// gorgonia backend, legitimately never fills; each has its reason.
var gokitLeavesEmpty = map[string]string{
	// A Go-native framework is compiled in: it is never "not installed".
	"dlcompat.plugin.v1.DescribeResponse.unavailable": "gorgonia is built into the plugin",
	// The interpreter of a Python-backed plugin; a Go plugin has none.
	"dlcompat.plugin.v1.DescribeResponse.interpreter": "no interpreter: the framework is Go",
	// NVML's UUID of a GPU; this static build offers the CPU alone.
	"dlcompat.plugin.v1.Device.uuid": "the CPU has no UUID",
	// gokit's Backend has no per-run warnings (pyshim's workers do): no Go
	// framework has needed one yet. Add them to gokit.Output when one does.
	"dlcompat.plugin.v1.RunResponse.warnings": "gokit has no per-run warnings",
}

// TestGokitFillsEveryResponseField runs the gorgonia plugin binary, as
// the host starts it, through Describe and every check, and fails on a
// field of the response schema (framework.proto) that no response sets
// and that gokitLeavesEmpty does not explain: a field the schema declares
// and the Go kit never fills is a schema nobody keeps.
func TestGokitFillsEveryResponseField(t *testing.T) {
	c := plugintest.Dial(t, plugintest.Build(t, "gorgonia"))
	for _, p := range plugintest.Unfilled(plugintest.Exercise(t, c), gokitLeavesEmpty) {
		t.Error(p)
	}
}
