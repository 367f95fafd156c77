package main

import (
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/plugins/internal/plugintest"
)

// TestEveryCellSkipsWithTheEvidence runs the real plugin through the host's
// runner: it starts, and each cell is a skip whose reason is the evidence,
// never a pass, an error or a missing cell.
func TestEveryCellSkipsWithTheEvidence(t *testing.T) {
	run := plugintest.RunUnavailable(t, plugintest.Spec(t, "cntk"))
	if f := run.Frameworks[0]; f.Version != "not installable" || f.Unavailable != unavailable {
		t.Errorf("framework %q %q, unavailable %q", f.Name, f.Version, f.Unavailable)
	}
	for _, c := range run.Cells {
		if c.Status != "skip" || !strings.Contains(c.Reason, "CPython 2.7, 3.5 and 3.6") || !strings.Contains(c.Reason, "libmpi.so.12") {
			t.Errorf("%s: %s %q, want a skip with the evidence", c.CellKey, c.Status, c.Reason)
		}
	}
}
