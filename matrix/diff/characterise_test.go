package diff_test

import (
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/matrix"
	"github.com/dlcompat/dlcompat/matrix/diff"
	"github.com/dlcompat/dlcompat/matrix/internal/matrixtest"
)

// charRun is a run with one characterise cell of pytorch on an A100,
// whose rates are c's.
func charRun(id string, seed uint64, c matrixtest.Characterisation) *matrix.Run {
	r := matrixtest.Spec{ID: id, Host: "node-a", Seed: seed, Frameworks: [][2]string{{"pytorch", "2.3.0"}},
		Devices: []matrix.Device{matrixtest.A100(0, "550.54.15")}, Checks: []string{"forward"}, Models: []string{"cnn"}}.Run()
	r.Cells = append(r.Cells, matrixtest.CharacteriseCell("pytorch", "2.3.0", "gpu:0", c, 20, seed))
	return r
}

func a100Char(copyGBs, bf16 float64) matrixtest.Characterisation {
	return matrixtest.Characterisation{Streams: map[string]float64{"copy": copyGBs, "triad": 1350, "h2d": 24.5, "d2h": 25},
		GEMM: map[string]float64{"fp32": 18800, "bf16": bf16}, StreamElements: 1 << 28, GEMMSize: 8192}
}

// TestDiffCharacterisation: a driver that loses bandwidth or GEMM
// throughput is a speed regression of the device's characterise cell,
// found by the same Mann-Whitney test and minimum change as any series
// (docs/spec.md §10.5); the same figures with fresh noise are unchanged.
func TestDiffCharacterisation(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		new    matrixtest.Characterisation
		want   diff.Change
		series string // the series that must be slower
	}{
		{"the same figures, fresh noise", a100Char(1320, 262000), diff.Unchanged, ""},
		{"copy bandwidth 10% lower", a100Char(1188, 262000), diff.Regression, "copy"},
		{"bf16 GEMM 20% slower", a100Char(1320, 209600), diff.Regression, "gemm_bf16"},
		{"copy bandwidth 3% lower: under the GPU's 5%", a100Char(1280, 262000), diff.Unchanged, ""},
	} {
		c := diff.Compare(charRun("old", 1, a100Char(1320, 262000)), charRun("new", 2, tc.new), diff.DefaultThresholds)
		d := findDiff(t, c, "pytorch", "NVIDIA A100-SXM4-40GB", "", "characterise")
		if d.Change != tc.want {
			t.Errorf("%s: %s (%q), want %s", tc.desc, d.Change, d.Reasons, tc.want)
		}
		for _, tm := range d.Timings {
			slower := tm.Verdict == diff.Slower
			if slower != (tm.Name == tc.series) {
				t.Errorf("%s: series %s: %s (p %v)", tc.desc, tm.Series(), tm.Verdict, tm.P)
			}
		}
		if tc.want == diff.Regression && (!d.SpeedRegression || !strings.Contains(strings.Join(d.Reasons, "; "), tc.series)) {
			t.Errorf("%s: speed regression %v, reasons %q", tc.desc, d.SpeedRegression, d.Reasons)
		}
	}
}
