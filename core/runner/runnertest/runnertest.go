// Package runnertest helps the tests of code that drives the runner.
package runnertest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// KillAfterFirstCell leaves the finished run in outDir as a run killed
// (its file names are runner.JournalFile and runner.RunFile, which this
// package cannot import: the runner's own tests use it)
// after its first cell would: the journal keeps its header and one cell,
// and there is no run.json yet.
func KillAfterFirstCell(t testing.TB, outDir string) {
	t.Helper()
	journal := filepath.Join(outDir, "journal.jsonl")
	b, err := os.ReadFile(journal)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) < 3 {
		t.Fatalf("%s holds %d lines, want a header and at least two cells", journal, len(lines))
	}
	if err := os.WriteFile(journal, []byte(lines[0]+lines[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(outDir, "run.json")); err != nil {
		t.Fatal(err)
	}
}
