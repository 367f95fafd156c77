// Command dlcompat-plugin-tensorflow runs the reference models in plain
// TensorFlow ops (tf.nn.conv2d, tf.nn.max_pool2d, matrix products, an
// explicit LSTM loop) with gradients through tf.GradientTape. It is a
// static Go binary that embeds its Python worker (tensorflow_worker.py)
// and starts TensorFlow's interpreter: $DLCOMPAT_PYTHON_TENSORFLOW, else
// the first of python3, the venv that scripts/setup.d/30-python.sh makes
// (/opt/dlcompat/venv-tf) and /usr/bin/python3 that has tensorflow.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed tensorflow_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		Manifest: pluginapi.Manifest{Name: "tensorflow", Images: map[string]string{"cpu": pyshim.TFImage}},
		Module:   "tensorflow", WorkerSource: workerSource,
	}.WithTFVenv()
}

func main() { pyshim.Serve(Config()) }
