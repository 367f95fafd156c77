package reference

import (
	"fmt"
	"math"
	"testing"
)

// TestGradientsMatchFiniteDifferences checks every parameter's analytic
// gradient at a few indices against a float64 central difference.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, m := range Models {
		m := m
		t.Run(string(m), func(t *testing.T) {
			params := NewWeights(m)
			x := NewInput(m, 2)
			labels := Labels(2)
			got, err := Backward(m, params, x, labels)
			if err != nil {
				t.Fatal(err)
			}
			const eps = 1e-6
			for _, spec := range Params(m) {
				p := params[spec.Name]
				n := p.Len()
				for _, idx := range []int{0, n / 3, n / 2, n - 1} {
					orig := p.Data[idx]
					p.Data[idx] = orig + eps
					up, _ := Loss(m, params, x, labels)
					p.Data[idx] = orig - eps
					down, _ := Loss(m, params, x, labels)
					p.Data[idx] = orig
					fd := (up - down) / (2 * eps)
					an := got.Grads[spec.Name].Data[idx]
					if diff := math.Abs(fd - an); diff > 1e-8+1e-5*math.Abs(fd) {
						t.Errorf("%s[%d]: analytic %.12g, finite difference %.12g (diff %.3g)", spec.Name, idx, an, fd, diff)
					}
				}
			}
		})
	}
}

func TestConvHandChecked(t *testing.T) {
	x := Array{Shape: []int{1, 1, 3, 3}, Data: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}}
	w := Array{Shape: []int{1, 1, 3, 3}, Data: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1}}
	b := Array{Shape: []int{1}, Data: []float64{0.5}}
	y := conv2d3x3(x, w, b)
	want := []float64{4.5, 6.5, 4.5, 6.5, 9.5, 6.5, 4.5, 6.5, 4.5}
	for i := range want {
		if y.Data[i] != want[i] {
			t.Fatalf("conv output %v, want %v", y.Data, want)
		}
	}
	// An asymmetric kernel tells correlation (what frameworks call
	// convolution) from true convolution: the output at (0,0) picks x[1][1]·w[2][2].
	x = Array{Shape: []int{1, 1, 3, 3}, Data: []float64{0, 0, 0, 0, 1, 0, 0, 0, 0}}
	w = Array{Shape: []int{1, 1, 3, 3}, Data: []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}}
	y = conv2d3x3(x, w, Array{Shape: []int{1}, Data: []float64{0}})
	want = []float64{9, 8, 7, 6, 5, 4, 3, 2, 1}
	for i := range want {
		if y.Data[i] != want[i] {
			t.Fatalf("correlation output %v, want %v", y.Data, want)
		}
	}
}

func TestMaxPoolHandChecked(t *testing.T) {
	x := Array{Shape: []int{1, 1, 2, 4}, Data: []float64{1, 5, -1, -2, 3, 2, -3, -4}}
	y, arg := maxPool2x2(x)
	if y.Data[0] != 5 || y.Data[1] != -1 || arg[0] != 1 || arg[1] != 2 {
		t.Fatalf("pool %v arg %v, want [5 -1] [1 2]", y.Data, arg)
	}
	dx := maxPoolBackward(x.Shape, arg, Array{Shape: []int{1, 1, 1, 2}, Data: []float64{10, 20}})
	want := []float64{0, 10, 20, 0, 0, 0, 0, 0}
	for i := range want {
		if dx.Data[i] != want[i] {
			t.Fatalf("pool backward %v, want %v", dx.Data, want)
		}
	}
}

// TestLSTMGateOrder drives the cell through its biases alone, so the hidden
// state follows a closed form only if the gates are in the order i, f, g, o:
// with i = o = 1, f = 1 and g = 0.5, c_t = 0.5·(t+1) and h_t = tanh(c_t).
func TestLSTMGateOrder(t *testing.T) {
	const h = LSTMHidden
	params := NewWeights(LSTM)
	for k, a := range params {
		for i := range a.Data {
			a.Data[i] = 0
		}
		params[k] = a
	}
	b := params["layers.0.i2h.bias"].Data
	for j := 0; j < h; j++ {
		b[j] = 40                  // i → 1
		b[h+j] = 40                // f → 1
		b[2*h+j] = math.Atanh(0.5) // g = 0.5
		b[3*h+j] = 40              // o → 1
	}
	out, err := Forward(LSTM, params, NewInput(LSTM, 1))
	if err != nil {
		t.Fatal(err)
	}
	act := out.Activations["layers.0"]
	for step := 0; step < LSTMSteps; step++ {
		want := math.Tanh(0.5 * float64(step+1))
		if got := act.Data[step*h]; math.Abs(got-want) > 1e-12 {
			t.Fatalf("h at step %d = %.15g, want %.15g", step, got, want)
		}
	}
	// Layer 1 has all-zero parameters: i = f = o = 0.5, g = 0, so h stays 0.
	if v := out.Activations["layers.1"].Data[5]; v != 0 {
		t.Fatalf("layer 1 h = %g, want 0", v)
	}
}

func TestGeneratorIsStableAndBounded(t *testing.T) {
	w := NewWeights(CNN)
	bound := 1 / math.Sqrt(27)
	for _, v := range w["conv1.weight"].Data {
		if math.Abs(v) > bound || float64(float32(v)) != v {
			t.Fatalf("conv1.weight value %v outside ±%v or not a float32", v, bound)
		}
	}
	// The first draws are pinned: changing the generator changes every
	// golden file, and must be a deliberate, visible change.
	got := fmt.Sprintf("%.9g %.9g", w["conv1.weight"].Data[0], NewInput(LSTM, 1).Data[0])
	if want := "-0.00506594498 0.630136967"; got != want {
		t.Fatalf("first draws %s, want %s: the generator changed (SplitMix64 seeded by FNV-1a of the tensor key)", got, want)
	}
	a, b := NewInput(CNN, 1), NewInput(CNN, 8)
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatal("batch-1 input is not a prefix of batch-8 input")
		}
	}
}

func TestBadInputIsAnError(t *testing.T) {
	params := NewWeights(CNN)
	for _, tc := range []struct {
		desc string
		run  func() error
	}{
		{"wrong input shape", func() error { _, err := Forward(CNN, params, NewInput(LSTM, 1)); return err }},
		{"missing param", func() error {
			p := NewWeights(CNN)
			delete(p, "fc1.bias")
			_, err := Forward(CNN, p, NewInput(CNN, 1))
			return err
		}},
		{"label out of range", func() error { _, err := Backward(CNN, params, NewInput(CNN, 1), []int{10}); return err }},
		{"unknown model", func() error { _, err := ParseModel("resnet"); return err }},
	} {
		if err := tc.run(); err == nil {
			t.Errorf("%s: no error", tc.desc)
		} else {
			t.Logf("%s: %v", tc.desc, err)
		}
	}
}

func TestLSTMFLOPs(t *testing.T) {
	if got := FLOPsPerSample(LSTM); got != 2*5907712 {
		t.Fatalf("lstm FLOPs %v", got)
	}
	if got := FLOPsPerSample(CNN); got != 9385472 {
		t.Fatalf("cnn FLOPs %v", got)
	}
}
