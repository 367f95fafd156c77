package reference

import (
	"fmt"
	"math"
)

// Outputs is the result of a forward pass: logits [N,10] and every
// per-layer activation named by Activations.
type Outputs struct {
	Logits      Array
	Activations map[string]Array
}

// Gradients is the result of a backward pass: the mean cross-entropy loss,
// the logits it came from, and d loss / d parameter for every parameter.
type Gradients struct {
	Loss   float64
	Logits Array
	Grads  map[string]Array
}

func checkInputs(m Model, params map[string]Array, x Array) error {
	if err := ValidateParams(m, params); err != nil {
		return err
	}
	if len(x.Shape) == 0 || x.Shape[0] < 1 {
		return fmt.Errorf("%s: input shape %v has no batch", m, x.Shape)
	}
	if err := checkShape(string(m)+" input", x.Shape, InputShape(m, x.Shape[0])...); err != nil {
		return err
	}
	if len(x.Data) != numel(x.Shape) {
		return fmt.Errorf("%s input: %d values for shape %v", m, len(x.Data), x.Shape)
	}
	return nil
}

// Forward runs a model in eval mode (no dropout).
func Forward(m Model, params map[string]Array, x Array) (Outputs, error) {
	if err := checkInputs(m, params, x); err != nil {
		return Outputs{}, err
	}
	switch m {
	case CNN:
		t := cnnForward(params, x)
		return Outputs{Logits: t.z, Activations: t.activations()}, nil
	default:
		t := lstmForward(params, x)
		return Outputs{Logits: t.z, Activations: t.activations()}, nil
	}
}

// Backward returns the gradients of the mean cross-entropy of the logits
// against labels, with respect to every parameter.
func Backward(m Model, params map[string]Array, x Array, labels []int) (Gradients, error) {
	if err := checkInputs(m, params, x); err != nil {
		return Gradients{}, err
	}
	if len(labels) != x.Shape[0] {
		return Gradients{}, fmt.Errorf("%s: %d labels for batch %d", m, len(labels), x.Shape[0])
	}
	for i, l := range labels {
		if l < 0 || l >= Classes {
			return Gradients{}, fmt.Errorf("%s: label[%d] = %d, want 0..%d", m, i, l, Classes-1)
		}
	}
	switch m {
	case CNN:
		t := cnnForward(params, x)
		loss, dz := crossEntropy(t.z, labels)
		return Gradients{Loss: loss, Logits: t.z, Grads: cnnBackward(params, t, dz)}, nil
	default:
		t := lstmForward(params, x)
		loss, dz := crossEntropy(t.z, labels)
		return Gradients{Loss: loss, Logits: t.z, Grads: lstmBackward(params, t, dz)}, nil
	}
}

// Loss is the mean cross-entropy of the model's logits against labels.
func Loss(m Model, params map[string]Array, x Array, labels []int) (float64, error) {
	out, err := Forward(m, params, x)
	if err != nil {
		return 0, err
	}
	loss, _ := crossEntropy(out.Logits, labels)
	return loss, nil
}

// crossEntropy returns mean_n(logsumexp(z_n) − z_n[label_n]) and its
// gradient (softmax(z) − onehot)/N.
func crossEntropy(z Array, labels []int) (float64, Array) {
	n, k := z.Shape[0], z.Shape[1]
	dz := NewArray(n, k)
	var loss float64
	for i := 0; i < n; i++ {
		row := z.Data[i*k : (i+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(v - mx)
		}
		lse := mx + math.Log(sum)
		loss += lse - row[labels[i]]
		for j, v := range row {
			dz.Data[i*k+j] = math.Exp(v-lse) / float64(n)
		}
		dz.Data[i*k+labels[i]] -= 1 / float64(n)
	}
	return loss / float64(n), dz
}
