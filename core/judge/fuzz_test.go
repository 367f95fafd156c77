package judge

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
	"github.com/dlcompat/dlcompat/core/tensor"
	"github.com/dlcompat/dlcompat/matrix"
)

// FuzzVerdicts feeds arbitrary plugin outputs to the host's side of the
// plugin response path, as the runner does: Forward, Backward and
// Determinism against the committed golden files. No input may panic;
// outputs that do not decode are an error verdict, never a pass; a pass
// has measured, finite errors.
func FuzzVerdicts(f *testing.F) {
	models := reference.ModelNames()
	checks := []string{pluginapi.CheckForward, pluginapi.CheckBackward, pluginapi.CheckDeterminism}
	golden := map[string]tensor.File{} // "cnn.forward" → its golden file
	for _, m := range models {
		for _, c := range checks[:2] {
			g, err := tensor.ReadFile(filepath.Join("..", "..", "testdata", "reference", "golden", m+"."+c+".safetensors"))
			if err != nil {
				f.Fatal(err)
			}
			golden[m+"."+c] = g
			// Seeds: the golden outputs themselves (a pass), and as the
			// two runs of a determinism check.
			b, err := tensor.Encode(g)
			if err != nil {
				f.Fatal(err)
			}
			for i := range checks {
				f.Add(uint8(len(golden)-1), uint8(i), b)
			}
			rep := tensor.File{Tensors: map[string]tensor.Tensor{}}
			for n, t := range g.Tensors {
				rep.Tensors[n], rep.Tensors[pluginapi.RepeatPrefix+n] = t, t
			}
			if b, err = tensor.Encode(rep); err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(len(golden)-1), uint8(2), b)
		}
	}
	f.Add(uint8(0), uint8(0), []byte{})
	f.Fuzz(func(t *testing.T, mi, ci uint8, outputs []byte) {
		m := models[int(mi)%len(models)]
		check := checks[int(ci)%len(checks)]
		model, err := reference.ParseModel(m)
		if err != nil {
			t.Fatal(err)
		}
		var v Verdict
		switch check {
		case pluginapi.CheckForward:
			v = Forward(outputs, golden[m+".forward"], reference.Activations(model), Table["fp32"].Forward)
		case pluginapi.CheckBackward:
			var params []string
			for _, p := range reference.Params(model) {
				params = append(params, p.Name)
			}
			v = Backward(outputs, golden[m+".backward"], params, Table["fp32"].Backward)
		default:
			v = Determinism(outputs)
		}
		_, decErr := tensor.Decode(outputs)
		switch {
		case decErr != nil && v.Status != matrix.Error:
			t.Fatalf("%s %s: undecodable outputs (%v) judged %s", m, check, decErr, v.Status)
		case v.Status != matrix.Pass && v.Status != matrix.Fail && v.Status != matrix.Error:
			t.Fatalf("%s %s: verdict %q", m, check, v.Status)
		case v.Status != matrix.Pass && v.Reason == "":
			t.Fatalf("%s %s: %s without a reason", m, check, v.Status)
		case v.Status == matrix.Pass:
			if v.MaxAbsErr == nil || math.IsNaN(float64(*v.MaxAbsErr)) || math.IsInf(float64(*v.MaxAbsErr), 0) {
				t.Fatalf("%s %s: pass with max abs error %v", m, check, v.MaxAbsErr)
			}
		}
	})
}
