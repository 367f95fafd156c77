package engine

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dlcompat/dlcompat/core/reference"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	dltensor "github.com/dlcompat/dlcompat/core/tensor"
)

// testParams draws a model's parameters from PyTorch's default bounds
// U(-1/√fan_in, 1/√fan_in), fan_in = in·kh·kw for convolutions and the
// column count for linear maps (docs/spec.md §2.2), from a seeded stream.
func testParams(t testing.TB, model string, seed uint64) map[string]Tensor32 {
	t.Helper()
	def, ok := models[model]
	if !ok {
		t.Fatalf("no model %q", model)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make(map[string]Tensor32, len(def.params))
	for _, p := range def.params {
		var fanIn int
		switch {
		case strings.HasPrefix(p.name, "conv1."):
			fanIn = 3 * 9
		case strings.HasPrefix(p.name, "conv2."):
			fanIn = 32 * 9
		case strings.HasSuffix(p.name, ".weight"):
			fanIn = p.shape[1]
		default: // a bias: the fan-in of its weight
			fanIn = def.paramShape(strings.TrimSuffix(p.name, ".bias") + ".weight")[1]
		}
		bound := 1 / math.Sqrt(float64(fanIn))
		data := make([]float32, numel(p.shape))
		for i := range data {
			data[i] = float32(bound * (2*r.Float64() - 1))
		}
		out[p.name] = Tensor32{Shape: append([]int(nil), p.shape...), Data: data}
	}
	return out
}

func (d *modelDef) paramShape(name string) []int {
	for _, p := range d.params {
		if p.name == name {
			return p.shape
		}
	}
	return nil
}

// testInput draws a model input from U(-1, 1).
func testInput(model string, batch int, seed uint64) Tensor32 {
	shape := models[model].inputShape(batch)
	r := rand.New(rand.NewPCG(seed, 0x1a97))
	data := make([]float32, numel(shape))
	for i := range data {
		data[i] = float32(2*r.Float64() - 1)
	}
	return Tensor32{Shape: shape, Data: data}
}

// testLabels are docs/spec.md §2.2's labels: n mod 10.
func testLabels(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i % numClasses
	}
	return out
}

// crossEntropy64 is the mean cross-entropy of float32 logits, in float64.
func crossEntropy64(z Tensor32, labels []int) float64 {
	var loss float64
	for n, l := range labels {
		row := z.Data[n*numClasses : (n+1)*numClasses]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		loss += mx + math.Log(s) - float64(row[l])
	}
	return loss / float64(len(labels))
}

func mustNew(t testing.TB, model string, batch int, params map[string]Tensor32) *Net {
	t.Helper()
	n, err := New(model, batch, params)
	if err != nil {
		t.Fatalf("New(%s, %d): %v", model, batch, err)
	}
	return n
}

