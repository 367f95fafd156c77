// Command dlcompat-plugin-keras runs the reference models as Keras 3 layers
// (Conv2D, MaxPooling2D, Dense, LSTM), with weights set by set_weights
// after explicit conversion. The Keras backend comes from $KERAS_BACKEND
// (default tensorflow; jax works too) and is part of the version string,
// "3.15.1+tensorflow", so each backend is a row of its own: the host runs
// one plugin process per backend (dlcompat run --keras-backends
// tensorflow,jax). It is a static Go binary that embeds its Python worker
// (keras_worker.py) and starts Keras's interpreter: $DLCOMPAT_PYTHON_KERAS,
// else the first of python3, /opt/dlcompat/venv-tf and /usr/bin/python3
// that has keras.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed keras_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{Framework: "keras", Module: "keras", WorkerSource: workerSource}.WithTFVenv()
}

func main() { pyshim.Serve(Config()) }
