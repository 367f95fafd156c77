// Package judge turns a plugin's outputs into a verdict: it compares them
// with the oracle's golden tensors under docs/spec.md §6.1's rule and the tolerance
// table below, names the first diverging layer of a failing forward pass,
// and checks determinism bit for bit. It does not run anything.
package judge
