// Package engine runs the two dlcompat reference models (docs/spec.md §1: "cnn", the
// SimpleCNN, and "lstm", the 2-layer StackedLSTM with a linear head) in
// gorgonia, in float32, on the CPU, forward and backward.
//
// A Net is one compiled gorgonia graph set for one model at one batch size
// (gorgonia graphs have fixed shapes). It is built once by New and then run
// any number of times; every call copies its results out of gorgonia's
// buffers, so results never alias the graph and two identical calls return
// bitwise-identical numbers.
//
// Parameters and gradients use the canonical names and PyTorch layouts of
// docs/spec.md §4.6. Internally some are held in another layout (linear weights
// transposed, LSTM weights split into their four gate blocks, biases shaped
// for broadcasting); New converts in and Backward converts the gradients
// back, so callers never see gorgonia's layout.
//
// The package does not load weight files, time anything, or compare against
// the oracle: callers do that. It needs no cgo and no GPU.
package engine
