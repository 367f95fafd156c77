package reference

// Arithmetic intensity: where a model's perf series sits on a device's
// roofline (docs/spec.md §10.4). The rule counts the bytes a call must
// move at the least, in the call's element size: every parameter read
// once, the batch's input read once, and each per-layer output of §1.4
// written once per sample; FLOPs are FLOPsPerSample's. A training step
// counts 3× both (forward, and backward at twice its cost, reading what
// forward wrote and writing as much again), so its intensity is the
// forward's. It is a lower bound on traffic, so an upper bound on
// intensity: a framework that spills more sits further left than drawn.

// activationValues is the number of values of a model's §1.4 activations
// for one sample.
func activationValues(m Model) int {
	if m == CNN {
		// conv1 32×28×28, pool1 32×14×14, conv2 64×14×14, pool2 64×7×7, fc1, fc2.
		return 32*28*28 + 32*14*14 + 64*14*14 + 64*7*7 + 128 + Classes
	}
	// layers.0 and layers.1, [T, H] each, and the logits.
	return LSTMLayers*LSTMSteps*LSTMHidden + Classes
}

// paramValues is the number of a model's parameters (cnn 422,218, lstm
// 214,282).
func paramValues(m Model) int {
	n := 0
	for _, p := range Params(m) {
		v := 1
		for _, d := range p.Shape {
			v *= d
		}
		n += v
	}
	return n
}

// BytesPerCall is the least a forward call at batch moves, with
// elemBytes bytes per value (4 for fp32 and tf32, 8 for fp64, 2 for bf16
// and fp16).
func BytesPerCall(m Model, batch, elemBytes int) float64 {
	perSample := 1
	for _, d := range InputShape(m, 1)[1:] {
		perSample *= d
	}
	return float64(elemBytes) * float64(paramValues(m)+batch*(perSample+activationValues(m)))
}

// FLOPsPerByte is the arithmetic intensity of a forward call (and of a
// training step) at batch.
func FLOPsPerByte(m Model, batch, elemBytes int) float64 {
	return FLOPsPerSample(m) * float64(batch) / BytesPerCall(m, batch, elemBytes)
}
