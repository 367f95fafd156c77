package judge

import (
	"fmt"
	"math"
	"strings"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// GEMMRelL2 is the rule a characterisation GEMM's sampled entries are
// held to, per precision mode: ‖c − c_ref‖₂ ≤ GEMMRelL2·‖c_ref‖₂ over the
// sample, c_ref computed here in float64 from the rows of A and columns
// of B the plugin returned as the framework held them (already rounded to
// the mode's input type). What is left is the accumulation and the
// rounding of C to the output type: about the unit roundoff relative to
// ‖c‖ for a correct product (fp32 2^-24 ≈ 6e-8; bf16 2^-8 ≈ 4e-3, fp16
// and tf32 2^-11 ≈ 5e-4), while a wrong product (a transposed operand, a
// lost block, zeros) errs by about ‖c‖ itself. Each bound sits a decade
// or more above the first and two below the second (docs/spec.md §10.2).
// Measured on this machine's CPU, n = 1024: numpy fp32 3e-8, fp64 1e-16;
// pytorch bf16 2.2e-3.
var GEMMRelL2 = map[string]float64{
	pluginapi.PrecisionFP64: 1e-12,
	pluginapi.PrecisionFP32: 1e-5, // TF32 in a strict fp32 GEMM errs by ~5e-4: a fail
	pluginapi.PrecisionTF32: 5e-3,
	pluginapi.PrecisionBF16: 2e-2,
	pluginapi.PrecisionFP16: 5e-3,
}

// StreamBytesPerElement is what one element of a stream series moves, in
// bytes, as STREAM counts it: the float32 words read plus written, no
// write-allocate traffic (docs/spec.md §10.1).
var StreamBytesPerElement = map[string]float64{
	pluginapi.TimingCopy:  2 * 4, // read src, write dst
	pluginapi.TimingTriad: 3 * 4, // read b and c, write a
	pluginapi.TimingH2D:   4,     // one crossing of the link
	pluginapi.TimingD2H:   4,
}

// Characterise judges a characterise cell: every series is summarised
// as perf's are (Perf), given its rate (GB/s for a stream, GFLOP/s for a
// GEMM), and checked against the data the plugin returned, so that a
// fast wrong answer is a fail: a copy must be bit for bit its source on
// every sampled element, and count no mismatch over the whole array; a
// triad's sampled a must equal b + s·c exactly (the inputs are small
// multiples of 1/4, so the sum is exact in float32); a GEMM's sampled
// entries must agree with a float64 product under GEMMRelL2. Each check
// is listed in Tensors.
func Characterise(outputs []byte, timings []pluginapi.Timing) Verdict {
	v := Perf(timings, 0, 0)
	if v.Status != matrix.Pass {
		return v
	}
	got, err := tensor.Decode(outputs)
	if err != nil {
		return Verdict{Status: matrix.Error, Reason: "plugin outputs: " + err.Error()}
	}
	have := map[string]bool{}
	var bad []string
	for i := range v.Timings {
		t := &v.Timings[i]
		have[t.Name] = true
		med := t.Summary.Median
		var te matrix.TensorError
		var err error
		switch {
		case StreamBytesPerElement[t.Name] > 0:
			if med > 0 {
				t.GBPerSecond = StreamBytesPerElement[t.Name] * float64(t.Batch) / med / 1e9
			}
			if t.Name == pluginapi.TimingTriad {
				te, err = checkTriad(got)
			} else {
				te, err = checkCopy(got, t.Name)
			}
		case strings.HasPrefix(t.Name, pluginapi.TimingGEMMPrefix):
			mode := strings.TrimPrefix(t.Name, pluginapi.TimingGEMMPrefix)
			tol, ok := GEMMRelL2[mode]
			if !ok {
				err = fmt.Errorf("%s: unknown precision mode %q", t.Name, mode)
				break
			}
			if med > 0 {
				n := float64(t.Batch)
				t.GFLOPs = 2 * n * n * n / med / 1e9
			}
			te, err = checkGEMM(got, t.Name, t.Batch, tol)
		default:
			err = fmt.Errorf("unknown series %q", t.Name)
		}
		if err != nil {
			bad = append(bad, err.Error())
			continue
		}
		v.Tensors = append(v.Tensors, te)
		if !te.Pass {
			bad = append(bad, fmt.Sprintf("%s wrong (%s)", t.Name, wrongText(t.Name, te)))
		}
	}
	for _, need := range []string{pluginapi.TimingCopy, pluginapi.TimingTriad} {
		if !have[need] {
			bad = append(bad, "no "+need+" series")
		}
	}
	gemms := 0
	for name := range have {
		if strings.HasPrefix(name, pluginapi.TimingGEMMPrefix) {
			gemms++
		}
	}
	if gemms == 0 {
		bad = append(bad, "no GEMM series")
	}
	if len(bad) > 0 {
		v.Status = matrix.Fail
		v.Reason = "characterisation: " + strings.Join(bad, "; ")
	}
	return v
}

func wrongText(name string, te matrix.TensorError) string {
	if strings.HasPrefix(name, pluginapi.TimingGEMMPrefix) {
		return fmt.Sprintf("sampled entries' ‖c−c_ref‖₂/‖c_ref‖₂ = %.3g", float64(te.MaxRelErr))
	}
	return fmt.Sprintf("%d elements differ, max |Δ| %.3g", te.Violations, float64(te.MaxAbsErr))
}

// vector returns the named tensor's values, refusing a missing one or one
// of the wrong shape (want: nil accepts any).
func vector(f tensor.File, name string, want []int) ([]float64, error) {
	t, ok := f.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("plugin returned no %q", name)
	}
	if want != nil && !tensor.SameShape(t.Shape, want) {
		return nil, fmt.Errorf("%s: shape %v, want %v", name, t.Shape, want)
	}
	return t.Float64s()
}

