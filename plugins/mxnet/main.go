// Command dlcompat-plugin-mxnet runs the reference models on Apache MXNet
// 1.9.1 (its last release, CPU): the imperative NDArray API with the fused
// RNN operator for the LSTM, gradients through mx.autograd. MXNet 1.9.1
// breaks on numpy >= 1.24 (np.bool), so it needs numpy 1.23, which means
// CPython <= 3.11. It is a static Go binary that embeds its Python worker
// (mxnet_worker.py) and starts $DLCOMPAT_PYTHON_MXNET, else the first of
// python3, the venv that scripts/setup.d/37-mxnet.sh makes
// (/opt/dlcompat/venv-mxnet) and /usr/bin/python3 that has mxnet. Its image
// is dlcompat/mxnet-cpu (scripts/images/mxnet-cpu).
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed mxnet_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		Manifest: pluginapi.Manifest{
			Name:         "mxnet",
			Images:       map[string]string{"cpu": "dlcompat/mxnet-cpu:bookworm"},
			Interpreters: []string{"python3", "/opt/dlcompat/venv-mxnet/bin/python3", "/usr/bin/python3"},
			Install:      "scripts/setup.d/37-mxnet.sh (mxnet 1.9.1 and numpy 1.23.5 from PyPI in /opt/dlcompat/venv-mxnet)",
		},
		Module:       "mxnet",
		WorkerSource: workerSource,
		// No oneDNN subgraph log lines in the cells' stderr. The engine
		// stays MXNet's default (threaded, asynchronous): what users run.
		Env: []string{"MXNET_SUBGRAPH_VERBOSE=0"},
	}
}

func main() { pyshim.Serve(Config()) }
