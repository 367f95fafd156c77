package reference

import "math"

// conv2d3x3 is a 3×3, stride 1, pad 1 convolution of x [N,C,H,W] with
// w [O,C,3,3] and bias b [O].
func conv2d3x3(x Array, w, b Array) Array {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	o := w.Shape[0]
	y := NewArray(n, o, h, wd)
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			out := y.Data[(in*o+oc)*h*wd : (in*o+oc+1)*h*wd]
			for i := range out {
				out[i] = b.Data[oc]
			}
			for ic := 0; ic < c; ic++ {
				plane := x.Data[(in*c+ic)*h*wd : (in*c+ic+1)*h*wd]
				k := w.Data[(oc*c+ic)*9 : (oc*c+ic+1)*9]
				for ki := 0; ki < 3; ki++ {
					for kj := 0; kj < 3; kj++ {
						kv := k[ki*3+kj]
						for r := 0; r < h; r++ {
							sr := r + ki - 1
							if sr < 0 || sr >= h {
								continue
							}
							for col := 0; col < wd; col++ {
								sc := col + kj - 1
								if sc < 0 || sc >= wd {
									continue
								}
								out[r*wd+col] += kv * plane[sr*wd+sc]
							}
						}
					}
				}
			}
		}
	}
	return y
}

// conv2d3x3Backward returns dL/dx, dL/dw, dL/db for conv2d3x3 given dy.
// needDX false skips dL/dx (the first layer's input needs none).
func conv2d3x3Backward(x, w, dy Array, needDX bool) (dx, dw, db Array) {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	o := w.Shape[0]
	dw = NewArray(w.Shape...)
	db = NewArray(o)
	if needDX {
		dx = NewArray(x.Shape...)
	}
	for in := 0; in < n; in++ {
		for oc := 0; oc < o; oc++ {
			g := dy.Data[(in*o+oc)*h*wd : (in*o+oc+1)*h*wd]
			for _, v := range g {
				db.Data[oc] += v
			}
			for ic := 0; ic < c; ic++ {
				plane := x.Data[(in*c+ic)*h*wd : (in*c+ic+1)*h*wd]
				k := w.Data[(oc*c+ic)*9 : (oc*c+ic+1)*9]
				dk := dw.Data[(oc*c+ic)*9 : (oc*c+ic+1)*9]
				var dplane []float64
				if needDX {
					dplane = dx.Data[(in*c+ic)*h*wd : (in*c+ic+1)*h*wd]
				}
				for ki := 0; ki < 3; ki++ {
					for kj := 0; kj < 3; kj++ {
						kv := k[ki*3+kj]
						var acc float64
						for r := 0; r < h; r++ {
							sr := r + ki - 1
							if sr < 0 || sr >= h {
								continue
							}
							for col := 0; col < wd; col++ {
								sc := col + kj - 1
								if sc < 0 || sc >= wd {
									continue
								}
								gv := g[r*wd+col]
								acc += gv * plane[sr*wd+sc]
								if needDX {
									dplane[sr*wd+sc] += gv * kv
								}
							}
						}
						dk[ki*3+kj] += acc
					}
				}
			}
		}
	}
	return dx, dw, db
}

// maxPool2x2 pools x [N,C,H,W] (H, W even) and returns, for each output, the
// flat index into x of the maximum (first one in scan order on ties).
func maxPool2x2(x Array) (Array, []int) {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := h/2, wd/2
	y := NewArray(n, c, oh, ow)
	arg := make([]int, y.Len())
	for p := 0; p < n*c; p++ {
		for r := 0; r < oh; r++ {
			for col := 0; col < ow; col++ {
				best, bi := math.Inf(-1), -1
				for dr := 0; dr < 2; dr++ {
					for dc := 0; dc < 2; dc++ {
						i := p*h*wd + (2*r+dr)*wd + 2*col + dc
						if x.Data[i] > best {
							best, bi = x.Data[i], i
						}
					}
				}
				o := p*oh*ow + r*ow + col
				y.Data[o], arg[o] = best, bi
			}
		}
	}
	return y, arg
}

func maxPoolBackward(xShape []int, arg []int, dy Array) Array {
	dx := NewArray(xShape...)
	for o, i := range arg {
		dx.Data[i] += dy.Data[o]
	}
	return dx
}

