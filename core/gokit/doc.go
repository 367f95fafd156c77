// Package gokit is the shared side of the native Go plugins: it turns a
// Backend (something that can build a network for a model and batch and run
// it forward and backward) into a pluginapi.Framework that runs every check
// of docs/spec.md §5 (timing: §7.1) — forward, backward, determinism and perf, the latter timed
// here, around the backend call, never across the RPC.
//
// It does not judge: outputs go back to the host, which compares them with
// the oracle. It holds no state between requests, so a Framework built on
// it is safe for concurrent calls as long as each Net is used by one call.
package gokit
