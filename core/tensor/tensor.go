package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a safetensors dtype name.
type DType string

const (
	F32 DType = "F32"
	F64 DType = "F64"
	I64 DType = "I64"
)

func (d DType) size() int {
	switch d {
	case F32:
		return 4
	case F64, I64:
		return 8
	}
	return 0
}

// Tensor is one named array as stored: dtype, shape and raw little-endian
// bytes. Use the constructors and accessors rather than Data directly.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// Numel is the number of elements the shape holds. It does not check for
// overflow: use it on shapes Decode accepted (their byte size fits an
// int64) or that the caller built.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// SameShape reports whether two shapes are equal.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FromFloat32 stores float32 values.
func FromFloat32(shape []int, v []float32) Tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return Tensor{DType: F32, Shape: append([]int(nil), shape...), Data: b}
}

// FromFloat64 stores float64 values.
func FromFloat64(shape []int, v []float64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	return Tensor{DType: F64, Shape: append([]int(nil), shape...), Data: b}
}

// FromFloat64AsFloat32 rounds float64 values to float32 and stores them.
func FromFloat64AsFloat32(shape []int, v []float64) Tensor {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return FromFloat32(shape, f)
}

// FromInt64 stores int64 values.
func FromInt64(shape []int, v []int64) Tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return Tensor{DType: I64, Shape: append([]int(nil), shape...), Data: b}
}

// Float32s returns the values of an F32 tensor.
func (t Tensor) Float32s() ([]float32, error) {
	if t.DType != F32 {
		return nil, fmt.Errorf("dtype %s, want F32", t.DType)
	}
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out, nil
}

// Float64s returns the values of an F32 or F64 tensor widened to float64.
func (t Tensor) Float64s() ([]float64, error) {
	switch t.DType {
	case F32:
		f, _ := t.Float32s()
		out := make([]float64, len(f))
		for i, x := range f {
			out[i] = float64(x)
		}
		return out, nil
	case F64:
		out := make([]float64, len(t.Data)/8)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("dtype %s is not a float type", t.DType)
}

// Int64s returns the values of an I64 tensor.
func (t Tensor) Int64s() ([]int64, error) {
	if t.DType != I64 {
		return nil, fmt.Errorf("dtype %s, want I64", t.DType)
	}
	out := make([]int64, len(t.Data)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
	}
	return out, nil
}
