// Command dlcompat-plugin-gorgonia is the native Go framework plugin: the
// reference models built with gorgonia, float32, on the CPU. It is a
// static binary (no cgo), so it runs in a FROM-scratch container too.
package main

import (
	"context"
	"runtime"
	"runtime/debug"

	"github.com/dlcompat/dlcompat/core/gokit"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/plugins/gorgonia/engine"
)

// manifest: gorgonia runs in a FROM-scratch image with the plugin alone
// (scripts/images/gorgonia); it has no interpreter and no install step.
var manifest = pluginapi.Manifest{Name: "gorgonia", Images: map[string]string{"cpu": "dlcompat/gorgonia:scratch"}}

func main() { pluginapi.Serve(manifest, gokit.New(backend{})) }

type backend struct{}

// moduleVersion reads a dependency's version from the build info, so the
// plugin reports the gorgonia it was really built with.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

func (backend) Describe() pluginapi.DescribeResponse {
	return pluginapi.DescribeResponse{
		Framework: manifest.Name,
		Version:   moduleVersion("gorgonia.org/gorgonia"),
		Build: map[string]string{
			"go":     runtime.Version(),
			"tensor": moduleVersion("gorgonia.org/tensor"),
			"blas":   "gonum (pure Go)",
			"cuda":   "none (built without cgo)",
		},
		// gorgonia's CUDA backend needs cgo and the CUDA toolkit; this
		// build has neither, so it offers the CPU alone and says so.
		Devices:      []pluginapi.Device{{ID: "cpu", Kind: "cpu", Name: runtime.GOARCH + " CPU", Precisions: []string{pluginapi.PrecisionFP32}}},
		Capabilities: pluginapi.Capabilities{Models: []string{"cnn", "lstm"}, Activations: true},
		Warnings:     []string{"no GPU: gorgonia's CUDA support needs cgo and CUDA, which this static build omits"},
	}
}

func (backend) NewNet(ctx context.Context, model string, batch int, device string, params map[string]gokit.Array32) (gokit.Net, error) {
	p := make(map[string]engine.Tensor32, len(params))
	for k, v := range params {
		p[k] = engine.Tensor32(v)
	}
	n, err := engine.New(model, batch, p)
	if err != nil {
		return nil, err
	}
	return net{n}, nil
}

type net struct{ n *engine.Net }

func convert(r engine.Result) gokit.Output {
	o := gokit.Output{Logits: gokit.Array32(r.Logits), Loss: r.Loss}
	if r.Activations != nil {
		o.Activations = map[string]gokit.Array32{}
		for k, v := range r.Activations {
			o.Activations[k] = gokit.Array32(v)
		}
	}
	if r.Grads != nil {
		o.Grads = map[string]gokit.Array32{}
		for k, v := range r.Grads {
			o.Grads[k] = gokit.Array32(v)
		}
	}
	return o
}

func (n net) Forward(x gokit.Array32, want bool) (gokit.Output, error) {
	r, err := n.n.Forward(engine.Tensor32(x), want)
	return convert(r), err
}

func (n net) Backward(x gokit.Array32, labels []int) (gokit.Output, error) {
	r, err := n.n.Backward(engine.Tensor32(x), labels)
	return convert(r), err
}
