package reference

import (
	"fmt"
	"math"
)

func sigmoid(v float64) float64 { return 1 / (1 + math.Exp(-v)) }

// lstmLayerTape keeps what one layer's backward pass needs, per step t:
// the layer input, the previous h and c, the gate values and the new c.
type lstmLayerTape struct {
	in            [][]float64 // [T][N*inSize]
	hPrev, cPrev  [][]float64 // [T][N*H]
	i, f, g, o, c [][]float64 // [T][N*H]
	h             [][]float64 // [T][N*H]
	inSize        int
}

type lstmTape struct {
	n      int
	layers []lstmLayerTape
	z      Array
}

// stepInputs splits x [N,T,I] into T arrays of [N*I].
func stepInputs(x Array) [][]float64 {
	n, steps, in := x.Shape[0], x.Shape[1], x.Shape[2]
	out := make([][]float64, steps)
	for t := range out {
		out[t] = make([]float64, n*in)
		for b := 0; b < n; b++ {
			copy(out[t][b*in:(b+1)*in], x.Data[(b*steps+t)*in:(b*steps+t+1)*in])
		}
	}
	return out
}

func lstmLayerForward(p map[string]Array, l, n int, inputs [][]float64) lstmLayerTape {
	const h = LSTMHidden
	pre := fmt.Sprintf("layers.%d.", l)
	wi, bi := p[pre+"i2h.weight"], p[pre+"i2h.bias"]
	wh, bh := p[pre+"h2h.weight"], p[pre+"h2h.bias"]
	inSize := wi.Shape[1]
	steps := len(inputs)
	tp := lstmLayerTape{inSize: inSize}
	hPrev, cPrev := make([]float64, n*h), make([]float64, n*h)
	gates := make([]float64, 4*h)
	for t := 0; t < steps; t++ {
		ig, fg, gg, og := make([]float64, n*h), make([]float64, n*h), make([]float64, n*h), make([]float64, n*h)
		cNew, hNew := make([]float64, n*h), make([]float64, n*h)
		for b := 0; b < n; b++ {
			x := inputs[t][b*inSize : (b+1)*inSize]
			hp := hPrev[b*h : (b+1)*h]
			for r := 0; r < 4*h; r++ {
				s := bi.Data[r] + bh.Data[r]
				row := wi.Data[r*inSize : (r+1)*inSize]
				for k, v := range x {
					s += v * row[k]
				}
				row = wh.Data[r*h : (r+1)*h]
				for k, v := range hp {
					s += v * row[k]
				}
				gates[r] = s
			}
			for j := 0; j < h; j++ {
				k := b*h + j
				ig[k] = sigmoid(gates[j])
				fg[k] = sigmoid(gates[h+j])
				gg[k] = math.Tanh(gates[2*h+j])
				og[k] = sigmoid(gates[3*h+j])
				cNew[k] = fg[k]*cPrev[k] + ig[k]*gg[k]
				hNew[k] = og[k] * math.Tanh(cNew[k])
			}
		}
		tp.in = append(tp.in, inputs[t])
		tp.hPrev = append(tp.hPrev, hPrev)
		tp.cPrev = append(tp.cPrev, cPrev)
		tp.i, tp.f, tp.g, tp.o = append(tp.i, ig), append(tp.f, fg), append(tp.g, gg), append(tp.o, og)
		tp.c, tp.h = append(tp.c, cNew), append(tp.h, hNew)
		hPrev, cPrev = hNew, cNew
	}
	return tp
}

func lstmForward(p map[string]Array, x Array) lstmTape {
	n := x.Shape[0]
	tape := lstmTape{n: n}
	inputs := stepInputs(x)
	for l := 0; l < LSTMLayers; l++ {
		lt := lstmLayerForward(p, l, n, inputs)
		tape.layers = append(tape.layers, lt)
		inputs = lt.h
	}
	top := tape.layers[LSTMLayers-1]
	last := Array{Shape: []int{n, LSTMHidden}, Data: top.h[len(top.h)-1]}
	tape.z = linear(last, p["fc.weight"], p["fc.bias"])
	return tape
}