func TestNewRejectsBadArguments(t *testing.T) {
	good := testParams(t, "cnn", 1)
	with := func(edit func(map[string]Tensor32)) map[string]Tensor32 {
		p := make(map[string]Tensor32, len(good))
		for k, v := range good {
			p[k] = v
		}
		edit(p)
		return p
	}
	tests := []struct {
		desc    string
		model   string
		batch   int
		params  map[string]Tensor32
		wantErr error
		wantMsg []string // substrings the message must contain
	}{
		{
			desc: "unknown model lists the known ones", model: "resnet", batch: 1, params: good,
			wantErr: ErrUnknownModel, wantMsg: []string{`"resnet"`, "cnn, lstm"},
		},
		{
			desc: "wrong shape names the parameter, expected and got", model: "cnn", batch: 1,
			params: with(func(p map[string]Tensor32) {
				p["fc1.weight"] = Tensor32{Shape: []int{3136, 128}, Data: make([]float32, 3136*128)}
			}),
			wantErr: ErrBadParams, wantMsg: []string{"fc1.weight", "[3136 128]", "[128 3136]"},
		},
		{
			desc: "missing parameter", model: "cnn", batch: 1,
			params:  with(func(p map[string]Tensor32) { delete(p, "conv2.bias") }),
			wantErr: ErrBadParams, wantMsg: []string{"conv2.bias", "missing", "[64]"},
		},
		{
			desc: "unknown parameter", model: "cnn", batch: 1,
			params:  with(func(p map[string]Tensor32) { p["fc3.weight"] = Tensor32{Shape: []int{1}, Data: []float32{0}} }),
			wantErr: ErrBadParams, wantMsg: []string{"fc3.weight"},
		},
		{
			desc: "data length does not match the shape", model: "cnn", batch: 1,
			params:  with(func(p map[string]Tensor32) { p["fc2.bias"] = Tensor32{Shape: []int{10}, Data: make([]float32, 9)} }),
			wantErr: ErrBadParams, wantMsg: []string{"fc2.bias", "9 values"},
		},
		{
			desc: "cnn parameters for the lstm", model: "lstm", batch: 1, params: good,
			wantErr: ErrBadParams, wantMsg: []string{"layers.0.i2h.weight", "missing", "[512 28]", "conv1.weight"},
		},
		{desc: "zero batch", model: "cnn", batch: 0, params: good, wantMsg: []string{"batch"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := New(tc.model, tc.batch, tc.params)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %q is not %v", err, tc.wantErr)
			}
			for _, s := range tc.wantMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestCallsRejectBadArguments(t *testing.T) {
	net := mustNew(t, "lstm", 2, testParams(t, "lstm", 1))
	good := testInput("lstm", 2, 1)
	tests := []struct {
		desc    string
		input   Tensor32
		labels  []int
		wantErr error
	}{
		{desc: "cnn input for the lstm", input: testInput("cnn", 2, 1), labels: testLabels(2), wantErr: ErrBadInput},
		{desc: "wrong batch", input: testInput("lstm", 3, 1), labels: testLabels(2), wantErr: ErrBadInput},
		{desc: "short data", input: Tensor32{Shape: good.Shape, Data: good.Data[:10]}, labels: testLabels(2), wantErr: ErrBadInput},
		{desc: "too few labels", input: good, labels: []int{0}, wantErr: ErrBadLabels},
		{desc: "label out of range", input: good, labels: []int{0, 10}, wantErr: ErrBadLabels},
		{desc: "negative label", input: good, labels: []int{-1, 0}, wantErr: ErrBadLabels},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if _, err := net.Backward(tc.input, tc.labels); !errors.Is(err, tc.wantErr) {
				t.Errorf("Backward error = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == ErrBadInput {
				if _, err := net.Forward(tc.input, false); !errors.Is(err, tc.wantErr) {
					t.Errorf("Forward error = %v, want %v", err, tc.wantErr)
				}
			}
		})
	}
}

// TestOutputs checks shapes, that the activations end in the logits, that
// the forward, activations and backward programs agree bitwise on the
// logits, and that Loss is the cross-entropy of the logits.
func TestOutputs(t *testing.T) {
	tests := []struct {
		desc     string
		model    string
		wantActs map[string][]int
		last     string
	}{
		{
			desc: "cnn", model: "cnn", last: "fc2",
			wantActs: map[string][]int{
				"conv1": {3, 32, 28, 28}, "pool1": {3, 32, 14, 14}, "conv2": {3, 64, 14, 14},
				"pool2": {3, 64, 7, 7}, "fc1": {3, 128}, "fc2": {3, 10},
			},
		},
		{
			desc: "lstm", model: "lstm", last: "fc",
			wantActs: map[string][]int{"layers.0": {3, 28, 128}, "layers.1": {3, 28, 128}, "fc": {3, 10}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			const batch = 3
			net := mustNew(t, tc.model, batch, testParams(t, tc.model, 2))
			x := testInput(tc.model, batch, 2)
			plain, err := net.Forward(x, false)
			if err != nil {
				t.Fatal(err)
			}
			if plain.Activations != nil || plain.Grads != nil {
				t.Errorf("Forward(want=false) returned activations or gradients")
			}
			acts, err := net.Forward(x, true)
			if err != nil {
				t.Fatal(err)
			}
			bwd, err := net.Backward(x, testLabels(batch))
			if err != nil {
				t.Fatal(err)
			}
			if !dltensor.SameShape(plain.Logits.Shape, []int{batch, 10}) {
				t.Errorf("logits shape %v, want [%d 10]", plain.Logits.Shape, batch)
			}
			if len(acts.Activations) != len(tc.wantActs) {
				t.Errorf("got %d activations, want %d", len(acts.Activations), len(tc.wantActs))
			}
			for name, shape := range tc.wantActs {
				a, ok := acts.Activations[name]
				if !ok {
					t.Errorf("activation %s missing", name)
					continue
				}
				if !dltensor.SameShape(a.Shape, shape) || len(a.Data) != numel(shape) {
					t.Errorf("activation %s: shape %v with %d values, want %v", name, a.Shape, len(a.Data), shape)
				}
			}
			checkBitwise(t, "logits, forward vs activations program", acts.Logits, plain.Logits)
			checkBitwise(t, "logits, forward vs backward program", bwd.Logits, plain.Logits)
			checkBitwise(t, "last activation vs logits", acts.Activations[tc.last], plain.Logits)
			if tc.model == "lstm" {
				// The head reads the top layer's last hidden state.
				top := acts.Activations["layers.1"]
				if len(top.Data) == numel(tc.wantActs["layers.1"]) {
					last := make([]float32, 0, batch*lstmHidden)
					for n := 0; n < batch; n++ {
						off := (n*lstmSteps + lstmSteps - 1) * lstmHidden
						last = append(last, top.Data[off:off+lstmHidden]...)
					}
					if got := applyLinear(net.params, "fc", last, batch); !closeAll(got, plain.Logits.Data, 1e-6) {
						t.Errorf("fc(layers.1[:, T-1]) = %v, want the logits %v", got, plain.Logits.Data)
					}
				}
			}
			want := crossEntropy64(bwd.Logits, testLabels(batch))
			if d := math.Abs(float64(bwd.Loss) - want); d > 1e-6*want {
				t.Errorf("Loss = %v, cross-entropy of the logits = %v (diff %.3g)", bwd.Loss, want, d)
			}
			if len(bwd.Grads) != len(models[tc.model].params) {
				t.Errorf("got %d gradients, want %d", len(bwd.Grads), len(models[tc.model].params))
			}
			for _, p := range models[tc.model].params {
				g := bwd.Grads[p.name]
				if !dltensor.SameShape(g.Shape, p.shape) || len(g.Data) != numel(p.shape) {
					t.Errorf("gradient %s: shape %v with %d values, want %v", p.name, g.Shape, len(g.Data), p.shape)
				}
			}
		})
	}
}

// applyLinear computes x·Wᵀ + b in float64 for x [n, in] (float32 data).
func applyLinear(params map[string]Tensor32, prefix string, x []float32, n int) []float32 {
	w, b := params[prefix+".weight"], params[prefix+".bias"]
	out, in := w.Shape[0], w.Shape[1]
	y := make([]float32, n*out)
	for i := 0; i < n; i++ {
		for o := 0; o < out; o++ {
			s := float64(b.Data[o])
			for k := 0; k < in; k++ {
				s += float64(x[i*in+k]) * float64(w.Data[o*in+k])
			}
			y[i*out+o] = float32(s)
		}
	}
	return y
}

func closeAll(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i])-float64(b[i])) > tol*(1+math.Abs(float64(b[i]))) {
			return false
		}
	}
	return true
}

