// Command dlcompat-plugin-onnxruntime runs the reference models on ONNX
// Runtime, an inference runtime: its worker (onnxruntime_worker.py) builds
// both models as ONNX graphs with the reference weights as initializers
// (the LSTM as ONNX's LSTM op) and runs them with the CPUExecutionProvider,
// or the CUDAExecutionProvider for gpu:N where onnxruntime has it. It
// declares forward and perf only: the host plans backward and determinism
// as skip, and perf has no training step. It is a static Go binary that
// embeds its worker and starts onnxruntime's interpreter:
// $DLCOMPAT_PYTHON_ONNXRUNTIME, else the first of python3, the venv that
// scripts/setup.d/32-onnxruntime.sh makes (/opt/dlcompat/venv-onnx) and
// /usr/bin/python3 that has onnxruntime.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed onnxruntime_worker.py
var workerSource string

// Venv is the local executor's onnxruntime environment, made by
// scripts/setup.d/32-onnxruntime.sh from requirements-onnx.txt beside it.
const Venv = "/opt/dlcompat/venv-onnx"

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		Manifest: pluginapi.Manifest{
			Name:         "onnxruntime",
			Images:       map[string]string{"cpu": "dlcompat/onnxruntime-cpu:bookworm"},
			Interpreters: []string{"python3", Venv + "/bin/python3", "/usr/bin/python3"},
			Install:      "python3 -m venv " + Venv + " && " + Venv + "/bin/pip install onnxruntime==1.32.0 onnx==1.23.2 numpy==2.4.6",
		},
		Module:       "onnxruntime",
		WorkerSource: workerSource,
		Env: []string{
			// CUDA device N is the GPU that NVML (the host's gpu:N) calls N.
			"CUDA_DEVICE_ORDER=PCI_BUS_ID",
		},
		// An inference runtime: no gradients, so no backward and no
		// determinism (which compares gradients too).
		Capabilities: pluginapi.Capabilities{
			Models:      []string{"cnn", "lstm"},
			Checks:      []string{pluginapi.CheckForward, pluginapi.CheckPerf},
			Activations: true,
		},
	}
}

func main() { pyshim.Serve(Config()) }
