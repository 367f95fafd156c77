package reference

import (
	"fmt"
	"sort"
	"strings"
)

// Model names a reference model of docs/spec.md §1.
type Model string

const (
	CNN  Model = "cnn"
	LSTM Model = "lstm"
)

// Models lists every reference model, in the order reports use.
var Models = []Model{CNN, LSTM}

// ParseModel accepts a model name and rejects anything else with an error
// that lists the valid names.
func ParseModel(s string) (Model, error) {
	for _, m := range Models {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown model %q (valid: %s)", s, strings.Join(ModelNames(), ", "))
}

// ModelNames returns the valid model names.
func ModelNames() []string {
	out := make([]string, len(Models))
	for i, m := range Models {
		out[i] = string(m)
	}
	return out
}

// Sizes of the reference models (docs/spec.md §1).
const (
	Classes = 10

	ImageChannels = 3
	ImageSize     = 28

	LSTMSteps  = 28
	LSTMInput  = 28
	LSTMHidden = 128
	LSTMLayers = 2
)

// ParamSpec describes one parameter: its canonical name (the key in every
// weights file and gradient map), its PyTorch-layout shape and the fan-in
// that sets its initialisation bound U(-1/√fan_in, 1/√fan_in).
type ParamSpec struct {
	Name  string
	Shape []int
	FanIn int
}

// Params returns the parameters of a model in canonical order.
func Params(m Model) []ParamSpec {
	switch m {
	case CNN:
		return []ParamSpec{
			{"conv1.weight", []int{32, 3, 3, 3}, 3 * 9},
			{"conv1.bias", []int{32}, 3 * 9},
			{"conv2.weight", []int{64, 32, 3, 3}, 32 * 9},
			{"conv2.bias", []int{64}, 32 * 9},
			{"fc1.weight", []int{128, 3136}, 3136},
			{"fc1.bias", []int{128}, 3136},
			{"fc2.weight", []int{10, 128}, 128},
			{"fc2.bias", []int{10}, 128},
		}
	case LSTM:
		const h = LSTMHidden
		var ps []ParamSpec
		for l := 0; l < LSTMLayers; l++ {
			in := LSTMInput
			if l > 0 {
				in = h
			}
			p := fmt.Sprintf("layers.%d.", l)
			ps = append(ps,
				ParamSpec{p + "i2h.weight", []int{4 * h, in}, in},
				ParamSpec{p + "i2h.bias", []int{4 * h}, in},
				ParamSpec{p + "h2h.weight", []int{4 * h, h}, h},
				ParamSpec{p + "h2h.bias", []int{4 * h}, h},
			)
		}
		return append(ps,
			ParamSpec{"fc.weight", []int{Classes, h}, h},
			ParamSpec{"fc.bias", []int{Classes}, h},
		)
	}
	return nil
}

// InputShape is the shape of a model's input at batch n.
func InputShape(m Model, n int) []int {
	if m == CNN {
		return []int{n, ImageChannels, ImageSize, ImageSize}
	}
	return []int{n, LSTMSteps, LSTMInput}
}

// Activations names the per-layer outputs of a model, in forward order.
// A plugin that returns activations uses exactly these names; the first of
// them that diverges from the oracle is reported as the failing layer.
func Activations(m Model) []string {
	if m == CNN {
		return []string{"conv1", "pool1", "conv2", "pool2", "fc1", "fc2"}
	}
	return []string{"layers.0", "layers.1", "fc"}
}

// FLOPsPerSample is the forward floating-point operations of one sample
// (2 × the multiply-accumulates of docs/spec.md §1.3). A training step counts 3×.
func FLOPsPerSample(m Model) float64 {
	if m == CNN {
		return 2 * 4692736
	}
	// Per step and layer: i2h (4H×in) + h2h (4H×H) MACs; head H×10.
	const h = LSTMHidden
	macs := LSTMSteps*(4*h*LSTMInput+4*h*h) + LSTMSteps*(4*h*h+4*h*h) + h*Classes
	return 2 * float64(macs)
}

// ValidateParams checks that params holds exactly the model's parameters
// with the right shapes.
func ValidateParams(m Model, params map[string]Array) error {
	specs := Params(m)
	if specs == nil {
		_, err := ParseModel(string(m))
		return err
	}
	known := map[string]bool{}
	for _, s := range specs {
		known[s.Name] = true
		a, ok := params[s.Name]
		if !ok {
			return fmt.Errorf("%s: missing parameter %q", m, s.Name)
		}
		if err := checkShape(s.Name, a.Shape, s.Shape...); err != nil {
			return err
		}
		if len(a.Data) != numel(s.Shape) {
			return fmt.Errorf("%s: %d values for shape %v", s.Name, len(a.Data), s.Shape)
		}
	}
	var extra []string
	for k := range params {
		if !known[k] {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("%s: unexpected parameters %s", m, strings.Join(extra, ", "))
	}
	return nil
}