func checkBitwise(t *testing.T, what string, got, want Tensor32) {
	t.Helper()
	if !dltensor.SameShape(got.Shape, want.Shape) || len(got.Data) != len(want.Data) {
		t.Errorf("%s: shape %v (%d values) vs %v (%d values)", what, got.Shape, len(got.Data), want.Shape, len(want.Data))
		return
	}
	diffs, first, worst := 0, -1, 0.0
	for i := range got.Data {
		if math.Float32bits(got.Data[i]) != math.Float32bits(want.Data[i]) {
			if first < 0 {
				first = i
			}
			diffs++
			worst = math.Max(worst, math.Abs(float64(got.Data[i])-float64(want.Data[i])))
		}
	}
	if diffs > 0 {
		t.Errorf("%s: %d of %d values differ, first at %d (%v vs %v), max abs diff %.3g",
			what, diffs, len(got.Data), first, got.Data[first], want.Data[first], worst)
	}
}

// TestCrossEntropyLargeLogits checks the loss node and its gradient
// against float64 on logits whose rows are far apart: gorgonia's last-axis
// float32 LogSoftMax gives inf/NaN there (see crossEntropy).
func TestCrossEntropyLargeLogits(t *testing.T) {
	tests := []struct {
		desc   string
		logits [][]float32
		labels []int
	}{
		{desc: "small", logits: [][]float32{{0.1, -0.2, 0.3}, {0.5, 0.4, -0.1}}, labels: []int{2, 0}},
		{desc: "first row far above", logits: [][]float32{{200, 0, 1}, {0, 1, 2}}, labels: []int{0, 1}},
		{desc: "later row far above", logits: [][]float32{{0, 1, 2}, {200, 0, 1}, {-150, -149, -151}}, labels: []int{1, 2, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			n, c := len(tc.logits), len(tc.logits[0])
			var flat []float32
			for _, row := range tc.logits {
				flat = append(flat, row...)
			}
			oh := make([]float32, n*c)
			for i, l := range tc.labels {
				oh[i*c+l] = 1
			}
			g := G.NewGraph()
			z := G.NewMatrix(g, tensor.Float32, G.WithShape(n, c), G.WithName("z"),
				G.WithValue(tensor.New(tensor.WithShape(n, c), tensor.WithBacking(flat))))
			onehot := G.NewTensor(g, tensor.Float32, 3, G.WithShape(n, c, 1), G.WithName("onehot"),
				G.WithValue(tensor.New(tensor.WithShape(n, c, 1), tensor.WithBacking(oh))))
			loss := crossEntropy(z, onehot)
			grads, err := G.Grad(loss, z)
			if err != nil {
				t.Fatal(err)
			}
			var lossV, gradV G.Value
			G.Read(loss, &lossV)
			G.Read(grads[0], &gradV)
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			gotLoss, err := values32(&lossV)
			if err != nil {
				t.Fatal(err)
			}
			gotGrad, err := values32(&gradV)
			if err != nil {
				t.Fatal(err)
			}
			// float64 reference: mean(lse(z) - z[label]); grad (softmax - onehot)/N.
			var want float64
			wantGrad := make([]float64, n*c)
			for i, row := range tc.logits {
				mx := math.Inf(-1)
				for _, v := range row {
					mx = math.Max(mx, float64(v))
				}
				var s float64
				for _, v := range row {
					s += math.Exp(float64(v) - mx)
				}
				lse := mx + math.Log(s)
				want += lse - float64(row[tc.labels[i]])
				for j, v := range row {
					wantGrad[i*c+j] = math.Exp(float64(v)-lse) / float64(n)
				}
				wantGrad[i*c+tc.labels[i]] -= 1 / float64(n)
			}
			want /= float64(n)
			if d := math.Abs(float64(gotLoss.Data[0]) - want); !(d <= 1e-5+1e-5*math.Abs(want)) {
				t.Errorf("loss %v, want %v", gotLoss.Data[0], want)
			}
			if s := compare(gotGrad.Data, wantGrad, 1e-6, 1e-4); s.bad > 0 {
				t.Errorf("gradient %v, want %v", gotGrad.Data, wantGrad)
			}
		})
	}
}

