// Package refdata writes and loads the reference tensors of docs/spec.md §2.4 under
// testdata/reference: per model the weights and the input (with labels) as
// float32, and the oracle's float64 golden outputs, activations and
// gradients, all as safetensors, plus a MANIFEST of SHA-256 sums in
// sha256sum's format (so `sha256sum -c MANIFEST` works too).
//
// Load refuses a file whose sum does not match, naming it: a plugin judged
// against a corrupted golden would be judged wrongly, silently.
package refdata
