// Package runner plans and runs a matrix: it declares every cell
// (framework × version × device × model × check) before running any, runs
// them plugin by plugin under a per-check timeout, turns a dead plugin
// into "crash" cells with its stderr and a hung one into "timeout" (the
// plugin is killed and restarted for the next cell), judges results with
// core/judge, journals each finished cell, and writes the final document
// atomically. A cell that never got a result stays "unknown".
//
// It does not parse flags or render: see core/cli and matrix.
package runner
