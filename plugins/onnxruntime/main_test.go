package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// image is the plugin's own CPU image (its manifest's).
var image = Config().Images["cpu"]

// inferenceOnly are the checks ONNX Runtime declares it does not run.
var inferenceOnly = []string{pluginapi.CheckBackward, pluginapi.CheckDeterminism}

// TestAgainstGoldens runs the real plugin, with the onnxruntime the local
// executor finds (/opt/dlcompat/venv-onnx after scripts/setup.sh),
// through the host's runner: forward (logits and every activation) and
// perf on both models within docs/spec.md §6.2's tolerances, and
// backward and determinism planned as skip, saying the plugin does not
// implement them.
func TestAgainstGoldens(t *testing.T) {
	plugintest.Check(t, plugintest.Spec(t, "onnxruntime"), plugintest.Options{Unsupported: inferenceOnly})
}

// TestAgainstGoldensInItsContainer runs the plugin in its image through
// the docker executor.
func TestAgainstGoldensInItsContainer(t *testing.T) {
	plugintest.CheckInImage(t, "onnxruntime", image, plugintest.Options{Unsupported: inferenceOnly})
}

// TestPinsAgree holds the three places that pin onnxruntime to one set:
// the local venv's requirements (scripts/setup.d/requirements-onnx.txt),
// the image recipe's PIP, and the manifest's install command (which names
// the top-level packages only).
func TestPinsAgree(t *testing.T) {
	root := plugintest.RepoRoot()
	read := func(p string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var req []string
	for _, l := range strings.Split(read("scripts/setup.d/requirements-onnx.txt"), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			req = append(req, l)
		}
	}
	m := regexp.MustCompile(`(?m)^PIP="([^"]*)"`).FindStringSubmatch(read("scripts/images/onnxruntime-cpu/image.conf"))
	if m == nil {
		t.Fatal("scripts/images/onnxruntime-cpu/image.conf has no PIP=\"…\" line")
	}
	img := strings.Fields(m[1])
	sort.Strings(req)
	sort.Strings(img)
	if strings.Join(req, " ") != strings.Join(img, " ") {
		t.Errorf("requirements-onnx.txt pins\n  %s\nbut the image recipe pins\n  %s", strings.Join(req, " "), strings.Join(img, " "))
	}
	install := Config().Install
	for _, top := range []string{"onnxruntime==", "onnx==", "numpy=="} {
		var pin string
		for _, r := range req {
			if strings.HasPrefix(r, top) {
				pin = r
			}
		}
		if pin == "" || !strings.Contains(install, " "+pin) {
			t.Errorf("the manifest's install command %q does not pin %q as requirements-onnx.txt does (%s)", install, top, pin)
		}
	}
}

// TestPlantedGateOrderFailsInItsContainer: the canonical gate blocks
// handed to ONNX's LSTM unpermuted (i, f, g, o read as i, o, f, c) must
// fail forward at layers.0, in the plugin's image.
func TestPlantedGateOrderFailsInItsContainer(t *testing.T) {
	plugintest.PlantedFailsInImage(t, "onnxruntime", image, plugintest.Bug{
		What: "gate order not permuted to i, o, f, c", File: "onnxruntime_worker.py",
		Old: "TO_ONNX = [0, 3, 1, 2]", New: "TO_ONNX = [0, 1, 2, 3]",
		Model: reference.LSTM, Layer: "layers.0"})
}
