package pluginapi

import (
	"encoding/json"
	"fmt"
	"os"
)

// Manifest is what a plugin knows about its framework before any
// framework code runs: the host reads it from the binary (ManifestArg)
// when it discovers the plugin, so that core names no framework. Every
// field but Name is optional.
type Manifest struct {
	// Name is the framework's name, which is also the plugin binary's
	// suffix (dlcompat-plugin-<name>) and the name of its rows.
	Name string `json:"name"`
	// Images are the images the docker executor runs the plugin in when
	// a configuration names none, by device kind ("cpu", "gpu"); an
	// image listed for "cpu" alone serves every device.
	Images map[string]string `json:"images,omitempty"`
	// Interpreters are the Python interpreters a Python-backed plugin
	// tries, in order, when $DLCOMPAT_PYTHON_<NAME> is unset.
	Interpreters []string `json:"interpreters,omitempty"`
	// Install is the command that installs the framework for the local
	// executor, shown when it is missing.
	Install string `json:"install,omitempty"`
	// Variant, when set, is an axis along which one plugin binary runs as
	// several rows (Keras's backends): the host starts it once per value
	// with Variant.Env=value.
	Variant *VariantAxis `json:"variant,omitempty"`
}

// VariantAxis is a per-framework axis of the matrix: one plugin process,
// and one framework-version row, per value.
type VariantAxis struct {
	// Name says what the values are ("backend").
	Name string `json:"name"`
	// Env is the variable that selects the value in the plugin's
	// environment ("KERAS_BACKEND").
	Env string `json:"env"`
	// Values are the values the plugin knows; Default is the one it runs
	// when no variant is asked for.
	Values  []string `json:"values"`
	Default string   `json:"default,omitempty"`
	// Images are the images the docker executor runs a value in where
	// the framework's default image (Manifest.Images) cannot (Keras's
	// torch backend needs PyTorch, which the TensorFlow image lacks), by
	// value; each serves every device. A spec whose image is not the
	// framework's default (a configuration named another) keeps it.
	Images map[string]string `json:"images,omitempty"`
}

// ManifestArg is the argument that makes a plugin binary print its
// Manifest as JSON on stdout and exit, instead of serving.
const ManifestArg = "--dlcompat-manifest"

// ServeManifest prints m and exits when the process was started with
// ManifestArg; otherwise it returns. Serve calls it first.
func ServeManifest(m Manifest) {
	if len(os.Args) != 2 || os.Args[1] != ManifestArg {
		return
	}
	if err := json.NewEncoder(os.Stdout).Encode(m); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}
