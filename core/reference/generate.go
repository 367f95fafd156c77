package reference

import (
	"math"
)

// The reference tensors (docs/spec.md §2.1) come from one documented generator so
// that any language can reproduce them bit for bit:
//
//   - each tensor has its own stream, seeded with the 64-bit FNV-1a hash of
//     "dlcompat/v1/<model>/<tensor name>" (the tensor name is the parameter
//     name, or "input");
//   - the stream is SplitMix64 (Steele, Lea, Flood 2014): state += 0x9E3779B97F4A7C15,
//     then the usual xor-shift-multiply finaliser;
//   - a draw u = (x >> 11) · 2⁻⁵³ is uniform on [0, 1); a value in [lo, hi) is
//     lo + (hi − lo)·u, computed in float64 and rounded once to float32;
//   - values fill the tensor in row-major order.
//
// Weights use PyTorch's default bounds ±1/√fan_in; inputs use ±1. The input
// of batch n is the first n samples of a longer stream, so the batch-1
// input is a prefix of the batch-8 one.
const generatorVersion = "dlcompat/v1"

// splitMix64 is the SplitMix64 generator.
type splitMix64 struct{ state uint64 }

func (s *splitMix64) next() uint64 {
	s.state += 0x9E3779B97F4A7C15
	z := s.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (s *splitMix64) uniform() float64 { return float64(s.next()>>11) * (1.0 / (1 << 53)) }

func fnv1a64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// uniformFloat32s draws n float32-representable values in [lo, hi) from
// the stream named key.
func uniformFloat32s(key string, n int, lo, hi float64) []float64 {
	g := splitMix64{state: fnv1a64(generatorVersion + "/" + key)}
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(lo + (hi-lo)*g.uniform()))
	}
	return out
}

// NewWeights returns the reference weights of a model: every parameter
// drawn from U(−1/√fan_in, 1/√fan_in), rounded to float32.
func NewWeights(m Model) map[string]Array {
	out := map[string]Array{}
	for _, p := range Params(m) {
		bound := 1 / math.Sqrt(float64(p.FanIn))
		out[p.Name] = Array{
			Shape: append([]int(nil), p.Shape...),
			Data:  uniformFloat32s(string(m)+"/"+p.Name, numel(p.Shape), -bound, bound),
		}
	}
	return out
}

// NewInput returns the reference input of a model at batch n, U(−1, 1)
// rounded to float32.
func NewInput(m Model, n int) Array {
	shape := InputShape(m, n)
	return Array{Shape: shape, Data: uniformFloat32s(string(m)+"/input", numel(shape), -1, 1)}
}

// Labels returns the reference labels of batch n: label[i] = i mod 10.
func Labels(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i % Classes
	}
	return out
}
