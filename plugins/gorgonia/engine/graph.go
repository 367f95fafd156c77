package engine

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// modelDef describes one reference model: its canonical parameters, its
// input shape and how to build its forward graph.
type modelDef struct {
	params     []paramSpec
	inputShape func(batch int) []int
	// build adds the forward graph to b and returns the logits node [N,10].
	// It may panic (gorgonia's Must idiom); compile recovers.
	build func(b *builder) *G.Node
}

type paramSpec struct {
	name  string
	shape []int
}

var models = map[string]*modelDef{
	"cnn":  cnnDef,
	"lstm": lstmDef,
}

// mode selects what a compiled machine computes.
type mode int

const (
	modeForward     mode = iota // logits
	modeActivations             // logits and activations
	modeBackward                // logits, loss and gradients
)

// part says where one gorgonia parameter node comes from: rows [r0, r1) of
// the canonical parameter viewed as a matrix [shape[0], rest], transposed or
// not, then reshaped to the node's shape. Gradients go back the same way.
type part struct {
	name      string
	r0, r1    int
	transpose bool
	shape     []int
}

// builder collects what a model's build function creates.
type builder struct {
	g      *G.ExprGraph
	batch  int
	params map[string]Tensor32
	acts   bool

	wrt       G.Nodes         // parameter nodes, in creation order
	parts     []part          // parallel to wrt
	paramVals []*tensor.Dense // parallel to wrt: the values bound to them
	feeds     []*tensor.Dense
	// activations registered by the model, in order; only when acts is set
	actReads []actSpec
}

// param adds a parameter node holding the given part of a canonical
// parameter (see part).
func (b *builder) param(name string, r0, r1 int, transpose bool, shape ...int) *G.Node {
	p := part{name: name, r0: r0, r1: r1, transpose: transpose, shape: shape}
	data := extractPart(b.params[name], p)
	t := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
	n := G.NewTensor(b.g, tensor.Float32, len(shape), G.WithShape(shape...),
		G.WithName(fmt.Sprintf("%s[%d:%d]", name, r0, r1)), G.WithValue(t))
	b.wrt = append(b.wrt, n)
	b.parts = append(b.parts, p)
	b.paramVals = append(b.paramVals, t)
	return n
}

// input adds an input node whose values are copied in on every run. Inputs
// are fed in creation order: one input takes the whole tensor, k > 1 inputs
// take the k slices along axis 1 (see scatter).
func (b *builder) input(shape ...int) *G.Node {
	t := tensor.New(tensor.WithShape(shape...), tensor.Of(tensor.Float32))
	n := G.NewTensor(b.g, tensor.Float32, len(shape), G.WithShape(shape...),
		G.WithName(fmt.Sprintf("input%d", len(b.feeds))), G.WithValue(t))
	b.feeds = append(b.feeds, t)
	return n
}

// activation registers the output of a layer under its contract name.
func (b *builder) activation(name string, node *G.Node) {
	if b.acts {
		b.actReads = append(b.actReads, actSpec{name: name, nodes: []*G.Node{node}})
	}
}

// activationSteps registers a layer's output given as one node [N, ...] per
// time step; it is returned stacked along axis 1 as [N, T, ...].
func (b *builder) activationSteps(name string, steps []*G.Node) {
	if b.acts {
		b.actReads = append(b.actReads, actSpec{name: name, nodes: steps, stacked: true})
	}
}

type actSpec struct {
	name    string
	nodes   []*G.Node
	stacked bool
}

// linear adds y = x·Wᵀ + b for the canonical parameters prefix.weight
// [out, in] and prefix.bias [out]. W is held transposed ([in, out]) so the
// graph needs no transpose op.
func (b *builder) linear(x *G.Node, prefix string, in, out int) *G.Node {
	w := b.param(prefix+".weight", 0, out, true, in, out)
	bias := b.param(prefix+".bias", 0, out, true, 1, out)
	return G.Must(G.BroadcastAdd(G.Must(G.Mul(x, w)), bias, nil, []byte{0}))
}

// machine is one compiled gorgonia program with its input buffers and the
// places its outputs are read into.
type machine struct {
	vm     G.VM
	feeds  []*tensor.Dense
	onehot *tensor.Dense // labels, [N, 10, 1]; backward only
	logits *G.Value
	loss   *G.Value
	grads  []*G.Value // parallel to parts; backward only
	parts  []part
	// paramVals are the tensors bound to the parameter nodes, parallel to
	// parts; setParam rewrites them in place.
	paramVals []*tensor.Dense
	acts      []actRead
}

type actRead struct {
	name    string
	stacked bool
	vals    []*G.Value
}

