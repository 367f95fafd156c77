package site_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/history"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
	"github.com/dlcompat/dlcompat/matrix/site"

	"github.com/dlcompat/dlcompat/core/testenv"
)

func yearSite(t *testing.T, extra ...*matrix.Run) (string, *history.Store) {
	s, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "year.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, r := range append(matrixtest.Year(365), extra...) {
		if _, err := s.Ingest(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	now := matrixtest.YearStart.AddDate(0, 0, 364).Add(8 * time.Hour)
	if _, err := site.Build(context.Background(), s, dir, site.Options{Now: now, Stale: 36 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	return dir, s
}

func day(d int) string { return matrixtest.YearStart.AddDate(0, 0, d).Format("2006-01-02") }

// TestSiteShowsPlantedEventsInChromium: what Chromium renders from
// file:// shows each planted event, and three screenshots are taken.
func TestSiteShowsPlantedEventsInChromium(t *testing.T) {
	dir, _ := yearSite(t)
	p := matrixtest.YearPlanted
	dom := string(testenv.Chromium(t, "--dump-dom", "file://"+filepath.Join(dir, "index.html")))
	for _, want := range []string{
		"▼ since " + day(p.PerfRegressionNight), "▼ since " + day(p.StatusRegressionNight), "flaky",
		`<td>a100-runner</td><td>` + day(p.StaleRunnerLast) + ` 02:00 UTC</td>`, `<span class="stale">stale</span>`, `<span class="fresh">fresh</span>`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("index lacks %q", want)
		}
	}
	perf := history.Key{Framework: "pytorch", Model: "cnn", Check: "perf", Device: "NVIDIA H100 80GB HBM3", Precision: "fp32"}
	cell := filepath.Join(dir, site.PageName(perf))
	cdom := string(testenv.Chromium(t, "--dump-dom", "file://"+cell))
	for _, want := range []string{"Regression: forward b64", "since " + day(p.PerfRegressionNight), "image digest sha256:pytorch-1111 → sha256:pytorch-2222",
		day(p.DriverChangeNight) + ": driver 550.54.15 → 560.35.03", "<polygon", "<polyline", "infrastructure)"} {
		if !strings.Contains(cdom, want) {
			t.Errorf("cell page lacks %q", want)
		}
	}
	thr := history.Key{Framework: "tensorflow", Model: "lstm", Check: "perf", Device: "NVIDIA H100 80GB HBM3", Precision: "fp32"}
	if tdom := string(testenv.Chromium(t, "--dump-dom", "file://"+filepath.Join(dir, site.PageName(thr)))); strings.Count(tdom, "◆</text>") != len(p.ThrottledNights) || strings.Contains(tdom, "Regression:") {
		t.Errorf("throttled nights: %d marks (planted %d), regression shown: %v", strings.Count(tdom, "◆</text>"), len(p.ThrottledNights), strings.Contains(tdom, "Regression:"))
	}
	drivers, _ := filepath.Glob(filepath.Join(dir, "drivers-*.html"))
	var h100 string
	for _, d := range drivers {
		if b, _ := os.ReadFile(d); bytes.Contains(b, []byte("Drivers on NVIDIA H100")) {
			h100 = d
		}
	}
	ddom := string(testenv.Chromium(t, "--dump-dom", "file://"+h100))
	if !strings.Contains(ddom, "driver 550.54.15") || !strings.Contains(ddom, "driver 560.35.03") {
		t.Errorf("driver comparison lacks a driver")
	}
	for name, page := range map[string]string{"history-index.png": filepath.Join(dir, "index.html"), "history-cell.png": cell, "history-drivers.png": h100} {
		testenv.Screenshot(t, name, 1280, 1400, page)
	}
}

// TestSiteSafeAgainstHostileStrings: a run whose names carry markup
// renders as text in Chromium.
func TestSiteSafeAgainstHostileStrings(t *testing.T) {
	r := matrixtest.Year(1)[0]
	r.RunID, r.Host.Hostname = "hostile", `<img src=x id=injected1>`
	for i := range r.Cells {
		r.Cells[i].Framework = `"><img src=x id=injected2><svg onload=alert(1)>`
		r.Cells[i].Reason = `</td><script id=injected3>x()</script>`
	}
	r.Devices[0].Name = `</title><img id=injected4 src=x>`
	r.Devices[0].DriverVersion = `'><img id=injected5>`
	s, err := history.Open(context.Background(), filepath.Join(t.TempDir(), "h.sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Ingest(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := site.Build(context.Background(), s, dir, site.Options{}); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.html"))
	if len(pages) < 3 {
		t.Fatalf("pages: %v", pages)
	}
	for _, pg := range pages {
		dom := string(testenv.Chromium(t, "--dump-dom", "file://"+pg))
		if strings.Contains(dom, `id="injected`) || strings.Contains(dom, "id=injected") && strings.Contains(dom, "<img id") {
			t.Errorf("%s: a hostile string became markup", filepath.Base(pg))
		}
		if strings.Contains(dom, "<script") {
			t.Errorf("%s: a script element", filepath.Base(pg))
		}
	}
}
