package engine

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/dlcompat/dlcompat/core/tensor"
)

// Tensor32 is a float32 array in row-major (C) order.
type Tensor32 struct {
	Shape []int
	Data  []float32
}

// Result is what one Forward or Backward call returns. Every slice in it is
// freshly allocated and owned by the caller.
type Result struct {
	// Logits are the model outputs, [N, 10].
	Logits Tensor32
	// Activations holds the per-layer outputs (names in docs/spec.md §1.4 and the
	// package tests) when Forward was asked for them; nil otherwise.
	Activations map[string]Tensor32
	// Loss is the mean cross-entropy over the batch (Backward only).
	Loss float32
	// Grads maps every canonical parameter name to d Loss / d param, in the
	// parameter's own shape (Backward only).
	Grads map[string]Tensor32
}

// Errors returned by this package, wrapped with the details (which
// parameter, which shape); test for them with errors.Is.
var (
	// ErrUnknownModel: New was given a model name other than "cnn" or "lstm".
	ErrUnknownModel = errors.New("unknown model")
	// ErrBadParams: a parameter is missing, unknown, or of the wrong shape.
	ErrBadParams = errors.New("bad parameters")
	// ErrBadInput: the input tensor does not have the shape the Net was built for.
	ErrBadInput = errors.New("bad input")
	// ErrBadLabels: the labels do not match the batch or are outside 0..9.
	ErrBadLabels = errors.New("bad labels")
	// ErrGorgonia: gorgonia failed to build or run the graph.
	ErrGorgonia = errors.New("gorgonia failed")
)

// numClasses is the width of the logits of both models.
const numClasses = 10

