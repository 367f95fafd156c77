package judge

import (
	"math"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// smallGolden is a golden file with the names of model m's outputs (its
// logits, activations, gradients and loss) and tiny shapes: the real ones
// are megabytes, which the fuzzer mutates and minimizes at a crawl.
func smallGolden(m reference.Model) tensor.File {
	g := tensor.File{Tensors: map[string]tensor.Tensor{
		pluginapi.OutputLogits: tensor.FromFloat64([]int{1, 3}, []float64{1, -2, 0.5}),
		pluginapi.OutputLoss:   tensor.FromFloat64([]int{1}, []float64{2.3}),
	}}
	for i, a := range reference.Activations(m) {
		g.Tensors[pluginapi.ActivationPrefix+a] = tensor.FromFloat64([]int{2}, []float64{float64(i), -0.25})
	}
	for i, p := range reference.Params(m) {
		g.Tensors[pluginapi.GradPrefix+p.Name] = tensor.FromFloat64([]int{2}, []float64{1e-3 * float64(i), 2})
	}
	return g
}

// FuzzVerdicts feeds arbitrary plugin outputs to the host's side of the
// plugin response path, as the runner does: Forward, Backward and
// Determinism, against golden files with each model's tensor names. No
// input may panic; outputs that do not decode are an error verdict,
// never a pass; a pass has measured, finite errors. Seeds: the golden
// outputs as float32 (a pass) and as two runs of a determinism check.
// The committed golden files (testdata/reference) are left to
// tensor.FuzzDecode: at half a megabyte and more, minimizing each new
// input found from them took the fuzzer its whole minute.
func FuzzVerdicts(f *testing.F) {
	models := reference.ModelNames()
	checks := []string{pluginapi.CheckForward, pluginapi.CheckBackward, pluginapi.CheckDeterminism}
	golden := map[string]tensor.File{}
	for mi, name := range models {
		m, err := reference.ParseModel(name)
		if err != nil {
			f.Fatal(err)
		}
		g := smallGolden(m)
		golden[name] = g
		got := tensor.File{Tensors: map[string]tensor.Tensor{}}
		rep := tensor.File{Tensors: map[string]tensor.Tensor{}}
		for n, t := range g.Tensors {
			v, _ := t.Float64s()
			got.Tensors[n] = tensor.FromFloat64AsFloat32(t.Shape, v)
			rep.Tensors[n], rep.Tensors[pluginapi.RepeatPrefix+n] = got.Tensors[n], got.Tensors[n]
		}
		for ci, file := range []tensor.File{got, got, rep} {
			b, err := tensor.Encode(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(mi), uint8(ci), b)
		}
	}
	f.Add(uint8(0), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, mi, ci uint8, outputs []byte) {
		name := models[int(mi)%len(models)]
		check := checks[int(ci)%len(checks)]
		m, _ := reference.ParseModel(name)
		var v Verdict
		switch check {
		case pluginapi.CheckForward:
			v = Forward(outputs, golden[name], reference.Activations(m), Table["fp32"].Forward)
		case pluginapi.CheckBackward:
			var params []string
			for _, p := range reference.Params(m) {
				params = append(params, p.Name)
			}
			v = Backward(outputs, golden[name], params, Table["fp32"].Backward)
		default:
			v = Determinism(outputs)
		}
		_, decErr := tensor.Decode(outputs)
		switch {
		case decErr != nil && v.Status != matrix.Error:
			t.Fatalf("%s %s: undecodable outputs (%v) judged %s", name, check, decErr, v.Status)
		case v.Status != matrix.Pass && v.Status != matrix.Fail && v.Status != matrix.Error:
			t.Fatalf("%s %s: verdict %q", name, check, v.Status)
		case v.Status != matrix.Pass && v.Reason == "":
			t.Fatalf("%s %s: %s without a reason", name, check, v.Status)
		case v.Status == matrix.Pass:
			if v.MaxAbsErr == nil || math.IsNaN(float64(*v.MaxAbsErr)) || math.IsInf(float64(*v.MaxAbsErr), 0) {
				t.Fatalf("%s %s: pass with max abs error %v", name, check, v.MaxAbsErr)
			}
		}
	})
}
