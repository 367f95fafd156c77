package device

import (
	"encoding/json"
	"reflect"
	"sort"
	"testing"
)

// TestMatrixKeepsEveryField guards the copy in Matrix: device.Device and
// matrix.Device are two structs (matrix may not import core), so a field
// added to one and not the other must fail here, not vanish from results.
func TestMatrixKeepsEveryField(t *testing.T) {
	var d Device
	fill(reflect.ValueOf(&d).Elem())
	keys := func(v any) []string {
		b, _ := json.Marshal(v)
		var m map[string]any
		json.Unmarshal(b, &m)
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	want, got := keys(d), keys(d.Matrix())
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("device.Device fields %v\nmatrix.Device fields %v", want, got)
	}
	b1, _ := json.Marshal(d)
	b2, _ := json.Marshal(d.Matrix())
	if string(b1) != string(b2) {
		t.Fatalf("values differ:\n%s\n%s", b1, b2)
	}
}

// fill sets every field to a non-zero value.
func fill(v reflect.Value) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString("x" + v.Type().Field(i).Name)
		case reflect.Int, reflect.Int64:
			f.SetInt(int64(i + 1))
		case reflect.Uint32, reflect.Uint64:
			f.SetUint(uint64(i + 1))
		case reflect.Float64:
			f.SetFloat(float64(i) + 0.5)
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"note"}))
		default:
			panic("fill: add a case for " + f.Kind().String())
		}
	}
}
