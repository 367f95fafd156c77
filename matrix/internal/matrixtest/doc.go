// Package matrixtest is what the tests and benchmarks of matrix and its
// subpackages share:
//
//   - run documents: runs shaped like real ones, drawn from a seeded
//     generator (Spec, Base, Fleet), and fixed ones: Report, the run the
//     golden files of matrix/render show; EveryStatus, a cell of each
//     status; Hostile, with text a broken plugin could send;
//   - golden files: Golden compares output with testdata/NAME; the -update
//     flag, which every test binary under matrix/ accepts because each
//     imports this package, rewrites them (go test ./matrix/... -update),
//     and a mismatch leaves NAME.got beside the file to diff.
//
// It is for tests only and measures nothing.
package matrixtest