func relu(x Array) Array {
	y := NewArray(x.Shape...)
	for i, v := range x.Data {
		if v > 0 {
			y.Data[i] = v
		}
	}
	return y
}

// reluBackward masks dy where the ReLU output y is not positive
// (the derivative at 0 is taken as 0, as PyTorch does).
func reluBackward(y, dy Array) Array {
	dx := NewArray(dy.Shape...)
	for i, v := range y.Data {
		if v > 0 {
			dx.Data[i] = dy.Data[i]
		}
	}
	return dx
}

// linear computes y = x·wᵀ + b for x [N,in], w [out,in], b [out].
func linear(x, w, b Array) Array {
	n, in := x.Shape[0], x.Shape[1]
	out := w.Shape[0]
	y := NewArray(n, out)
	for i := 0; i < n; i++ {
		xi := x.Data[i*in : (i+1)*in]
		for o := 0; o < out; o++ {
			wo := w.Data[o*in : (o+1)*in]
			s := b.Data[o]
			for k, v := range xi {
				s += v * wo[k]
			}
			y.Data[i*out+o] = s
		}
	}
	return y
}

// linearBackward returns dx, dw, db of linear given dy [N,out].
func linearBackward(x, w, dy Array) (dx, dw, db Array) {
	n, in := x.Shape[0], x.Shape[1]
	out := w.Shape[0]
	dx, dw, db = NewArray(n, in), NewArray(out, in), NewArray(out)
	for i := 0; i < n; i++ {
		xi := x.Data[i*in : (i+1)*in]
		dxi := dx.Data[i*in : (i+1)*in]
		for o := 0; o < out; o++ {
			g := dy.Data[i*out+o]
			if g == 0 {
				continue
			}
			db.Data[o] += g
			wo := w.Data[o*in : (o+1)*in]
			dwo := dw.Data[o*in : (o+1)*in]
			for k := range xi {
				dwo[k] += g * xi[k]
				dxi[k] += g * wo[k]
			}
		}
	}
	return dx, dw, db
}

func reshape(a Array, shape ...int) Array {
	return Array{Shape: append([]int(nil), shape...), Data: a.Data}
}

type cnnTape struct {
	x, a1, p1, a2, p2, flat, h1, z Array
	arg1, arg2                     []int
}

func cnnForward(p map[string]Array, x Array) cnnTape {
	var t cnnTape
	n := x.Shape[0]
	t.x = x
	t.a1 = relu(conv2d3x3(x, p["conv1.weight"], p["conv1.bias"]))
	t.p1, t.arg1 = maxPool2x2(t.a1)
	t.a2 = relu(conv2d3x3(t.p1, p["conv2.weight"], p["conv2.bias"]))
	t.p2, t.arg2 = maxPool2x2(t.a2)
	t.flat = reshape(t.p2, n, 64*7*7)
	t.h1 = relu(linear(t.flat, p["fc1.weight"], p["fc1.bias"]))
	t.z = linear(t.h1, p["fc2.weight"], p["fc2.bias"])
	return t
}

func (t cnnTape) activations() map[string]Array {
	return map[string]Array{
		"conv1": t.a1, "pool1": t.p1, "conv2": t.a2, "pool2": t.p2,
		"fc1": t.h1, "fc2": t.z,
	}
}

func cnnBackward(p map[string]Array, t cnnTape, dz Array) map[string]Array {
	g := map[string]Array{}
	dh1, dw, db := linearBackward(t.h1, p["fc2.weight"], dz)
	g["fc2.weight"], g["fc2.bias"] = dw, db
	dflat, dw, db := linearBackward(t.flat, p["fc1.weight"], reluBackward(t.h1, dh1))
	g["fc1.weight"], g["fc1.bias"] = dw, db
	da2 := maxPoolBackward(t.a2.Shape, t.arg2, reshape(dflat, t.p2.Shape...))
	dp1, dw, db := conv2d3x3Backward(t.p1, p["conv2.weight"], reluBackward(t.a2, da2), true)
	g["conv2.weight"], g["conv2.bias"] = dw, db
	da1 := maxPoolBackward(t.a1.Shape, t.arg1, dp1)
	_, dw, db = conv2d3x3Backward(t.x, p["conv1.weight"], reluBackward(t.a1, da1), false)
	g["conv1.weight"], g["conv1.bias"] = dw, db
	return g
}
