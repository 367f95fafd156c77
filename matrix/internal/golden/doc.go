// Package golden compares a test's output with a golden file in the
// calling package's testdata/: the -update flag rewrites the file, and a
// mismatch leaves name.got beside it to diff. It is for tests only.
package golden
