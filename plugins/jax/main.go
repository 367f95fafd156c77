// Command dlcompat-plugin-jax runs the reference models on JAX as a
// framework of its own (not as a Keras backend): pure functions of a
// parameter pytree (lax.conv_general_dilated with explicit dimension
// numbers, reduce_window max pooling, the LSTM cell over lax.scan),
// gradients by jax.value_and_grad of the mean cross-entropy, every function
// jit-compiled ahead of time and checked for strict fp32 before it runs
// (docs/spec.md §4.7). It runs on the CPU and, with a CUDA jaxlib, on each
// GPU as gpu:N in NVML's (PCI bus) order. It is a static Go binary that
// embeds its Python worker (jax_worker.py) and starts jax's interpreter:
// $DLCOMPAT_PYTHON_JAX, else the first of python3, /opt/dlcompat/venv-tf
// (scripts/setup.d/30-python.sh installs jax there) and /usr/bin/python3
// that has jax.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed jax_worker.py
var workerSource string

// install makes the local venv the other plugins share and installs jax
// into it, pinned as scripts/setup.d/requirements-tf.txt pins it.
const install = "python3 -m venv /opt/dlcompat/venv-tf && /opt/dlcompat/venv-tf/bin/pip install " + pyshim.JAXPins

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	c := pyshim.Config{
		// jax is in the TensorFlow image too (scripts/images/tensorflow-cpu):
		// one image to build, not two.
		Manifest: pluginapi.Manifest{Name: "jax", Images: map[string]string{"cpu": pyshim.TFImage}},
		Module:   "jax", WorkerSource: workerSource,
		// The model checks, and the device characterisation (docs/spec.md §10).
		Capabilities: pluginapi.Capabilities{Checks: append(append([]string{}, pluginapi.AllChecks...), pluginapi.CheckCharacterise)},
	}.WithTFVenv() // its interpreters, and CUDA_DEVICE_ORDER=PCI_BUS_ID: jax's GPU N is NVML's N
	c.Install = install
	return c
}

func main() { pyshim.Serve(Config()) }
