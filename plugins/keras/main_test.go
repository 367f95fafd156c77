package main

import (
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
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
