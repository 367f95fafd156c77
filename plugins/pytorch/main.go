// Command dlcompat-plugin-pytorch runs the reference models on PyTorch:
// nn.Modules loaded with the reference weights, autograd for gradients,
// on the CPU and on cuda:N (as the host's gpu:N). It is a static Go binary
// that embeds its Python worker (pytorch_worker.py) and starts PyTorch's
// interpreter: $DLCOMPAT_PYTHON_PYTORCH, else the first of python3 and
// /usr/bin/python3 that has torch (Debian's python3-torch is the light
// choice for the local executor; see scripts/setup.d/30-python.sh).
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed pytorch_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		Manifest: pluginapi.Manifest{
			Name:    "pytorch",
			Images:  map[string]string{"cpu": "dlcompat/pytorch-cpu:bookworm"},
			Install: "apt-get install -y python3-torch python3-numpy",
		},
		Module: "torch",
		// The model checks, and the device characterisation (docs/spec.md §10).
		Capabilities: pluginapi.Capabilities{Checks: append(append([]string{}, pluginapi.AllChecks...), pluginapi.CheckCharacterise)},
		WorkerSource: workerSource,
		Env: []string{
			// cuda:N is the GPU that NVML (the host's gpu:N) calls N.
			"CUDA_DEVICE_ORDER=PCI_BUS_ID",
			// Deterministic cuBLAS, which use_deterministic_algorithms needs.
			"CUBLAS_WORKSPACE_CONFIG=:4096:8",
		},
	}
}

func main() { pyshim.Serve(Config()) }
