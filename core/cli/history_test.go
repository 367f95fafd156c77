package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
)

// historyNight writes a one-cell run of night d whose forward check has
// the given status.
func historyNight(t *testing.T, dir string, d int, st matrix.Status) string {
	start := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC).AddDate(0, 0, d)
	r := &matrix.Run{SchemaVersion: matrix.SchemaVersion, RunID: fmt.Sprintf("n%03d", d), Started: start, DlcompatVersion: "test", ConfigHash: "c",
		Host:    matrix.Host{Hostname: "ci"},
		Devices: []matrix.Device{{ID: "cpu", Kind: matrix.KindCPU, Name: "cpu-model"}},
		Cells: []matrix.Cell{{CellKey: matrix.CellKey{Framework: "gorgonia", FrameworkVersion: "0.9.18", Device: "cpu", Model: "cnn", Check: "forward", Precision: "fp32"},
			Status: st, MaxAbsErr: matrix.F(1e-6)}}}
	p := filepath.Join(dir, r.RunID+".json")
	if err := matrix.WriteFileAtomic(p, func(w io.Writer) error { return matrix.WriteJSON(w, r) }); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHistoryCommandGates: ingest is idempotent, a bad file is exit 2
// and stores nothing, regressions exits 1 with a Markdown body once a
// passing cell fails, and site writes an index.
func TestHistoryCommandGates(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "h.sqlite")
	var files []string
	for d := 0; d < 5; d++ {
		files = append(files, historyNight(t, dir, d, matrix.Pass))
	}
	if code, out, errOut := runCLI(t, append([]string{"history", "ingest", "--store", store}, files...)...); code != ExitOK || strings.Count(out, ", stored") != 5 {
		t.Fatalf("ingest: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := runCLI(t, "history", "ingest", "--store", store, files[0]); code != ExitOK || !strings.Contains(out, "already stored") {
		t.Fatalf("second ingest: exit %d\n%s", code, out)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"schema_version": 99}`), 0o644)
	if code, _, errOut := runCLI(t, "history", "ingest", "--store", store, historyNight(t, dir, 9, matrix.Pass), bad); code != ExitUsage || !strings.Contains(errOut, "bad.json") {
		t.Fatalf("bad file: exit %d, %s", code, errOut)
	}
	if code, out, _ := runCLI(t, "history", "regressions", "--store", store); code != ExitOK || !strings.Contains(out, "no regressions") {
		t.Fatalf("regressions before: exit %d\n%s", code, out)
	}
	runCLI(t, "history", "ingest", "--store", store, historyNight(t, dir, 5, matrix.Fail))
	md := filepath.Join(dir, "body.md")
	if code, out, errOut := runCLI(t, "history", "regressions", "--store", store, "-o", md); code != ExitFailed {
		t.Fatalf("regressions after a failure: exit %d\n%s%s", code, out, errOut)
	}
	if b, _ := os.ReadFile(md); !strings.Contains(string(b), "pass → fail") || !strings.Contains(string(b), "since:** 2026-03-06") {
		t.Fatalf("body:\n%s", b)
	}
	site := filepath.Join(dir, "site")
	if code, out, errOut := runCLI(t, "history", "site", "--store", store, "-o", site); code != ExitOK {
		t.Fatalf("site: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(site, "index.html")); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, "history", "regressions", "--store", filepath.Join(dir, "none.sqlite")); code != ExitUsage {
		t.Fatalf("missing store: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "history"); code != ExitUsage {
		t.Fatalf("no subcommand: exit %d", code)
	}
}

// TestHistoryStoreAddress: --store file:PATH is the file PATH for every
// subcommand, and an address of another scheme is bad usage naming
// --store (exit 2), not a store that failed.
func TestHistoryStoreAddress(t *testing.T) {
	dir := t.TempDir()
	store := "file:" + filepath.Join(dir, "h.sqlite")
	run := historyNight(t, dir, 0, matrix.Pass)
	if code, out, errOut := runCLI(t, "history", "ingest", "--store", store, run); code != ExitOK {
		t.Fatalf("ingest into %s: exit %d\n%s%s", store, code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "history", "regressions", "--store", store); code != ExitOK || !strings.Contains(out, "no regressions") {
		t.Fatalf("regressions from %s: exit %d\n%s%s", store, code, out, errOut)
	}
	for _, sub := range []string{"ingest", "regressions"} {
		args := []string{"history", sub, "--store", "mysql://db/x"}
		if sub == "ingest" {
			args = append(args, run)
		}
		if code, _, errOut := runCLI(t, args...); code != ExitUsage || !strings.Contains(errOut, "--store") || !strings.Contains(errOut, `"mysql"`) {
			t.Errorf("%s --store mysql://: exit %d, %s", sub, code, errOut)
		}
	}
}
