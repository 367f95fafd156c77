package main

import (
	"os"
	"strings"
	"testing"
)

// TestInstallHintNamesTheBackend: a backend that does not import is
// fixed by installing that backend, not by reinstalling Keras.
func TestInstallHintNamesTheBackend(t *testing.T) {
	for backend, want := range map[string]string{
		"":           "keras==",
		"tensorflow": "tensorflow-cpu==",
		"jax":        "jax==",
		"torch":      "'torch>=2.1'",
	} {
		if got := installFor(backend); !strings.Contains(got, want) {
			t.Errorf("backend %q: install hint %q lacks %q", backend, got, want)
		}
	}
}

// TestInstallHintsMatchThePins: the versions the hints name are the ones
// scripts/setup.d pins, so the command a user copies builds what CI tests.
func TestInstallHintsMatchThePins(t *testing.T) {
	b, err := os.ReadFile("../../scripts/setup.d/requirements-tf.txt")
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), "=="); ok && !strings.HasPrefix(name, "#") {
			pinned[strings.ReplaceAll(strings.ToLower(strings.TrimSpace(line)), "_", "-")] = true
		}
	}
	for _, backend := range []string{"tensorflow", "jax"} {
		for _, f := range strings.Fields(installFor(backend)) {
			if strings.Contains(f, "==") && !pinned[strings.ReplaceAll(strings.ToLower(f), "_", "-")] {
				t.Errorf("backend %s: %s is not what requirements-tf.txt pins", backend, f)
			}
		}
	}
}
