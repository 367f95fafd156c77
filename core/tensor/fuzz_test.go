package tensor

import (
	"bytes"
	"encoding/binary"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

// addReferenceSeeds adds every safetensors file under testdata/reference
// (inputs, weights, golden outputs) to f's seed corpus.
func addReferenceSeeds(f *testing.F) {
	f.Helper()
	for _, glob := range []string{"*.safetensors", "golden/*.safetensors"} {
		paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "reference", glob))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzDecode: Decode never panics, and what it accepts is exactly what
// its header claims (each tensor's bytes are its shape's element count
// times its dtype's size, counted without overflow) and encodes back to a
// file that decodes to the same tensors.
func FuzzDecode(f *testing.F) {
	addReferenceSeeds(f)
	good, _ := Encode(sample())
	f.Add(good)
	f.Add(good[:20])
	// A shape whose byte size wraps to the 8 data bytes (issue 9, item 8).
	h := `{"x":{"dtype":"F32","shape":[4611686018427387906],"data_offsets":[0,8]}}`
	wrap := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	f.Add(append(append(wrap, h...), make([]byte, 8)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			return
		}
		for name, tn := range file.Tensors {
			want := big.NewInt(int64(tn.DType.size()))
			for _, d := range tn.Shape {
				if d < 0 {
					t.Fatalf("tensor %q: accepted negative shape %v", name, tn.Shape)
				}
				want.Mul(want, big.NewInt(int64(d)))
			}
			if want.Cmp(big.NewInt(int64(len(tn.Data)))) != 0 {
				t.Fatalf("tensor %q: %s%v holds %v bytes, accepted with %d", name, tn.DType, tn.Shape, want, len(tn.Data))
			}
		}
		enc, err := Encode(file)
		if err != nil {
			t.Fatalf("decoded file does not re-encode: %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) || len(again.Metadata) != len(file.Metadata) {
			t.Fatalf("round trip changed the file: %d→%d tensors, %d→%d metadata", len(file.Tensors), len(again.Tensors), len(file.Metadata), len(again.Metadata))
		}
		for name, tn := range file.Tensors {
			a := again.Tensors[name]
			if a.DType != tn.DType || !SameShape(a.Shape, tn.Shape) || !bytes.Equal(a.Data, tn.Data) {
				t.Fatalf("round trip changed tensor %q", name)
			}
		}
		for k, v := range file.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("round trip changed metadata %q", k)
			}
		}
	})
}
