package engine

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// docs/spec.md §1.1: SimpleCNN.
var cnnDef = &modelDef{
	params: []paramSpec{
		{"conv1.weight", []int{32, 3, 3, 3}},
		{"conv1.bias", []int{32}},
		{"conv2.weight", []int{64, 32, 3, 3}},
		{"conv2.bias", []int{64}},
		{"fc1.weight", []int{128, 3136}},
		{"fc1.bias", []int{128}},
		{"fc2.weight", []int{10, 128}},
		{"fc2.bias", []int{10}},
	},
	inputShape: func(batch int) []int { return []int{batch, 3, 28, 28} },
	build:      buildCNN,
}

func buildCNN(b *builder) *G.Node {
	n := b.batch
	x := b.input(n, 3, 28, 28)

	conv := func(x *G.Node, prefix string, in, out int) *G.Node {
		// The filter is held in PyTorch's [out, in, 3, 3] layout, which is
		// gorgonia's; the bias as [1, out, 1, 1] to broadcast over N, H, W.
		w := b.param(prefix+".weight", 0, out, false, out, in, 3, 3)
		bias := b.param(prefix+".bias", 0, out, false, 1, out, 1, 1)
		y := G.Must(G.Conv2d(x, w, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}))
		return G.Must(G.BroadcastAdd(y, bias, nil, []byte{0, 2, 3}))
	}
	pool := func(x *G.Node) *G.Node {
		return G.Must(G.MaxPool2D(x, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}))
	}

	conv1 := G.Must(G.Rectify(conv(x, "conv1", 3, 32)))
	b.activation("conv1", conv1)
	pool1 := pool(conv1)
	b.activation("pool1", pool1)
	conv2 := G.Must(G.Rectify(conv(pool1, "conv2", 32, 64)))
	b.activation("conv2", conv2)
	pool2 := pool(conv2)
	b.activation("pool2", pool2)
	// NCHW reshape: C, H, W order, as PyTorch's view(-1, 64*7*7).
	flat := G.Must(G.Reshape(pool2, tensor.Shape{n, 64 * 7 * 7}))
	fc1 := G.Must(G.Rectify(b.linear(flat, "fc1", 64*7*7, 128)))
	b.activation("fc1", fc1)
	fc2 := b.linear(fc1, "fc2", 128, numClasses)
	b.activation("fc2", fc2)
	return fc2
}

// docs/spec.md §1.2: StackedLSTM, 2 layers, H = 128, over T = 28 steps of I = 28.
const (
	lstmLayers = 2
	lstmHidden = 128
	lstmSteps  = 28
	lstmInput  = 28
)

var lstmDef = &modelDef{
	params:     lstmParams(),
	inputShape: func(batch int) []int { return []int{batch, lstmSteps, lstmInput} },
	build:      buildLSTM,
}

func lstmParams() []paramSpec {
	var ps []paramSpec
	for l := 0; l < lstmLayers; l++ {
		in := lstmInput
		if l > 0 {
			in = lstmHidden
		}
		ps = append(ps,
			paramSpec{fmt.Sprintf("layers.%d.i2h.weight", l), []int{4 * lstmHidden, in}},
			paramSpec{fmt.Sprintf("layers.%d.i2h.bias", l), []int{4 * lstmHidden}},
			paramSpec{fmt.Sprintf("layers.%d.h2h.weight", l), []int{4 * lstmHidden, lstmHidden}},
			paramSpec{fmt.Sprintf("layers.%d.h2h.bias", l), []int{4 * lstmHidden}},
		)
	}
	return append(ps,
		paramSpec{"fc.weight", []int{numClasses, lstmHidden}},
		paramSpec{"fc.bias", []int{numClasses}},
	)
}

// Gate blocks of the 4H rows, in the tutorial's (and PyTorch's) order.
const (
	gateI = iota // input, sigmoid
	gateF        // forget, sigmoid
	gateG        // cell candidate, tanh
	gateO        // output, sigmoid
)

// buildLSTM unrolls the two layers over the sequence. Each time step is its
// own input node [N, I], and each of the four gate blocks of every weight
// and bias is its own parameter node (rows [k·H, (k+1)·H) of the canonical
// tensor, transposed), so the graph has no Slice op, whose gradients are
// fragile in gorgonia; Backward concatenates the blocks' gradients.
func buildLSTM(b *builder) *G.Node {
	n, hid := b.batch, lstmHidden
	seq := make([]*G.Node, lstmSteps)
	for t := range seq {
		seq[t] = b.input(n, lstmInput)
	}

	for l := 0; l < lstmLayers; l++ {
		in := lstmInput
		if l > 0 {
			in = hid
		}
		var wi, wh, bias [4]*G.Node
		for k := range 4 {
			r0, r1 := k*hid, (k+1)*hid
			wi[k] = b.param(fmt.Sprintf("layers.%d.i2h.weight", l), r0, r1, true, in, hid)
			wh[k] = b.param(fmt.Sprintf("layers.%d.h2h.weight", l), r0, r1, true, hid, hid)
			bi := b.param(fmt.Sprintf("layers.%d.i2h.bias", l), r0, r1, true, 1, hid)
			bh := b.param(fmt.Sprintf("layers.%d.h2h.bias", l), r0, r1, true, 1, hid)
			bias[k] = G.Must(G.Add(bi, bh))
		}

		var h, c *G.Node // h0 = c0 = 0: the first step skips h·W_hᵀ and f⊙c
		out := make([]*G.Node, lstmSteps)
		for t, x := range seq {
			var gate [4]*G.Node
			for k := range 4 {
				if k == gateF && c == nil {
					continue
				}
				z := G.Must(G.Mul(x, wi[k]))
				if h != nil {
					z = G.Must(G.Add(z, G.Must(G.Mul(h, wh[k]))))
				}
				z = G.Must(G.BroadcastAdd(z, bias[k], nil, []byte{0}))
				if k == gateG {
					gate[k] = G.Must(G.Tanh(z))
				} else {
					gate[k] = G.Must(G.Sigmoid(z))
				}
			}
			ig := G.Must(G.HadamardProd(gate[gateI], gate[gateG]))
			if c == nil {
				c = ig
			} else {
				c = G.Must(G.Add(G.Must(G.HadamardProd(gate[gateF], c)), ig))
			}
			h = G.Must(G.HadamardProd(gate[gateO], G.Must(G.Tanh(c))))
			out[t] = h
		}
		b.activationSteps(fmt.Sprintf("layers.%d", l), out)
		seq = out
	}

	fc := b.linear(seq[lstmSteps-1], "fc", hid, numClasses)
	b.activation("fc", fc)
	return fc
}
