// Package tensor reads and writes safetensors files and compares arrays.
//
// Safetensors is the interchange format between the host and every plugin
// (docs/spec.md §2.5): an 8-byte little-endian header length, a JSON header mapping
// each tensor name to its dtype, shape and byte range, then the raw
// little-endian data. Files written here are canonical (names sorted, data
// packed in that order, header padded with spaces to 8 bytes), so equal
// tensors give byte-identical files. Reading validates everything the
// header claims; a truncated or lying file is an error, never a panic.
//
// Compare implements docs/spec.md §6.1's rule |got − want| ≤ atol + rtol·|want| and
// reports where the error is worst. It knows nothing of models or plugins.
package tensor
