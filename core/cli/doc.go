// Package cli is the dlcompat command line: flags, help and wiring only.
// Each subcommand parses its flags, calls into core, and maps errors to
// the exit codes of docs/spec.md §5.8: 0 all expected cells pass; 1 a cell failed;
// 2 bad usage or bad input; 3 infrastructure (no plugin could start, or a
// framework named with --frameworks cannot run here).
package cli
