// Package synth builds run documents for the tests and benchmarks of
// matrix and its subpackages: runs shaped like real ones, drawn from a
// seeded generator (Spec), and fixed documents with one cell of each
// status (EveryStatus) or hostile text (Hostile). It is for tests only and
// measures nothing.
package synth
