// Command dlcompat-plugin-numpy characterises the CPU through numpy: its
// row of the matrix runs no model, only the characterise check
// (docs/spec.md §10): memory bandwidth (copy, triad) and numpy's BLAS GEMM
// in fp64 and fp32. The characteriser itself lives in the shared worker
// library (plugins/pyshim/worker, NumpyCharacteriser), which every Python
// plugin already loads and which needs nothing but numpy; this plugin
// gives it a row of its own, so that numpy's figures stand beside each
// framework's on the same CPU. It starts the TensorFlow venv's interpreter
// first (PyPI's numpy, with OpenBLAS; Debian's python3-numpy uses the
// reference BLAS unless an optimised libblas is installed), then python3
// and /usr/bin/python3, or $DLCOMPAT_PYTHON_NUMPY.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed numpy_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		// PyPI's numpy with OpenBLAS is in the TensorFlow image too.
		Manifest: pluginapi.Manifest{
			Name: "numpy", Images: map[string]string{"cpu": pyshim.TFImage},
			Interpreters: []string{pyshim.TFVenvPython, "python3", "/usr/bin/python3"},
			Install:      "apt-get install -y python3-numpy",
		},
		Module: "numpy", WorkerSource: workerSource,
		DeviceOnly:   true,
		Capabilities: pluginapi.Capabilities{Checks: pluginapi.DeviceChecks},
	}
}

func main() { pyshim.Serve(Config()) }
