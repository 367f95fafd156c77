package reference

import "fmt"

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

func sameShape(a, b []int) bool {
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

func checkShape(what string, got []int, want ...int) error {
	if !sameShape(got, want) {
		return fmt.Errorf("%s: shape %v, want %v", what, got, want)
	}
	return nil
}
