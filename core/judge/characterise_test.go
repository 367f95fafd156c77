package judge

import (
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// charOutputs is what a correct plugin returns for a characterise cell:
// a copy and a triad of 8 sampled elements, and an fp32 GEMM of n = 4
// with 2 sampled entries; break edits it first.
func charOutputs(t *testing.T, brk func(map[string][]float64)) []byte {
	t.Helper()
	n, k := 4, 2
	a := []float64{1, 2, 3, 4, -1, 0.5, 2, 1}                            // rows [k, n]
	b := []float64{1, 0, 2, 1, -1, 3, 0.5, 2}                            // columns [n, k]: b[j*k+s]
	c := []float64{1*1 + 2*2 + 3*(-1) + 4*0.5, -1*0 + 0.5*1 + 2*3 + 1*2} // exact
	src := []float64{0, 0.25, 0.5, 7, 100, 3, 2, 1}
	bb := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	cc := []float64{0.25, 0.5, 1, 2, 4, 8, 16, 32}
	tri := make([]float64, 8)
	for i := range tri {
		tri[i] = bb[i] + 3*cc[i]
	}
	v := map[string][]float64{"copy.src": src, "copy.dst": append([]float64{}, src...), "triad.a": tri, "triad.b": bb, "triad.c": cc,
		"triad.scalar": {3}, "gemm_fp32.a": a, "gemm_fp32.b": b, "gemm_fp32.c": c}
	if brk != nil {
		brk(v)
	}
	shapes := map[string][]int{"gemm_fp32.a": {k, n}, "gemm_fp32.b": {n, k}}
	f := tensor.File{Tensors: map[string]tensor.Tensor{}}
	for name, x := range v {
		sh, ok := shapes[name]
		if !ok {
			sh = []int{len(x)}
		}
		f.Tensors[name] = tensor.FromFloat64(sh, x)
	}
	f.Tensors["copy.mismatches"] = tensor.FromInt64([]int{1}, []int64{0})
	out, err := tensor.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func charTimings() []pluginapi.Timing {
	s := []float64{0.010, 0.011, 0.010, 0.012, 0.010}
	return []pluginapi.Timing{{Name: "copy", Unit: "s", Batch: 1 << 25, Samples: s}, {Name: "triad", Unit: "s", Batch: 1 << 25, Samples: s},
		{Name: "gemm_fp32", Unit: "s", Batch: 4, Samples: s}}
}

func TestCharacterise(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		brk    func(map[string][]float64)
		want   matrix.Status
		reason string
	}{
		{"a correct answer", nil, matrix.Pass, ""},
		{"a copy wrong in one element", func(v map[string][]float64) { v["copy.dst"][3] = 7.25 }, matrix.Fail, "copy wrong (1 elements differ"},
		{"a triad computed as b + c", func(v map[string][]float64) {
			for i := range v["triad.a"] {
				v["triad.a"][i] = v["triad.b"][i] + v["triad.c"][i]
			}
		}, matrix.Fail, "triad wrong"},
		{"a fast GEMM that returns zeros", func(v map[string][]float64) { v["gemm_fp32.c"] = []float64{0, 0} }, matrix.Fail, "gemm_fp32 wrong"},
		{"a GEMM off by 1e-3 relative (TF32 where fp32 was asked)", func(v map[string][]float64) {
			v["gemm_fp32.c"][0] *= 1.001
			v["gemm_fp32.c"][1] *= 1.001
		}, matrix.Fail, "gemm_fp32 wrong"},
		{"no triad sample", func(v map[string][]float64) { delete(v, "triad.a") }, matrix.Fail, `no "triad.a"`},
	} {
		v := Characterise(charOutputs(t, tc.brk), charTimings())
		if v.Status != tc.want || !strings.Contains(v.Reason, tc.reason) {
			t.Errorf("%s: %s %q, want %s with %q", tc.desc, v.Status, v.Reason, tc.want, tc.reason)
		}
	}
	v := Characterise(charOutputs(t, nil), charTimings())
	if got := v.Timings[0].GBPerSecond; got < 26.8 || got > 26.9 {
		t.Errorf("copy %v GB/s, want 8 × 2^25 / 10 ms = 26.84", got)
	}
	if got := v.Timings[2].GFLOPs; got != 2*64/0.010/1e9 {
		t.Errorf("gemm %v GFLOP/s, want 2n³ over the median", got)
	}
	if v := Characterise(charOutputs(t, nil), charTimings()[:2]); v.Status != matrix.Fail || !strings.Contains(v.Reason, "no GEMM series") {
		t.Errorf("without a GEMM: %s %q", v.Status, v.Reason)
	}
}
