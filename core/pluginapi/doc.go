// Package pluginapi is the contract between the dlcompat host and every
// framework plugin, imported by both sides: the Framework interface, the
// go-plugin handshake, the versioned plugin sets, and the request and
// response types. Proto types stop here (see grpc.go); callers speak Go.
//
// A plugin computes; it does not judge. It returns outputs, gradients,
// activations and raw timing samples, and the host compares them with the
// oracle. Model failures are data (RunResponse.Status "error" with the
// framework's message); a Go error from Run means the transport failed.
package pluginapi