// TestGradientsMatchFiniteDifferences checks every parameter's gradient at
// a few random elements against central differences of the loss. The loss
// is evaluated in float64 from the float32 logits of Forward, and the step
// actually taken is the float32 one, so the float32 noise of the difference
// quotient is about 1e-7 / (2·eps).
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	const (
		perParam = 4
		rtol     = 2e-2
	)
	tests := []struct {
		desc  string
		model string
		batch int
		eps   float64
		atol  float64
	}{
		{desc: "cnn", model: "cnn", batch: 2, eps: 1e-3, atol: 2e-4},
		{desc: "lstm", model: "lstm", batch: 2, eps: 1e-2, atol: 2e-4},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			params := testParams(t, tc.model, 3)
			net := mustNew(t, tc.model, tc.batch, params)
			x, labels := testInput(tc.model, tc.batch, 3), testLabels(tc.batch)
			res, err := net.Backward(x, labels)
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				t.Helper()
				out, err := net.Forward(x, false)
				if err != nil {
					t.Fatal(err)
				}
				return crossEntropy64(out.Logits, labels)
			}
			setElem := func(name string, i int, v float32) {
				t.Helper()
				p := params[name]
				d := append([]float32(nil), p.Data...)
				d[i] = v
				if err := net.setParam(name, Tensor32{Shape: p.Shape, Data: d}); err != nil {
					t.Fatal(err)
				}
			}
			r := rand.New(rand.NewPCG(4, 4))
			for _, p := range models[tc.model].params {
				w := params[p.name].Data
				g := res.Grads[p.name].Data
				tested := 0
				for try := 0; tested < perParam && try < 10*perParam; try++ {
					i := r.IntN(len(w))
					up, down := float32(float64(w[i])+tc.eps), float32(float64(w[i])-tc.eps)
					setElem(p.name, i, up)
					lUp := loss()
					setElem(p.name, i, down)
					lDown := loss()
					setElem(p.name, i, w[i])
					l0 := loss()
					// A ReLU or max-pool switch inside ±eps makes the loss
					// non-smooth there; the one-sided quotients then disagree.
					// Such a point says nothing about the gradient: draw again.
					fwd := (lUp - l0) / (float64(up) - float64(w[i]))
					bwd := (l0 - lDown) / (float64(w[i]) - float64(down))
					if math.Abs(fwd-bwd) > tc.atol+rtol*math.Abs(fwd+bwd)/2 {
						t.Logf("%s[%d]: skipped, not smooth within ±%g (one-sided quotients %.6g, %.6g)", p.name, i, tc.eps, fwd, bwd)
						continue
					}
					tested++
					fd := (lUp - lDown) / (float64(up) - float64(down))
					got := float64(g[i])
					if d := math.Abs(got - fd); d > tc.atol+rtol*math.Abs(fd) {
						t.Errorf("%s[%d]: gradient %.6g, finite difference %.6g (diff %.3g)", p.name, i, got, fd, d)
					} else {
						t.Logf("%s[%d]: gradient %.6g, finite difference %.6g", p.name, i, got, fd)
					}
				}
				if tested < perParam {
					t.Errorf("%s: only %d smooth points found for finite differences", p.name, tested)
				}
			}
			// setParam restored every element: the loss must be back too.
			again, err := net.Backward(x, labels)
			if err != nil {
				t.Fatal(err)
			}
			if again.Loss != res.Loss {
				t.Errorf("loss after restoring the parameters %v, want %v", again.Loss, res.Loss)
			}
		})
	}
}

