// Command dlcompat-plugin-keras runs the reference models as Keras 3 layers
// (Conv2D, MaxPooling2D, Dense, LSTM), with weights set by set_weights
// after explicit conversion. The Keras backend comes from $KERAS_BACKEND
// (default tensorflow; jax works too, in the same image; torch needs
// PyTorch 2.1 or later and runs in an image of its own, torchImage) and
// is part of the version string, "3.15.1+tensorflow", so each backend is a
// row of its own: the host runs one plugin process per backend (dlcompat
// run --variants keras=tensorflow,jax,torch). It is a static Go binary that embeds its Python worker
// (keras_worker.py) and starts Keras's interpreter: $DLCOMPAT_PYTHON_KERAS,
// else the first of python3, /opt/dlcompat/venv-tf and /usr/bin/python3
// that has keras.
package main

import (
	_ "embed"
	"os"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

// backendEnv chooses the Keras backend, as Keras itself reads it.
const backendEnv = "KERAS_BACKEND"

// torchImage is the docker executor's image for the torch backend:
// Debian trixie's PyTorch with Keras (scripts/images/keras-torch). The
// TensorFlow image has no torch.
const torchImage = "dlcompat/keras-torch:trixie"

//go:embed keras_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	c := pyshim.Config{
		Manifest: pluginapi.Manifest{
			Name:   "keras",
			Images: map[string]string{"cpu": pyshim.TFImage},
			// Each backend is a row of its own: the host starts the plugin
			// once per backend asked for (dlcompat run --variants
			// keras=tensorflow,jax), with KERAS_BACKEND set.
			Variant: &pluginapi.VariantAxis{Name: "backend", Env: backendEnv,
				Values: []string{"tensorflow", "jax", "torch"}, Default: "tensorflow",
				Images: map[string]string{"torch": torchImage}},
		},
		Module: "keras", WorkerSource: workerSource,
	}.WithTFVenv()
	c.Install = installFor(os.Getenv(backendEnv))
	return c
}

// installFor is the command that makes a backend import: Keras alone
// is not enough when the backend's own framework is missing.
func installFor(backend string) string {
	pip := pyshim.TFVenvPython + " -m pip install "
	switch backend {
	case "jax":
		return pyshim.TFVenvInstall + " && " + pip + pyshim.JAXPins
	case "torch":
		// Keras 3 needs torch.float8_* (PyTorch 2.1 or later); Debian
		// bookworm's python3-torch (1.13) is too old for this backend, and
		// PyPI's Linux torch brings GBs of CUDA wheels (docs/spec.md §4.4).
		return "scripts/build-images.sh keras-torch (then --executor docker), or locally: " +
			pyshim.TFVenvInstall + " && " + pip + "'torch>=2.1'"
	}
	return pyshim.TFVenvInstall
}

func main() { pyshim.Serve(Config()) }
