// Package reference is the float64 oracle of dlcompat: a plain-Go
// implementation of the two reference models of docs/spec.md §1 (SimpleCNN and the
// 2-layer StackedLSTM), forward and backward, with no framework inside.
//
// Every plugin is judged against the values computed here, so the package
// favours obviously-correct loops over speed, and it is itself checked
// against central finite differences (and, where PyTorch is installed,
// against torch.float64).
//
// The golden files are byte-for-byte reproducible because every sum here
// is a plain loop in a fixed order and the gc compiler does not fuse
// multiply-adds on amd64 at the default GOAMD64=v1. On arm64, or with
// GOAMD64=v3, Go may fuse them (the spec allows it), and regenerated
// goldens can differ in the last bits: still far inside every tolerance,
// but the byte-identity test would say so.
//
// It also owns the deterministic generator of the reference tensors
// (weights, inputs, labels; docs/spec.md §2). It does not read or write files:
// see core/tensor for safetensors and cmd/dlcompat's "gen-reference" for the
// files under testdata/reference.
package reference