// TestDeterministic: two identical calls return bitwise-identical results,
// and the returned slices are the caller's (not gorgonia's buffers).
func TestDeterministic(t *testing.T) {
	for _, model := range []string{"cnn", "lstm"} {
		t.Run(model, func(t *testing.T) {
			const batch = 4
			net := mustNew(t, model, batch, testParams(t, model, 5))
			x, labels := testInput(model, batch, 5), testLabels(batch)
			first, err := net.Backward(x, labels)
			if err != nil {
				t.Fatal(err)
			}
			keep := cloneResult(first)
			// Scribble over the first result: a later call must not see it,
			// and it must not change what the next call returns.
			scribble(first)
			fa, err := net.Forward(x, true)
			if err != nil {
				t.Fatal(err)
			}
			keepActs := cloneResult(fa)
			scribble(fa)
			second, err := net.Backward(x, labels)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float32bits(second.Loss) != math.Float32bits(keep.Loss) {
				t.Errorf("loss %v then %v", keep.Loss, second.Loss)
			}
			checkBitwise(t, "logits", second.Logits, keep.Logits)
			for name, g := range keep.Grads {
				checkBitwise(t, "gradient "+name, second.Grads[name], g)
			}
			fb, err := net.Forward(x, true)
			if err != nil {
				t.Fatal(err)
			}
			checkBitwise(t, "forward logits", fb.Logits, keepActs.Logits)
			for name, a := range keepActs.Activations {
				checkBitwise(t, "activation "+name, fb.Activations[name], a)
			}
			// gorgonia must not have written into the parameter values.
			for _, m := range []*machine{net.fwd, net.fwdActs, net.bwd} {
				for i, p := range m.parts {
					want := extractPart(net.params[p.name], p)
					got := m.paramVals[i].Data().([]float32)
					checkBitwise(t, fmt.Sprintf("bound parameter %s[%d:%d]", p.name, p.r0, p.r1),
						Tensor32{Shape: p.shape, Data: got}, Tensor32{Shape: p.shape, Data: want})
				}
			}
		})
	}
}

