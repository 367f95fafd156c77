package tensor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
)

func sample() File {
	return File{
		Metadata: map[string]string{"model": "cnn"},
		Tensors: map[string]Tensor{
			"b": FromFloat64([]int{2}, []float64{1.5, -2}),
			"a": FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
			"l": FromInt64([]int{3}, []int64{0, 1, 9}),
		},
	}
}

func TestRoundTripIsCanonical(t *testing.T) {
	b1, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b1)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := Encode(f)
	if !bytes.Equal(b1, b2) {
		t.Fatal("re-encoding changed the bytes")
	}
	if hl := binary.LittleEndian.Uint64(b1); hl%8 != 0 {
		t.Fatalf("header length %d not padded to 8", hl)
	}
	v, _ := f.Tensors["a"].Float32s()
	if v[5] != 6 || f.Metadata["model"] != "cnn" {
		t.Fatalf("values lost: %v %v", v, f.Metadata)
	}
	l, _ := f.Tensors["l"].Int64s()
	if l[2] != 9 {
		t.Fatalf("int64 lost: %v", l)
	}
}

func TestDecodeRejectsBadFiles(t *testing.T) {
	good, _ := Encode(sample())
	hdrLen := binary.LittleEndian.Uint64(good)
	withHeader := func(h string) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, uint64(len(h)))
		return append(append(b, h...), make([]byte, 8)...)
	}
	for _, tc := range []struct {
		desc string
		in   []byte
	}{
		{"empty", nil},
		{"truncated data", good[:len(good)-3]},
		{"truncated header", good[:8+hdrLen/2]},
		{"huge header length", append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, good[8:]...)},
		{"not json", withHeader("{nope")},
		{"unknown dtype", withHeader(`{"x":{"dtype":"Q8","shape":[2],"data_offsets":[0,8]}}`)},
		{"size mismatch", withHeader(`{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`)},
		{"negative shape", withHeader(`{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`)},
		{"offsets past end", withHeader(`{"x":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}`)},
		{"gap", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`)},
		{"trailing bytes", withHeader(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)},
		{"null header", withHeader(`null`)},
		{"three offsets", withHeader(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}`)},
		{"one offset", withHeader(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[8]}}`)},
		{"overflowing shape", withHeader(`{"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}}`)},
		// numel·size wraps to the 8 data bytes: 2^62+2 float32s, 2^61+1 float64s.
		{"F32 byte size wraps", withHeader(`{"x":{"dtype":"F32","shape":[4611686018427387906],"data_offsets":[0,8]}}`)},
		{"F64 byte size wraps", withHeader(`{"x":{"dtype":"F64","shape":[2305843009213693953],"data_offsets":[0,8]}}`)},
		{"I64 byte size wraps", withHeader(`{"x":{"dtype":"I64","shape":[1,2305843009213693953],"data_offsets":[0,8]}}`)},
		{"wraps after a zero-free prefix", withHeader(`{"x":{"dtype":"F32","shape":[1,1,4611686018427387906],"data_offsets":[0,8]}}`)},
	} {
		_, err := Decode(tc.in)
		if err == nil {
			t.Errorf("%s: accepted", tc.desc)
			continue
		}
		if !errors.Is(err, ErrFormat) {
			t.Errorf("%s: error %v does not wrap ErrFormat", tc.desc, err)
		}
	}
}

func TestEncodeRejectsImpossibleShapes(t *testing.T) {
	for _, tc := range []struct {
		desc string
		t    Tensor
	}{
		{"byte size wraps to the data", Tensor{DType: F32, Shape: []int{1<<62 + 2}, Data: make([]byte, 8)}},
		{"negative dimensions whose product is the data", Tensor{DType: F32, Shape: []int{-1, -2}, Data: make([]byte, 8)}},
	} {
		if _, err := Encode(File{Tensors: map[string]Tensor{"x": tc.t}}); err == nil {
			t.Errorf("%s: encoded", tc.desc)
		}
	}
}

func TestCompare(t *testing.T) {
	tol := Tolerance{RTol: 1e-4, ATol: 1e-5}
	check := func(desc string, got, want []float64, pass bool, worst []int) {
		t.Helper()
		c, err := Compare([]int{2, 2}, got, want, tol)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pass != pass {
			t.Errorf("%s: pass %v, want %v (%+v)", desc, c.Pass, pass, c)
		}
		if worst != nil && (c.WorstIndex[0] != worst[0] || c.WorstIndex[1] != worst[1]) {
			t.Errorf("%s: worst %v, want %v", desc, c.WorstIndex, worst)
		}
	}
	want := []float64{1, 100, 0, -3}
	check("equal", want, want, true, nil)
	check("inside rtol", []float64{1, 100.009, 0, -3}, want, true, nil)
	check("outside rtol", []float64{1, 100.02, 0, -3}, want, false, []int{0, 1})
	check("atol near zero", []float64{1, 100, 9e-6, -3}, want, true, nil)
	check("outside atol", []float64{1, 100, 2e-5, -3}, want, false, []int{1, 0})
	check("NaN", []float64{1, 100, 0, math.NaN()}, want, false, []int{1, 1})
	c, _ := Compare([]int{2}, []float64{1.1, 0}, []float64{1, 0}, tol)
	if math.Abs(c.MaxAbsErr-0.1) > 1e-12 || math.Abs(c.MaxRelErr-0.1) > 1e-12 || c.Violations != 1 {
		t.Errorf("errors %+v", c)
	}
	if _, err := Compare([]int{3}, []float64{1}, []float64{1}, tol); err == nil {
		t.Error("length mismatch accepted")
	}
}

func TestBitwiseEqual(t *testing.T) {
	a := FromFloat32([]int{2}, []float32{1, 2})
	b := FromFloat32([]int{2}, []float32{1, 2.5})
	if eq, _, _ := BitwiseEqual(a, a); !eq {
		t.Fatal("a != a")
	}
	eq, d, _ := BitwiseEqual(a, b)
	if eq || d != 0.5 {
		t.Fatalf("eq %v diff %v", eq, d)
	}
}
