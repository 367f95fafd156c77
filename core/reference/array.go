package reference

import (
	"fmt"

	"github.com/dlcompat/dlcompat/core/tensor"
)

// Array is a dense float64 array in row-major (C) order.
type Array struct {
	Shape []int
	Data  []float64
}

// NewArray returns a zero-filled array of the given shape.
func NewArray(shape ...int) Array {
	return Array{Shape: append([]int(nil), shape...), Data: make([]float64, numel(shape))}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements.
func (a Array) Len() int { return len(a.Data) }

func checkShape(what string, got []int, want ...int) error {
	if !tensor.SameShape(got, want) {
		return fmt.Errorf("%s: shape %v, want %v", what, got, want)
	}
	return nil
}