// compile builds and compiles the graph of def for one mode.
func compile(def *modelDef, batch int, params map[string]Tensor32, md mode) (m *machine, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("engine: %w building the graph: %v", ErrGorgonia, r)
		}
	}()
	b := &builder{g: G.NewGraph(), batch: batch, params: params, acts: md == modeActivations}
	logits := def.build(b)
	m = &machine{feeds: b.feeds, logits: new(G.Value), parts: b.parts, paramVals: b.paramVals}
	G.Read(logits, m.logits)

	for _, as := range b.actReads {
		ar := actRead{name: as.name, stacked: as.stacked}
		for _, n := range as.nodes {
			v := new(G.Value)
			G.Read(n, v)
			ar.vals = append(ar.vals, v)
		}
		m.acts = append(m.acts, ar)
	}

	if md == modeBackward {
		m.onehot = tensor.New(tensor.WithShape(batch, numClasses, 1), tensor.Of(tensor.Float32))
		onehot := G.NewTensor(b.g, tensor.Float32, 3, G.WithShape(batch, numClasses, 1),
			G.WithName("onehot"), G.WithValue(m.onehot))
		loss := crossEntropy(logits, onehot)
		m.loss = new(G.Value)
		G.Read(loss, m.loss)

		grads, err := G.Grad(loss, b.wrt...)
		if err != nil {
			return nil, fmt.Errorf("engine: %w differentiating: %v", ErrGorgonia, err)
		}
		for _, gn := range grads {
			v := new(G.Value)
			G.Read(gn, v)
			m.grads = append(m.grads, v)
		}
	}

	prog, locMap, err := G.Compile(b.g)
	if err != nil {
		return nil, fmt.Errorf("engine: %w compiling: %v", ErrGorgonia, err)
	}
	m.vm = G.NewTapeMachine(b.g, G.WithPrecompiled(prog, locMap))
	return m, nil
}

// setParam rewrites the parts of the named parameter from t, which has its
// canonical shape.
func (m *machine) setParam(name string, t Tensor32) {
	for i, p := range m.parts {
		if p.name == name {
			copy(m.paramVals[i].Data().([]float32), extractPart(t, p))
		}
	}
}

// crossEntropy returns the mean cross-entropy -1/N Σ_n log_softmax(z_n)[label_n]
// of logits [N, C], with the labels given one-hot as [N, C, 1].
//
// The logits are viewed as [N, C, 1] so that gorgonia's LogSoftMax takes
// its inner-axis code path. Its last-axis float32 path (gorgonia.org/tensor
// v0.9.24, softMaxLastDimF32) starts every row's running max at the first
// element of the whole tensor instead of the row's, so a batch whose rows
// differ by more than ~88 in their logits gets inf or NaN.
func crossEntropy(logits, onehot *G.Node) *G.Node {
	shape := logits.Shape()
	z := G.Must(G.Reshape(logits, tensor.Shape{shape[0], shape[1], 1}))
	logp := G.Must(G.LogSoftMax(z, 1))
	picked := G.Must(G.Sum(G.Must(G.HadamardProd(logp, onehot))))
	return G.Must(G.HadamardDiv(G.Must(G.Neg(picked)), G.NewConstant(float32(shape[0]))))
}

// run copies the input (and labels) into the graph and runs it once.
func (m *machine) run(input []float32, labels []int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: %w running the graph: %v", ErrGorgonia, r)
		}
	}()
	scatter(input, m.feeds)
	if m.onehot != nil {
		oh := m.onehot.Data().([]float32)
		clear(oh)
		for n, l := range labels {
			oh[n*numClasses+l] = 1
		}
	}
	m.vm.Reset()
	if err := m.vm.RunAll(); err != nil {
		return fmt.Errorf("engine: %w running the graph: %v", ErrGorgonia, err)
	}
	return nil
}

// scatter copies input into the feed tensors: all of it into a single feed,
// or, for k feeds of shape [N, rest], input[:, j, ...] into feed j.
func scatter(input []float32, feeds []*tensor.Dense) {
	if len(feeds) == 1 {
		copy(feeds[0].Data().([]float32), input)
		return
	}
	k := len(feeds)
	n := feeds[0].Shape()[0]
	inner := feeds[0].Shape().TotalSize() / n
	for j, f := range feeds {
		dst := f.Data().([]float32)
		for i := 0; i < n; i++ {
			copy(dst[i*inner:(i+1)*inner], input[(i*k+j)*inner:(i*k+j+1)*inner])
		}
	}
}

