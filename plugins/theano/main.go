// Command dlcompat-plugin-theano runs the reference models on the real
// Theano 1.0.5 (not PyTensor, its successor): symbolic graphs compiled to C
// once per model, gradients through T.grad, CPU only. Debian bullseye's
// python3-theano (Python 3.9) is the last build of it that runs, so it runs
// in its container (dlcompat/theano-cpu, scripts/images/theano-cpu); under
// the local executor it is usually not installed and its cells are skips
// that say how to get it. It is a static Go binary that embeds its Python
// worker (theano_worker.py) and starts $DLCOMPAT_PYTHON_THEANO, else the
// first of python3 and /usr/bin/python3 that has theano.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed theano_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		Manifest: pluginapi.Manifest{
			Name:    "theano",
			Images:  map[string]string{"cpu": "dlcompat/theano-cpu:bullseye"},
			Install: "scripts/build-images.sh theano-cpu (Theano 1.0.5 runs in its bullseye image; then run with --executor docker)",
		},
		Module:       "theano",
		WorkerSource: workerSource,
		// float32 unless a tensor says otherwise; BLAS for the C ops; the
		// compile cache under $HOME (/tmp in a dlcompat container).
		Env: []string{"THEANO_FLAGS=floatX=float32,blas.ldflags=-lblas"},
	}
}

func main() { pyshim.Serve(Config()) }