func cloneT(t Tensor32) Tensor32 {
	return Tensor32{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

func cloneResult(r Result) Result {
	out := Result{Logits: cloneT(r.Logits), Loss: r.Loss}
	if r.Activations != nil {
		out.Activations = map[string]Tensor32{}
		for k, v := range r.Activations {
			out.Activations[k] = cloneT(v)
		}
	}
	if r.Grads != nil {
		out.Grads = map[string]Tensor32{}
		for k, v := range r.Grads {
			out.Grads[k] = cloneT(v)
		}
	}
	return out
}

func scribble(r Result) {
	fill := func(t Tensor32) {
		for i := range t.Data {
			t.Data[i] = float32(math.NaN())
		}
	}
	fill(r.Logits)
	for _, v := range r.Activations {
		fill(v)
	}
	for _, v := range r.Grads {
		fill(v)
	}
}

// TestConcurrentForward runs Forward from 4 goroutines on one Net (run it
// under -race) and checks each result against a sequential one.
func TestConcurrentForward(t *testing.T) {
	for _, model := range []string{"cnn", "lstm"} {
		t.Run(model, func(t *testing.T) {
			const (
				batch   = 2
				workers = 4
				calls   = 3
			)
			net := mustNew(t, model, batch, testParams(t, model, 6))
			inputs := make([]Tensor32, workers)
			want := make([]Result, workers)
			for w := range inputs {
				inputs[w] = testInput(model, batch, uint64(100+w))
				var err error
				if want[w], err = net.Forward(inputs[w], w%2 == 0); err != nil {
					t.Fatal(err)
				}
			}
			got := make([][]Result, workers)
			errs := make([]error, workers)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range calls {
						r, err := net.Forward(inputs[w], w%2 == 0)
						if err != nil {
							errs[w] = err
							return
						}
						got[w] = append(got[w], r)
					}
				}()
			}
			wg.Wait()
			for w := range workers {
				if errs[w] != nil {
					t.Fatalf("worker %d: %v", w, errs[w])
				}
				for c, r := range got[w] {
					checkBitwise(t, fmt.Sprintf("worker %d call %d logits", w, c), r.Logits, want[w].Logits)
					for name, a := range want[w].Activations {
						checkBitwise(t, fmt.Sprintf("worker %d call %d %s", w, c, name), r.Activations[name], a)
					}
				}
			}
		})
	}
}

// Tolerances of docs/spec.md §6.2 for strict fp32, against the float64 oracle.
const (
	forwardAtol, forwardRtol   = 1e-5, 1e-4
	backwardAtol, backwardRtol = 1e-5, 1e-3
)

// errStats summarises got vs a float64 reference: the worst absolute and
// relative errors (relative over the elements with |ref| > atol; smaller
// ones are judged by atol alone), the worst ratio of error to allowance
// (≤ 1 passes), and how many elements exceed their allowance.
type errStats struct {
	maxAbs, maxRel, worstRatio float64
	worstAt, bad               int
}

func compare(got []float32, ref []float64, atol, rtol float64) errStats {
	s := errStats{worstAt: -1}
	for i, r := range ref {
		d := math.Abs(float64(got[i]) - r)
		s.maxAbs = math.Max(s.maxAbs, d)
		if math.Abs(r) > atol {
			s.maxRel = math.Max(s.maxRel, d/math.Abs(r))
		}
		allow := atol + rtol*math.Abs(r)
		if ratio := d / allow; ratio > s.worstRatio || math.IsNaN(d) {
			s.worstRatio, s.worstAt = ratio, i
		}
		if !(d <= allow) {
			s.bad++
		}
	}
	return s
}

func float32Tensor(a reference.Array) Tensor32 {
	out := Tensor32{Shape: append([]int(nil), a.Shape...), Data: make([]float32, len(a.Data))}
	for i, v := range a.Data {
		out.Data[i] = float32(v)
	}
	return out
}