// values32 returns a copy of a read-out value's data and its shape.
func values32(v *G.Value) (Tensor32, error) {
	if v == nil || *v == nil {
		return Tensor32{}, fmt.Errorf("engine: %w: a read-out value is missing", ErrGorgonia)
	}
	switch x := (*v).(type) {
	case *G.F32:
		return Tensor32{Shape: []int{}, Data: []float32{float32(*x)}}, nil
	case tensor.Tensor:
		data, ok := x.Data().([]float32)
		if !ok {
			if f, ok := x.Data().(float32); ok { // a 0-d tensor
				return Tensor32{Shape: []int{}, Data: []float32{f}}, nil
			}
			return Tensor32{}, fmt.Errorf("engine: %w: value of dtype %v, want float32", ErrGorgonia, x.Dtype())
		}
		return Tensor32{Shape: append([]int(nil), x.Shape()...), Data: append([]float32(nil), data...)}, nil
	default:
		return Tensor32{}, fmt.Errorf("engine: %w: value of type %T, want a float32 tensor", ErrGorgonia, *v)
	}
}

func (m *machine) logitsOut() (Tensor32, error) { return values32(m.logits) }

func (m *machine) lossOut() (float32, error) {
	t, err := values32(m.loss)
	if err != nil {
		return 0, err
	}
	if len(t.Data) != 1 {
		return 0, fmt.Errorf("engine: %w: loss has %d values, want 1", ErrGorgonia, len(t.Data))
	}
	return t.Data[0], nil
}

func (m *machine) activationsOut() (map[string]Tensor32, error) {
	out := make(map[string]Tensor32, len(m.acts))
	for _, a := range m.acts {
		steps := make([]Tensor32, len(a.vals))
		for i, v := range a.vals {
			t, err := values32(v)
			if err != nil {
				return nil, fmt.Errorf("activation %s: %w", a.name, err)
			}
			steps[i] = t
		}
		if a.stacked {
			out[a.name] = stack(steps)
		} else {
			out[a.name] = steps[0]
		}
	}
	return out, nil
}

// stack returns k tensors [N, rest...] stacked along axis 1 as
// [N, k, rest...].
func stack(steps []Tensor32) Tensor32 {
	k := len(steps)
	n := steps[0].Shape[0]
	inner := len(steps[0].Data) / n
	shape := append([]int{n, k}, steps[0].Shape[1:]...)
	data := make([]float32, n*k*inner)
	for j, s := range steps {
		for i := 0; i < n; i++ {
			copy(data[(i*k+j)*inner:(i*k+j+1)*inner], s.Data[i*inner:(i+1)*inner])
		}
	}
	return Tensor32{Shape: shape, Data: data}
}

// gradsOut assembles the canonical gradients from the parts' gradients.
func (m *machine) gradsOut(def *modelDef) (map[string]Tensor32, error) {
	out := make(map[string]Tensor32, len(def.params))
	for _, p := range def.params {
		out[p.name] = Tensor32{Shape: append([]int(nil), p.shape...), Data: make([]float32, numel(p.shape))}
	}
	for i, p := range m.parts {
		g, err := values32(m.grads[i])
		if err != nil {
			return nil, err
		}
		if len(g.Data) != numel(p.shape) {
			return nil, fmt.Errorf("engine: %w: gradient of %s[%d:%d] has shape %v, want %v", ErrGorgonia, p.name, p.r0, p.r1, g.Shape, p.shape)
		}
		insertPart(out[p.name], p, g.Data)
	}
	return out, nil
}

// matrixView returns the rows and columns of a canonical parameter viewed
// as [shape[0], product of the rest].
func matrixView(shape []int) (rows, cols int) {
	return shape[0], numel(shape[1:])
}

// extractPart copies rows [r0, r1) of t (transposed if asked) into a new
// slice, in the node's row-major order.
func extractPart(t Tensor32, p part) []float32 {
	_, cols := matrixView(t.Shape)
	rows := p.r1 - p.r0
	out := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			v := t.Data[(p.r0+r)*cols+c]
			if p.transpose {
				out[c*rows+r] = v
			} else {
				out[r*cols+c] = v
			}
		}
	}
	return out
}

// insertPart is the inverse of extractPart: it writes data, laid out as the
// node, back into rows [r0, r1) of t.
func insertPart(t Tensor32, p part, data []float32) {
	_, cols := matrixView(t.Shape)
	rows := p.r1 - p.r0
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			if p.transpose {
				t.Data[(p.r0+r)*cols+c] = data[c*rows+r]
			} else {
				t.Data[(p.r0+r)*cols+c] = data[r*cols+c]
			}
		}
	}
}
