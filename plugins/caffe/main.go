// Command dlcompat-plugin-caffe runs the reference models as Caffe nets
// (prototxt), weights set through net.params, gradients through a
// SoftmaxWithLoss and net.backward(). Caffe (BVLC 1.0, CPU) is packaged by
// Debian bullseye only, so it runs in its container (dlcompat/caffe-cpu,
// Python 3.9); under the local executor it is usually not installed and
// its cells are skips that say how to get it. It is a static Go binary
// that embeds its Python worker (caffe_worker.py) and starts
// $DLCOMPAT_PYTHON_CAFFE, else the first of python3 and /usr/bin/python3
// that has caffe.
package main

import (
	_ "embed"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/pyshim"
)

//go:embed caffe_worker.py
var workerSource string

// Config is the plugin's configuration (exported to its tests).
func Config() pyshim.Config {
	return pyshim.Config{
		Manifest: pluginapi.Manifest{
			Name:    "caffe",
			Images:  map[string]string{"cpu": "dlcompat/caffe-cpu:bullseye"},
			Install: "scripts/build-images.sh caffe-cpu (Caffe runs in its bullseye image; then run with --executor docker)",
		},
		Module:       "caffe",
		WorkerSource: workerSource,
		// glog reads it once, at import: keep Caffe's start-up chatter out.
		Env: []string{"GLOG_minloglevel=2"},
	}
}

func main() { pyshim.Serve(Config()) }