// TestMatchesOracle runs the reference weights and input (docs/spec.md §2.3, batch 8)
// through a Net and checks logits, every activation and every gradient
// against the float64 oracle with the strict fp32 tolerances of docs/spec.md §6.2.
// It logs the measured errors per tensor, pass or fail.
func TestMatchesOracle(t *testing.T) {
	const batch = 8
	tests := []struct {
		desc  string
		model reference.Model
	}{
		{desc: "cnn", model: "cnn"},
		{desc: "lstm", model: "lstm"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			weights := reference.NewWeights(tc.model)
			params := make(map[string]Tensor32, len(weights))
			for name, w := range weights {
				params[name] = float32Tensor(w)
				for i, v := range w.Data {
					if float64(float32(v)) != v {
						t.Fatalf("reference weight %s[%d] = %v is not float32-representable", name, i, v)
					}
				}
			}
			xRef := reference.NewInput(tc.model, batch)
			labels := reference.Labels(batch)
			fwdRef, err := reference.Forward(tc.model, weights, xRef)
			if err != nil {
				t.Fatal(err)
			}
			bwdRef, err := reference.Backward(tc.model, weights, xRef, labels)
			if err != nil {
				t.Fatal(err)
			}

			net := mustNew(t, string(tc.model), batch, params)
			x := float32Tensor(xRef)
			fwd, err := net.Forward(x, true)
			if err != nil {
				t.Fatal(err)
			}
			bwd, err := net.Backward(x, labels)
			if err != nil {
				t.Fatal(err)
			}

			check := func(kind, name string, got Tensor32, ref reference.Array, atol, rtol float64) {
				t.Helper()
				if !dltensor.SameShape(got.Shape, ref.Shape) || len(got.Data) != len(ref.Data) {
					t.Errorf("%s %s: shape %v (%d values), oracle %v", kind, name, got.Shape, len(got.Data), ref.Shape)
					return
				}
				s := compare(got.Data, ref.Data, atol, rtol)
				t.Logf("%-8s %-20s max abs %.3g  max rel %.3g  worst err/allowance %.3f", kind, name, s.maxAbs, s.maxRel, s.worstRatio)
				if s.bad > 0 {
					i := s.worstAt
					t.Errorf("%s %s: %d of %d values outside |y-y_ref| <= %g + %g|y_ref|; worst at %d: %v vs %v",
						kind, name, s.bad, len(ref.Data), atol, rtol, i, got.Data[i], ref.Data[i])
				}
			}
			check("logits", "forward", fwd.Logits, fwdRef.Logits, forwardAtol, forwardRtol)
			check("logits", "backward", bwd.Logits, bwdRef.Logits, forwardAtol, forwardRtol)
			if len(fwd.Activations) != len(fwdRef.Activations) {
				t.Errorf("%d activations, oracle has %d (%v)", len(fwd.Activations), len(fwdRef.Activations), sortedKeys(fwdRef.Activations))
			}
			for _, name := range sortedKeys(fwdRef.Activations) {
				got, ok := fwd.Activations[name]
				if !ok {
					t.Errorf("activation %s missing", name)
					continue
				}
				check("act", name, got, fwdRef.Activations[name], forwardAtol, forwardRtol)
			}
			lossErr := math.Abs(float64(bwd.Loss) - bwdRef.Loss)
			t.Logf("%-8s %-20s abs %.3g  rel %.3g (%v vs %v)", "loss", "", lossErr, lossErr/bwdRef.Loss, bwd.Loss, bwdRef.Loss)
			if lossErr > forwardAtol+forwardRtol*math.Abs(bwdRef.Loss) {
				t.Errorf("loss %v, oracle %v", bwd.Loss, bwdRef.Loss)
			}
			if len(bwd.Grads) != len(bwdRef.Grads) {
				t.Errorf("%d gradients, oracle has %d", len(bwd.Grads), len(bwdRef.Grads))
			}
			for _, name := range sortedKeys(bwdRef.Grads) {
				got, ok := bwd.Grads[name]
				if !ok {
					t.Errorf("gradient %s missing", name)
					continue
				}
				check("grad", name, got, bwdRef.Grads[name], backwardAtol, backwardRtol)
			}
		})
	}
}

// BenchmarkNet times Forward (logits only) and Backward per model and
// batch, and reports the time per sample.
func BenchmarkNet(b *testing.B) {
	for _, model := range []string{"cnn", "lstm"} {
		for _, op := range []string{"forward", "backward"} {
			for _, batch := range []int{1, 32} {
				b.Run(fmt.Sprintf("model=%s/op=%s/batch=%d", model, op, batch), func(b *testing.B) {
					net := mustNew(b, model, batch, testParams(b, model, 7))
					x, labels := testInput(model, batch, 7), testLabels(batch)
					call := func() error {
						if op == "forward" {
							_, err := net.Forward(x, false)
							return err
						}
						_, err := net.Backward(x, labels)
						return err
					}
					if err := call(); err != nil { // warm-up, outside the timing
						b.Fatal(err)
					}
					iters := 0
					for b.Loop() {
						if err := call(); err != nil {
							b.Fatal(err)
						}
						iters++
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*batch), "ns/sample")
				})
			}
		}
	}
}

// sortedKeys returns a map's keys in order, for stable logs.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
