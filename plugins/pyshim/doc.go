// Package pyshim is the shared Go side of the Python-backed plugins
// (pytorch, tensorflow, keras, jax, caffe). Each of them is a static Go binary
// (no cgo) that embeds its worker script; pyshim starts the framework's
// Python, hands it the worker, and forwards Describe and Run to it.
//
// The worker (worker/dlcompat_worker.py plus the framework's own module)
// needs nothing but the framework and numpy and runs on Python 3.9 to 3.13
// (TestWorkerOnEveryPython runs it on each).
// It is started as `<interpreter> -u -c <bootstrap>`: the bootstrap reads
// the worker modules from the first message on stdin, so no file is written
// and an interpreter can be a whole command line (`docker run -i IMAGE
// python3`). After that, host and worker exchange frames on stdin/stdout:
//
//	"DLCW" | uint32 LE header length | JSON header | blobs
//
// with header["blobs"] giving each blob's length; tensors travel as
// safetensors bytes. The worker keeps the original stdout for frames and
// points fd 1 at stderr, so a framework's own printing cannot corrupt them.
// The worker's stderr goes to the plugin's raw stderr, which the host keeps
// as the cell's stderr tail, and to a tail kept here for error messages.
//
// The interpreter, under the local executor, is the one named by
// $DLCOMPAT_PYTHON_<FRAMEWORK> (see pluginapi.InterpreterEnv); a named
// interpreter that does not exist is an error that names it. Unset, the
// plugin takes the first of its Config.Interpreters (its Manifest's) in which the framework's
// module is installed (probed with importlib.util.find_spec, which imports
// nothing): in an image that is `python3`.
//
// Failures are data, as the plugin contract asks:
//   - the framework is not installed (no interpreter has its module):
//     Describe's Unavailable says so and gives the one command that
//     installs it, and the host turns its cells into skips;
//   - it is installed but does not import: Run answers status "error"
//     with the worker's own last lines;
//   - the worker dies or writes something other than a frame mid-check:
//     status "crash" (the framework's process died, docs/spec.md §5.6) with its last
//     lines, and the next Run starts a fresh worker;
//   - an exception inside a check: status "error" with the exception and
//     where it was raised; the worker lives on.
//
// What it does not do: judge numbers (the host does), or time anything
// (the worker times around the framework call, docs/spec.md §7.1).
package pyshim
