package judge

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

func golden() tensor.File {
	return tensor.File{Tensors: map[string]tensor.Tensor{
		"logits":    tensor.FromFloat64([]int{1, 2}, []float64{1, -2}),
		"act.a":     tensor.FromFloat64([]int{2}, []float64{0.5, 0.25}),
		"act.b":     tensor.FromFloat64([]int{2}, []float64{3, 4}),
		"grad.w":    tensor.FromFloat64([]int{2}, []float64{1e-3, 2}),
		"grad.bias": tensor.FromFloat64([]int{1}, []float64{0.5}),
		"loss":      tensor.FromFloat64([]int{1}, []float64{2.3}),
	}}
}

func outputs(t *testing.T, ts map[string]tensor.Tensor) []byte {
	t.Helper()
	b, err := tensor.Encode(tensor.File{Tensors: ts})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func f32(v ...float32) tensor.Tensor { return tensor.FromFloat32([]int{len(v)}, v) }

func TestForward(t *testing.T) {
	tol := Table["fp32"].Forward
	logits := func(a, b float32) tensor.Tensor { return tensor.FromFloat32([]int{1, 2}, []float32{a, b}) }
	for _, tc := range []struct {
		desc   string
		out    map[string]tensor.Tensor
		status matrix.Status
		layer  string
		reason string
	}{
		{"exact", map[string]tensor.Tensor{"logits": logits(1, -2), "act.a": f32(0.5, 0.25), "act.b": f32(3, 4)}, matrix.Pass, "", ""},
		{"off after layer a", map[string]tensor.Tensor{"logits": logits(1.01, -2), "act.a": f32(0.5, 0.25), "act.b": f32(3.1, 4)}, matrix.Fail, "b", "first diverging layer: b"},
		{"off without activations", map[string]tensor.Tensor{"logits": logits(1.01, -2)}, matrix.Fail, "", "1 of 2 logits"},
		{"NaN", map[string]tensor.Tensor{"logits": logits(float32(math.NaN()), -2)}, matrix.Fail, "", "logits"},
		{"wrong shape", map[string]tensor.Tensor{"logits": f32(1, -2)}, matrix.Fail, "", "shape [2], want [1 2]"},
		{"missing logits", map[string]tensor.Tensor{"act.a": f32(0.5, 0.25)}, matrix.Fail, "", `no "logits"`},
	} {
		v := Forward(outputs(t, tc.out), golden(), []string{"a", "b"}, tol)
		if v.Status != tc.status || v.FirstDivergingLayer != tc.layer || !strings.Contains(v.Reason, tc.reason) {
			t.Errorf("%s: %s layer %q reason %q", tc.desc, v.Status, v.FirstDivergingLayer, v.Reason)
		}
		// Whatever the numbers, the verdict must serialise.
		if _, err := json.Marshal(matrix.Cell{MaxAbsErr: v.MaxAbsErr, MaxRelErr: v.MaxRelErr, Tensors: v.Tensors}); err != nil {
			t.Errorf("%s: %v", tc.desc, err)
		}
	}
	if v := Forward([]byte("garbage"), golden(), nil, tol); v.Status != matrix.Error {
		t.Errorf("garbage outputs: %s", v.Status)
	}
}

func TestBackward(t *testing.T) {
	tol := Table["fp32"].Backward
	good := map[string]tensor.Tensor{"grad.w": f32(1e-3, 2), "grad.bias": f32(0.5), "loss": f32(2.3)}
	v := Backward(outputs(t, good), golden(), []string{"w", "bias"}, tol)
	if v.Status != matrix.Pass || v.MaxAbsErr == nil {
		t.Fatalf("good gradients: %+v", v)
	}
	bad := map[string]tensor.Tensor{"grad.w": f32(1e-3, 2.01), "grad.bias": f32(0.5)}
	v = Backward(outputs(t, bad), golden(), []string{"w", "bias"}, tol)
	if v.Status != matrix.Fail || !strings.Contains(v.Reason, "w") || !strings.HasPrefix(v.Worst, "grad.w[1]") {
		t.Fatalf("bad gradient: %s %q worst %q", v.Status, v.Reason, v.Worst)
	}
	missing := map[string]tensor.Tensor{"grad.w": f32(1e-3, 2)}
	if v := Backward(outputs(t, missing), golden(), []string{"w", "bias"}, tol); v.Status != matrix.Fail || !strings.Contains(v.Reason, "grad.bias") {
		t.Fatalf("missing gradient: %s %q", v.Status, v.Reason)
	}
}

func TestDeterminism(t *testing.T) {
	same := map[string]tensor.Tensor{"logits": f32(1, 2), "repeat.logits": f32(1, 2)}
	if v := Determinism(outputs(t, same)); v.Status != matrix.Pass {
		t.Fatalf("same: %+v", v)
	}
	diff := map[string]tensor.Tensor{"logits": f32(1, 2), "repeat.logits": f32(1, 2.5)}
	v := Determinism(outputs(t, diff))
	if v.Status != matrix.Fail || !strings.Contains(v.Reason, "0.5") {
		t.Fatalf("different: %+v", v)
	}
	if v := Determinism(outputs(t, map[string]tensor.Tensor{"logits": f32(1)})); v.Status != matrix.Fail {
		t.Fatalf("no repeat: %+v", v)
	}
}

func TestTolerances(t *testing.T) {
	if _, err := ForPrecision("fp8"); err == nil || !strings.Contains(err.Error(), "fp32") {
		t.Fatalf("unknown precision: %v", err)
	}
	fp32, _ := ForPrecision("fp32")
	if fp32.Forward.RTol != 1e-4 || fp32.Forward.ATol != 1e-5 || fp32.Backward.RTol != 1e-3 || fp32.Backward.ATol != 1e-5 {
		t.Fatalf("fp32 tolerances drifted from docs/spec.md §6.2: %+v", fp32)
	}
}

// TestEveryPrecisionHasARule: each mode of the protocol has a row, and
// only the reduced ones are held to their fp32 twin.
func TestEveryPrecisionHasARule(t *testing.T) {
	for _, p := range pluginapi.AllPrecisions {
		tol, err := ForPrecision(p)
		if err != nil {
			t.Fatal(err)
		}
		reduced := p == "tf32" || p == "bf16" || p == "fp16"
		if Reduced(p) != reduced || (reduced && (tol.Multiplier <= 1 || tol.Floor <= 0)) {
			t.Errorf("%s: %+v", p, tol)
		}
	}
}

// TestRelative: a reduced-precision verdict that passed elementwise is
// still held to max(Multiplier × its fp32 twin's error, Floor).
func TestRelative(t *testing.T) {
	tol, _ := ForPrecision("bf16")
	pass := func(abs float64) Verdict {
		return Verdict{Status: matrix.Pass, MaxAbsErr: matrix.F(abs), MaxRelErr: matrix.F(0), Tolerance: &matrix.Tolerance{}}
	}
	small := matrix.F(1e-8) // the floor decides
	if v := Relative(pass(tol.Floor/2), "bf16", small, tol); v.Status != matrix.Pass || v.Tolerance.MaxAbsBound != tol.Floor {
		t.Errorf("under the floor: %+v %+v", v, v.Tolerance)
	}
	if v := Relative(pass(tol.Floor*2), "bf16", small, tol); v.Status != matrix.Fail || !strings.Contains(v.Reason, "exceeds max(65536 × the fp32 error") {
		t.Errorf("over the floor: %+v", v)
	}
	big := matrix.F(1e-6) // 65536 × 1e-6 = 0.066 > the floor
	if v := Relative(pass(0.05), "bf16", big, tol); v.Status != matrix.Pass {
		t.Errorf("within the multiple of a larger fp32 error: %+v", v)
	}
	fail := Verdict{Status: matrix.Fail, Reason: "elementwise", MaxAbsErr: matrix.F(1), Tolerance: &matrix.Tolerance{}}
	if v := Relative(fail, "bf16", small, tol); v.Reason != "elementwise" {
		t.Errorf("an elementwise failure keeps its reason: %+v", v)
	}
	fp32, _ := ForPrecision("fp32")
	if v := Relative(pass(1), "fp32", small, fp32); v.Status != matrix.Pass {
		t.Errorf("fp32 is not relative: %+v", v)
	}
}