// checkCopy compares name.dst with name.src bit for bit (as float64,
// which float32 values widen to exactly), and name.mismatches, the
// plugin's count over the whole array, when it sent one.
func checkCopy(f tensor.File, name string) (matrix.TensorError, error) {
	src, err := vector(f, name+".src", nil)
	if err != nil {
		return matrix.TensorError{}, err
	}
	if len(src) == 0 {
		return matrix.TensorError{}, fmt.Errorf("%s.src: no samples", name)
	}
	dst, err := vector(f, name+".dst", []int{len(src)})
	if err != nil {
		return matrix.TensorError{}, err
	}
	te := matrix.TensorError{Name: name}
	for i := range src {
		if d := math.Abs(dst[i] - src[i]); d > 0 || math.IsNaN(dst[i]) != math.IsNaN(src[i]) {
			te.Violations++
			if !(float64(te.MaxAbsErr) >= d) {
				te.MaxAbsErr = matrix.Float(d)
				te.WorstIndex = []int{i}
			}
		}
	}
	if m, ok := f.Tensors[name+".mismatches"]; ok {
		n, err := m.Int64s()
		if err != nil || len(n) != 1 {
			return matrix.TensorError{}, fmt.Errorf("%s.mismatches: want one count", name)
		}
		if n[0] != 0 && te.Violations == 0 {
			te.Violations = int(n[0]) // wrong outside the sample
		}
	}
	te.Pass = te.Violations == 0
	return te, nil
}

// checkTriad checks triad.a = triad.b + s·triad.c exactly on the sample.
func checkTriad(f tensor.File) (matrix.TensorError, error) {
	a, err := vector(f, "triad.a", nil)
	if err != nil {
		return matrix.TensorError{}, err
	}
	if len(a) == 0 {
		return matrix.TensorError{}, fmt.Errorf("triad.a: no samples")
	}
	b, err := vector(f, "triad.b", []int{len(a)})
	if err != nil {
		return matrix.TensorError{}, err
	}
	c, err := vector(f, "triad.c", []int{len(a)})
	if err != nil {
		return matrix.TensorError{}, err
	}
	s, err := vector(f, "triad.scalar", []int{1})
	if err != nil {
		return matrix.TensorError{}, err
	}
	te := matrix.TensorError{Name: pluginapi.TimingTriad}
	for i := range a {
		want := b[i] + s[0]*c[i]
		if d := math.Abs(a[i] - want); d > 0 || math.IsNaN(a[i]) {
			te.Violations++
			if !(float64(te.MaxAbsErr) >= d) {
				te.MaxAbsErr = matrix.Float(d)
				te.WorstIndex = []int{i}
			}
		}
	}
	te.Pass = te.Violations == 0
	return te, nil
}

// checkGEMM recomputes the sampled entries of C in float64: entry s is
// row s of name.a [K, n] times column s of name.b [n, K].
func checkGEMM(f tensor.File, name string, n int, tol float64) (matrix.TensorError, error) {
	c, err := vector(f, name+".c", nil)
	if err != nil {
		return matrix.TensorError{}, err
	}
	k := len(c)
	if k == 0 {
		return matrix.TensorError{}, fmt.Errorf("%s.c: no samples", name)
	}
	a, err := vector(f, name+".a", []int{k, n})
	if err != nil {
		return matrix.TensorError{}, err
	}
	b, err := vector(f, name+".b", []int{n, k})
	if err != nil {
		return matrix.TensorError{}, err
	}
	var num, den, maxAbs float64
	worst := 0
	for s := 0; s < k; s++ {
		var ref float64
		for j := 0; j < n; j++ {
			ref += a[s*n+j] * b[j*k+s]
		}
		d := c[s] - ref
		num += d * d
		den += ref * ref
		if math.Abs(d) > maxAbs || math.IsNaN(d) {
			maxAbs, worst = math.Abs(d), s
		}
	}
	rel := math.Sqrt(num) / math.Sqrt(den)
	if den == 0 {
		rel = math.Inf(1)
		if num == 0 {
			rel = 0
		}
	}
	te := matrix.TensorError{Name: name, MaxAbsErr: matrix.Float(maxAbs), MaxRelErr: matrix.Float(rel), WorstIndex: []int{worst}}
	te.Pass = rel <= tol // false for NaN
	if !te.Pass {
		te.Violations = 1
	}
	return te, nil
}