// modelNames returns the model names New accepts, sorted.
func modelNames() []string {
	names := make([]string, 0, len(models))
	for name := range models {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func unknownModel(model string) error {
	return fmt.Errorf("engine: %w %q (known: %s)", ErrUnknownModel, model, strings.Join(modelNames(), ", "))
}

// Net is one compiled graph set for one model at one batch size. It is safe
// for concurrent use: calls are serialised by a mutex, because a gorgonia
// machine is not.
type Net struct {
	model  string
	batch  int
	def    *modelDef
	params map[string]Tensor32 // private copies of the validated parameters

	mu      sync.Mutex
	fwd     *machine // logits only
	fwdActs *machine // logits and activations; compiled on first request
	bwd     *machine // logits, loss and gradients
}

// New validates params against the model's canonical names and shapes and
// compiles the forward and backward graphs for the given batch size. The
// parameters are copied: later changes to params do not affect the Net.
func New(model string, batch int, params map[string]Tensor32) (*Net, error) {
	def, ok := models[model]
	if !ok {
		return nil, unknownModel(model)
	}
	if batch < 1 {
		return nil, fmt.Errorf("engine: batch must be at least 1, got %d", batch)
	}
	own, err := checkParams(model, def, params)
	if err != nil {
		return nil, err
	}
	n := &Net{model: model, batch: batch, def: def, params: own}
	if n.fwd, err = compile(def, batch, own, modeForward); err != nil {
		return nil, err
	}
	if n.bwd, err = compile(def, batch, own, modeBackward); err != nil {
		return nil, err
	}
	return n, nil
}

// Forward runs the model on input ([N,3,28,28] for cnn, [N,28,28] for lstm)
// and returns the logits, and the activations when wantActivations is set.
// The activations come from a third program, compiled on the first call
// that asks for them (warm up before timing such calls).
func (n *Net) Forward(input Tensor32, wantActivations bool) (Result, error) {
	if err := n.checkInput(input); err != nil {
		return Result{}, err
	}
	n.mu.Lock()
	defer n.mu.Unlock()

	m := n.fwd
	if wantActivations {
		if n.fwdActs == nil {
			acts, err := compile(n.def, n.batch, n.params, modeActivations)
			if err != nil {
				return Result{}, err
			}
			n.fwdActs = acts
		}
		m = n.fwdActs
	}
	if err := m.run(input.Data, nil); err != nil {
		return Result{}, err
	}
	logits, err := m.logitsOut()
	if err != nil {
		return Result{}, err
	}
	res := Result{Logits: logits}
	if wantActivations {
		if res.Activations, err = m.activationsOut(); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// Backward runs the model on input, computes the mean cross-entropy of the
// logits against labels (len N, each in 0..9) and its gradient with respect
// to every parameter.
func (n *Net) Backward(input Tensor32, labels []int) (Result, error) {
	if err := n.checkInput(input); err != nil {
		return Result{}, err
	}
	if len(labels) != n.batch {
		return Result{}, fmt.Errorf("engine: %w: got %d labels for batch %d", ErrBadLabels, len(labels), n.batch)
	}
	for i, l := range labels {
		if l < 0 || l >= numClasses {
			return Result{}, fmt.Errorf("engine: %w: label[%d] = %d, want 0..%d", ErrBadLabels, i, l, numClasses-1)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()

	if err := n.bwd.run(input.Data, labels); err != nil {
		return Result{}, err
	}
	logits, err := n.bwd.logitsOut()
	if err != nil {
		return Result{}, err
	}
	loss, err := n.bwd.lossOut()
	if err != nil {
		return Result{}, err
	}
	grads, err := n.bwd.gradsOut(n.def)
	if err != nil {
		return Result{}, err
	}
	return Result{Logits: logits, Loss: loss, Grads: grads}, nil
}

// setParam replaces the values of one parameter (same name and shape) in
// every compiled machine, without recompiling. The tests use it for finite
// differences.
func (n *Net) setParam(name string, t Tensor32) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	old, ok := n.params[name]
	if !ok || !tensor.SameShape(old.Shape, t.Shape) || len(t.Data) != len(old.Data) {
		return fmt.Errorf("engine: %w: cannot set %s to shape %v", ErrBadParams, name, t.Shape)
	}
	copy(old.Data, t.Data)
	for _, m := range []*machine{n.fwd, n.fwdActs, n.bwd} {
		if m != nil {
			m.setParam(name, old)
		}
	}
	return nil
}

func (n *Net) checkInput(input Tensor32) error {
	want := n.def.inputShape(n.batch)
	if !tensor.SameShape(input.Shape, want) {
		return fmt.Errorf("engine: %w: %s input has shape %v, want %v", ErrBadInput, n.model, input.Shape, want)
	}
	if len(input.Data) != numel(want) {
		return fmt.Errorf("engine: %w: %s input of shape %v has %d values, want %d", ErrBadInput, n.model, want, len(input.Data), numel(want))
	}
	return nil
}

// checkParams validates every parameter and returns private copies.
func checkParams(model string, def *modelDef, params map[string]Tensor32) (map[string]Tensor32, error) {
	var problems []string
	own := make(map[string]Tensor32, len(def.params))
	known := make(map[string]bool, len(def.params))
	for _, p := range def.params {
		known[p.name] = true
		t, ok := params[p.name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: missing (want shape %v)", p.name, p.shape))
		case !tensor.SameShape(t.Shape, p.shape):
			problems = append(problems, fmt.Sprintf("%s: shape %v, want %v", p.name, t.Shape, p.shape))
		case len(t.Data) != numel(p.shape):
			problems = append(problems, fmt.Sprintf("%s: %d values for shape %v, want %d", p.name, len(t.Data), p.shape, numel(p.shape)))
		default:
			own[p.name] = Tensor32{Shape: append([]int(nil), p.shape...), Data: append([]float32(nil), t.Data...)}
		}
	}
	var extra []string
	for name := range params {
		if !known[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		problems = append(problems, fmt.Sprintf("%s: not a %s parameter", name, model))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("engine: %w for %s: %s", ErrBadParams, model, strings.Join(problems, "; "))
	}
	return own, nil
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
