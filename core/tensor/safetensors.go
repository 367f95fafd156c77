package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"sort"
	"strconv"
)

// MaxHeaderBytes bounds the JSON header, as the reference implementation
// does, so a lying length cannot make us allocate gigabytes.
const MaxHeaderBytes = 100 << 20

// ErrFormat marks every malformed-file error, so callers can tell bad input
// (exit 2) from I/O trouble.
var ErrFormat = errors.New("malformed safetensors")

// File is the content of one safetensors file.
type File struct {
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names, sorted.
func (f File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

type headerEntry struct {
	DType   DType   `json:"dtype"`
	Shape   []int   `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// Encode returns the canonical safetensors bytes of f.
func Encode(f File) ([]byte, error) {
	names := f.Names()
	// Build the header by hand so key order (sorted, __metadata__ first) and
	// spacing are fixed: the bytes are part of the reference contract.
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	if len(f.Metadata) > 0 {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		hdr.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			vb, _ := json.Marshal(f.Metadata[k])
			hdr.Write(kb)
			hdr.WriteByte(':')
			hdr.Write(vb)
		}
		hdr.WriteByte('}')
		first = false
	}
	var offset int64
	for _, n := range names {
		t := f.Tensors[n]
		if t.DType.size() == 0 {
			return nil, fmt.Errorf("tensor %q: unsupported dtype %q", n, t.DType)
		}
		want, ok := byteSize(t.Shape, t.DType.size())
		if !ok {
			return nil, fmt.Errorf("tensor %q: impossible shape %v (a negative dimension, or more than 2^63 bytes of %s)", n, t.Shape, t.DType)
		}
		if want != int64(len(t.Data)) {
			return nil, fmt.Errorf("tensor %q: %d bytes for %s%v, want %d", n, len(t.Data), t.DType, t.Shape, want)
		}
		if !first {
			hdr.WriteByte(',')
		}
		first = false
		nb, _ := json.Marshal(n)
		hdr.Write(nb)
		shape := make([]string, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = strconv.Itoa(d)
		}
		fmt.Fprintf(&hdr, `:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}`,
			t.DType, join(shape), offset, offset+int64(len(t.Data)))
		offset += int64(len(t.Data))
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := make([]byte, 8, 8+hdr.Len()+int(offset))
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, n := range names {
		out = append(out, f.Tensors[n].Data...)
	}
	return out, nil
}

// byteSize is the number of bytes a tensor of shape and element size
// holds, or false when a dimension is negative or the product does not fit
// an int64. Every multiplication is checked: an unchecked one wraps, and a
// shape of 2^62+2 float32s would then claim to be 8 bytes. A zero
// dimension makes the tensor empty whatever the others are.
func byteSize(shape []int, size int) (int64, bool) {
	for _, d := range shape {
		if d < 0 {
			return 0, false
		}
		if d == 0 {
			return 0, size >= 0
		}
	}
	if size < 0 {
		return 0, false
	}
	n := uint64(size)
	for _, d := range shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		n = lo
	}
	return int64(n), true
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// Decode parses safetensors bytes, validating the header against the data:
// known dtype, non-negative shape, offsets in order, inside the buffer,
// matching the shape's byte size, and covering the data with no gap.
func Decode(b []byte) (File, error) {
	if len(b) < 8 {
		return File{}, fmt.Errorf("%w: %d bytes, shorter than the 8-byte header length", ErrFormat, len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderBytes || n > uint64(len(b)-8) {
		return File{}, fmt.Errorf("%w: header length %d exceeds the file (%d bytes) or the %d-byte limit", ErrFormat, n, len(b), MaxHeaderBytes)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil || raw == nil {
		return File{}, fmt.Errorf("%w: header is not a JSON object: %v", ErrFormat, err)
	}
	data := b[8+n:]
	f := File{Tensors: map[string]Tensor{}}
	type span struct {
		name   string
		lo, hi int64
	}
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return File{}, fmt.Errorf("%w: __metadata__ must map strings to strings: %v", ErrFormat, err)
			}
			continue
		}
		var e headerEntry
		dec := json.NewDecoder(bytes.NewReader(msg))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return File{}, fmt.Errorf("%w: tensor %q: %v", ErrFormat, name, err)
		}
		size := e.DType.size()
		if size == 0 {
			return File{}, fmt.Errorf("%w: tensor %q: unsupported dtype %q (F32, F64, I64)", ErrFormat, name, e.DType)
		}
		want, ok := byteSize(e.Shape, size)
		if !ok {
			return File{}, fmt.Errorf("%w: tensor %q: impossible shape %v (a negative dimension, or more than 2^63 bytes of %s)", ErrFormat, name, e.Shape, e.DType)
		}
		if len(e.Offsets) != 2 {
			return File{}, fmt.Errorf("%w: tensor %q: data_offsets has %d values, want [begin, end]", ErrFormat, name, len(e.Offsets))
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return File{}, fmt.Errorf("%w: tensor %q: data offsets [%d,%d] outside the %d data bytes (truncated file?)", ErrFormat, name, lo, hi, len(data))
		}
		if hi-lo != want {
			return File{}, fmt.Errorf("%w: tensor %q: %d bytes for %s%v, want %d", ErrFormat, name, hi-lo, e.DType, e.Shape, want)
		}
		f.Tensors[name] = Tensor{DType: e.DType, Shape: append([]int{}, e.Shape...), Data: data[lo:hi:hi]}
		spans = append(spans, span{name, lo, hi})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].lo < spans[j].lo })
	var at int64
	for _, s := range spans {
		if s.lo != at {
			return File{}, fmt.Errorf("%w: tensor %q starts at byte %d, want %d (overlap or gap)", ErrFormat, s.name, s.lo, at)
		}
		at = s.hi
	}
	if at != int64(len(data)) {
		return File{}, fmt.Errorf("%w: %d trailing data bytes no tensor claims", ErrFormat, int64(len(data))-at)
	}
	return f, nil
}

// ReadFile decodes the safetensors file at path; errors name the file.
func ReadFile(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	f, err := Decode(b)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