func (t lstmTape) activations() map[string]Array {
	const h = LSTMHidden
	out := map[string]Array{"fc": t.z}
	for l, lt := range t.layers {
		steps := len(lt.h)
		a := NewArray(t.n, steps, h)
		for s := 0; s < steps; s++ {
			for b := 0; b < t.n; b++ {
				copy(a.Data[(b*steps+s)*h:(b*steps+s+1)*h], lt.h[s][b*h:(b+1)*h])
			}
		}
		out[fmt.Sprintf("layers.%d", l)] = a
	}
	return out
}

// lstmLayerBackward back-propagates through time. dhOut[t] is the gradient
// reaching h at step t from above (nil where none); it returns the
// gradient w.r.t. each step's input.
func lstmLayerBackward(p map[string]Array, l, n int, tp lstmLayerTape, dhOut [][]float64, g map[string]Array) [][]float64 {
	const h = LSTMHidden
	pre := fmt.Sprintf("layers.%d.", l)
	wi, wh := p[pre+"i2h.weight"], p[pre+"h2h.weight"]
	in := tp.inSize
	dwi, dbi := NewArray(wi.Shape...), NewArray(4*h)
	dwh, dbh := NewArray(wh.Shape...), NewArray(4*h)
	steps := len(tp.h)
	dIn := make([][]float64, steps)
	dhRec, dcRec := make([]float64, n*h), make([]float64, n*h)
	da := make([]float64, 4*h)
	for t := steps - 1; t >= 0; t-- {
		dIn[t] = make([]float64, n*in)
		dhRecNext := make([]float64, n*h)
		for b := 0; b < n; b++ {
			for j := 0; j < h; j++ {
				k := b*h + j
				dh := dhRec[k]
				if dhOut[t] != nil {
					dh += dhOut[t][k]
				}
				tc := math.Tanh(tp.c[t][k])
				dc := dcRec[k] + dh*tp.o[t][k]*(1-tc*tc)
				i, f, gg, o := tp.i[t][k], tp.f[t][k], tp.g[t][k], tp.o[t][k]
				da[j] = dc * gg * i * (1 - i)
				da[h+j] = dc * tp.cPrev[t][k] * f * (1 - f)
				da[2*h+j] = dc * i * (1 - gg*gg)
				da[3*h+j] = dh * tc * o * (1 - o)
				dcRec[k] = dc * f
			}
			x := tp.in[t][b*in : (b+1)*in]
			hp := tp.hPrev[t][b*h : (b+1)*h]
			dx := dIn[t][b*in : (b+1)*in]
			dhp := dhRecNext[b*h : (b+1)*h]
			for r := 0; r < 4*h; r++ {
				gr := da[r]
				dbi.Data[r] += gr
				dbh.Data[r] += gr
				rowI, drowI := wi.Data[r*in:(r+1)*in], dwi.Data[r*in:(r+1)*in]
				for k, v := range x {
					drowI[k] += gr * v
					dx[k] += gr * rowI[k]
				}
				rowH, drowH := wh.Data[r*h:(r+1)*h], dwh.Data[r*h:(r+1)*h]
				for k, v := range hp {
					drowH[k] += gr * v
					dhp[k] += gr * rowH[k]
				}
			}
		}
		dhRec = dhRecNext
	}
	g[pre+"i2h.weight"], g[pre+"i2h.bias"] = dwi, dbi
	g[pre+"h2h.weight"], g[pre+"h2h.bias"] = dwh, dbh
	return dIn
}

func lstmBackward(p map[string]Array, t lstmTape, dz Array) map[string]Array {
	g := map[string]Array{}
	n := t.n
	top := t.layers[LSTMLayers-1]
	steps := len(top.h)
	last := Array{Shape: []int{n, LSTMHidden}, Data: top.h[steps-1]}
	dlast, dw, db := linearBackward(last, p["fc.weight"], dz)
	g["fc.weight"], g["fc.bias"] = dw, db
	dh := make([][]float64, steps)
	dh[steps-1] = dlast.Data
	for l := LSTMLayers - 1; l >= 0; l-- {
		dh = lstmLayerBackward(p, l, n, t.layers[l], dh, g)
	}
	return g
}
