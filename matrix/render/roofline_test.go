package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"

	"github.com/dlcompat/dlcompat/core/testenv"
)

// -roofline-run renders the rooflines of a run document (a real run's
// run.json) in TestRooflineScreenshot too; $DLCOMPAT_SCREENSHOT_DIR keeps
// the screenshots (docs/, by hand: see docs/spec.md §10.6).
var rooflineRun = flag.String("roofline-run", "", "a run.json whose rooflines TestRooflineScreenshot also renders")

// rooflinePage writes the characterisation section of r's report alone,
// with the report's CSS: what the screenshots show.
func rooflinePage(t *testing.T, r *matrix.Run, banner string) []byte {
	t.Helper()
	h := buildHTMLReport(r)
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>%s body{margin:12px;font:13px sans-serif}</style></head><body>", mustRead("templates/style.css"))
	if banner != "" {
		fmt.Fprintf(&b, "<p><strong>%s</strong></p>", banner)
	}
	for _, rf := range h.Rooflines {
		if err := htmlTemplates.ExecuteTemplate(&b, "roofline", rf); err != nil {
			t.Fatal(err)
		}
	}
	b.WriteString("</body></html>")
	return b.Bytes()
}

// syntheticH200 is a synthetic run on an H200 as go-nvml's dgxh200 mock
// describes it (core/device TestPeaksH200 checks these figures), with
// made-up characterisation and perf series: a picture of the GPU path,
// labelled as such, not a measurement.
func syntheticH200() *matrix.Run {
	s := matrixtest.Spec{ID: "synthetic-h200", Host: "mock", Seed: 5, Samples: 8,
		Frameworks: [][2]string{{"pytorch", "2.11.0"}, {"jax", "0.10.2"}}, Models: []string{"cnn"}, Checks: []string{"perf"},
		Devices: []matrix.Device{{ID: "gpu:0", Kind: "gpu", Name: "NVIDIA H200 141GB HBM3e", Architecture: "Hopper", ComputeCapability: "9.0",
			MemoryBusWidthBits: 6144, MaxMemClockMHz: 3201, MaxSMClockMHz: 1980, CUDACores: 16896, SMCount: 132,
			TheoreticalBandwidthGBs: 4916.736, PeakFP32GFLOPs: 66908.16,
			PeakGFLOPsByPrecision: map[string]float64{"fp64": 66908.16, "fp32": 66908.16, "tf32": 535265.28, "bf16": 1070530.56, "fp16": 1070530.56}}}}
	r := s.Run()
	// GPU-like perf: a hundred times the synthetic CPU rate.
	for i := range r.Cells {
		for j := range r.Cells[i].Timings {
			tm := &r.Cells[i].Timings[j]
			tm.GFLOPs *= 100
		}
	}
	r.Cells = append(r.Cells,
		matrixtest.CharacteriseCell("pytorch", "2.11.0", "gpu:0", matrixtest.Characterisation{
			Streams: map[string]float64{"copy": 4150, "triad": 4300, "h2d": 53, "d2h": 54},
			GEMM:    map[string]float64{"fp64": 52000, "fp32": 51000, "tf32": 370000, "bf16": 720000, "fp16": 740000}, StreamElements: 1 << 28, GEMMSize: 8192}, 8, 1),
		matrixtest.CharacteriseCell("jax", "0.10.2", "gpu:0", matrixtest.Characterisation{
			Streams: map[string]float64{"copy": 3900, "triad": 4100},
			GEMM:    map[string]float64{"fp64": 50000, "fp32": 49000, "tf32": 350000, "bf16": 690000, "fp16": 700000}, StreamElements: 1 << 28, GEMMSize: 8192}, 8, 2))
	return r
}

// TestRooflineScreenshot renders the rooflines in headless Chromium: the
// golden report's (CPU and A100), a synthetic H200's, and -roofline-run's.
func TestRooflineScreenshot(t *testing.T) {
	pages := []struct {
		name   string
		run    *matrix.Run
		banner string
	}{
		{"roofline-golden.png", matrixtest.Report(), ""},
		{"roofline-gpu-mock.png", syntheticH200(), "SYNTHETIC: an H200 as go-nvml's dgxh200 mock describes it (theoretical figures from the inventory); the achieved figures and series are made up, to show the GPU path — not a measurement"},
	}
	if *rooflineRun != "" {
		r, err := matrix.Read(*rooflineRun)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, struct {
			name   string
			run    *matrix.Run
			banner string
		}{"roofline-cpu.png", r, ""})
	}
	for _, p := range pages {
		rfs := rooflines(p.run)
		if len(rfs) == 0 {
			t.Fatalf("%s: no roofline", p.name)
		}
		for _, rf := range rfs {
			if len(rf.Lines) == 0 {
				t.Errorf("%s %s: no roof drawn", p.name, rf.Title)
			}
		}
		page := filepath.Join(t.TempDir(), "page.html")
		if err := os.WriteFile(page, rooflinePage(t, p.run, p.banner), 0o644); err != nil {
			t.Fatal(err)
		}
		testenv.Screenshot(t, p.name, 1000, 60+540*len(rfs), page)
	}
}

// TestRooflinePlacesSeries: every model perf series with an intensity is
// a point, each precision's achieved ceiling and the bandwidth slope are
// drawn, and the theoretical ones only where the inventory knows them.
func TestRooflinePlacesSeries(t *testing.T) {
	r := matrixtest.Report()
	rfs := rooflines(r)
	if len(rfs) != 2 {
		t.Fatalf("%d rooflines, want the CPU's and the A100's", len(rfs))
	}
	cpu, gpu := rfs[0], rfs[1]
	series := 0
	for _, c := range r.Cells {
		if c.Check == "perf" && c.Status == matrix.Pass && c.Device == "cpu" {
			series += len(c.Timings)
		}
	}
	if len(cpu.Points) != series || series == 0 {
		t.Errorf("CPU roofline has %d points, want %d", len(cpu.Points), series)
	}
	var classes []string
	for _, l := range cpu.Lines {
		classes = append(classes, l.Class)
	}
	if got := strings.Join(classes, " "); strings.Contains(got, "theo") || !strings.Contains(got, "ceil-fp32") || !strings.Contains(got, "ceil-bf16") {
		t.Errorf("CPU roof lines %q: want achieved fp64/fp32/bf16, nothing theoretical", got)
	}
	theo := 0
	for _, l := range gpu.Lines {
		if strings.HasSuffix(l.Class, " theo") {
			theo++
		}
	}
	if theo < 5 {
		t.Errorf("A100 roofline has %d theoretical lines, want one per mode of its table at least", theo)
	}
	b, _ := json.Marshal(cpu.Points[0])
	if !strings.Contains(string(b), "GFLOP/s at") {
		t.Errorf("a point's title says %s", b)
	}
}
