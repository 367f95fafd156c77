package gokit

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/tensor"
)

// Array32 is a float32 array in row-major order.
type Array32 struct {
	Shape []int
	Data  []float32
}

// Output is what a Net returns. Backward fills Loss and Grads.
type Output struct {
	Logits      Array32
	Activations map[string]Array32
	Loss        float32
	Grads       map[string]Array32
}

// Net is one model at one batch size, ready to run.
type Net interface {
	Forward(input Array32, wantActivations bool) (Output, error)
	Backward(input Array32, labels []int) (Output, error)
}

// Backend is a framework implemented in Go.
type Backend interface {
	// Describe reports the framework; gokit fills the checks it implements.
	Describe() pluginapi.DescribeResponse
	// NewNet builds model at batch with the given parameters (canonical
	// names, PyTorch layout).
	NewNet(ctx context.Context, model string, batch int, device string, params map[string]Array32) (Net, error)
}

// New wraps a Backend as a plugin Framework.
func New(b Backend) pluginapi.Framework { return &framework{b: b} }

type framework struct{ b Backend }

func (f *framework) Describe(ctx context.Context, _ pluginapi.DescribeRequest) (pluginapi.DescribeResponse, error) {
	d := f.b.Describe()
	if len(d.Capabilities.Checks) == 0 {
		d.Capabilities.Checks = pluginapi.AllChecks
	}
	if len(d.Capabilities.Precisions) == 0 {
		d.Capabilities.Precisions = []string{pluginapi.PrecisionFP32}
	}
	return d, nil
}

// failed turns a framework problem into data: status "error" with the
// message, as docs/spec.md §5.6 says. The Go error stays for transport trouble.
func failed(format string, a ...any) (pluginapi.RunResponse, error) {
	return pluginapi.RunResponse{Status: pluginapi.StatusError, Message: fmt.Sprintf(format, a...)}, nil
}

func (f *framework) Run(ctx context.Context, req pluginapi.RunRequest) (pluginapi.RunResponse, error) {
	if req.Precision != "" && req.Precision != pluginapi.PrecisionFP32 {
		// The host plans only the precisions Describe declares: this is a
		// host that did not ask.
		return pluginapi.RunResponse{Status: pluginapi.StatusSkip, Message: "a Go kit backend computes in float32 only (precision " + req.Precision + " asked)"}, nil
	}
	params, input, labels, err := decodeRequest(req)
	if err != nil {
		return failed("bad request: %v", err)
	}
	batch := input.Shape[0]
	out := map[string]tensor.Tensor{}
	var resp pluginapi.RunResponse
	// Compute time: from the decoded request to the framework's last
	// result, so decoding and encoding tensors count as the harness's.
	start := time.Now()
	mem := startCallMemory()
	switch req.Check {
	case pluginapi.CheckForward:
		net, err := f.b.NewNet(ctx, req.Model, batch, req.Device, params)
		if err != nil {
			return failed("%v", err)
		}
		o, err := net.Forward(input, req.WantActivations)
		if err != nil {
			return failed("forward: %v", err)
		}
		putForward(out, "", o)
	case pluginapi.CheckBackward:
		net, err := f.b.NewNet(ctx, req.Model, batch, req.Device, params)
		if err != nil {
			return failed("%v", err)
		}
		o, err := net.Backward(input, labels)
		if err != nil {
			return failed("backward: %v", err)
		}
		putBackward(out, "", o)
	case pluginapi.CheckDeterminism:
		// Twice in one process, on one net: the host compares bit for bit.
		net, err := f.b.NewNet(ctx, req.Model, batch, req.Device, params)
		if err != nil {
			return failed("%v", err)
		}
		for _, prefix := range []string{"", pluginapi.RepeatPrefix} {
			fo, err := net.Forward(input, false)
			if err != nil {
				return failed("forward: %v", err)
			}
			bo, err := net.Backward(input, labels)
			if err != nil {
				return failed("backward: %v", err)
			}
			putForward(out, prefix, fo)
			putBackward(out, prefix, bo)
		}
	case pluginapi.CheckPerf:
		timings, err := f.perf(ctx, req, params, input, labels)
		if err != nil {
			return failed("perf: %v", err)
		}
		resp.Timings = timings
	default:
		return failed("unknown check %q", req.Check)
	}
	resp.ComputeSeconds = time.Since(start).Seconds()
	b, err := tensor.Encode(tensor.File{Tensors: out})
	if err != nil {
		return failed("encoding outputs: %v", err)
	}
	resp.Status = pluginapi.StatusOK
	resp.Outputs = b
	// Array32 is all a backend can return: float32 is the mode in effect.
	resp.PrecisionInEffect = pluginapi.PrecisionFP32
	resp.PrecisionEvidence = map[string]string{pluginapi.EvidenceOutputDType: "float32"}
	resp.PeakMemoryBytes, resp.MemoryKind = mem.peak()
	return resp, nil
}

func putForward(out map[string]tensor.Tensor, prefix string, o Output) {
	out[prefix+pluginapi.OutputLogits] = tensor.FromFloat32(o.Logits.Shape, o.Logits.Data)
	for name, a := range o.Activations {
		out[prefix+pluginapi.ActivationPrefix+name] = tensor.FromFloat32(a.Shape, a.Data)
	}
}

func putBackward(out map[string]tensor.Tensor, prefix string, o Output) {
	out[prefix+pluginapi.OutputLoss] = tensor.FromFloat32([]int{1}, []float32{o.Loss})
	for name, g := range o.Grads {
		out[prefix+pluginapi.GradPrefix+name] = tensor.FromFloat32(g.Shape, g.Data)
	}
}

func decodeRequest(req pluginapi.RunRequest) (map[string]Array32, Array32, []int, error) {
	wf, err := tensor.Decode(req.Weights)
	if err != nil {
		return nil, Array32{}, nil, fmt.Errorf("weights: %w", err)
	}
	params := map[string]Array32{}
	for name, t := range wf.Tensors {
		v, err := t.Float32s()
		if err != nil {
			return nil, Array32{}, nil, fmt.Errorf("weights %s: %w", name, err)
		}
		params[name] = Array32{Shape: t.Shape, Data: v}
	}
	inf, err := tensor.Decode(req.Inputs)
	if err != nil {
		return nil, Array32{}, nil, fmt.Errorf("inputs: %w", err)
	}
	it, ok := inf.Tensors[pluginapi.InputName]
	if !ok || len(it.Shape) == 0 {
		return nil, Array32{}, nil, fmt.Errorf("inputs: no %q tensor", pluginapi.InputName)
	}
	iv, err := it.Float32s()
	if err != nil {
		return nil, Array32{}, nil, fmt.Errorf("inputs: %w", err)
	}
	var labels []int
	if lt, ok := inf.Tensors[pluginapi.LabelsName]; ok {
		lv, err := lt.Int64s()
		if err != nil {
			return nil, Array32{}, nil, fmt.Errorf("labels: %w", err)
		}
		for _, l := range lv {
			labels = append(labels, int(l))
		}
	}
	return params, Array32{Shape: it.Shape, Data: iv}, labels, nil
}

// tile repeats the samples of x (and labels) to reach batch n: perf needs
// batch sizes the reference input does not have, and only speed matters.
func tile(x Array32, labels []int, n int) (Array32, []int) {
	per := len(x.Data) / x.Shape[0]
	out := Array32{Shape: append([]int{n}, x.Shape[1:]...), Data: make([]float32, n*per)}
	ls := make([]int, n)
	for i := 0; i < n; i++ {
		src := i % x.Shape[0]
		copy(out.Data[i*per:(i+1)*per], x.Data[src*per:(src+1)*per])
		if len(labels) > 0 {
			ls[i] = labels[src%len(labels)]
		}
	}
	return out, ls
}

func (f *framework) perf(ctx context.Context, req pluginapi.RunRequest, params map[string]Array32, input Array32, labels []int) ([]pluginapi.Timing, error) {
	opt := req.Perf
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	type series struct {
		name  string
		batch int
		train bool
	}
	plan := []series{{pluginapi.TimingLatency, opt.LatencyBatch, false}}
	batches := append([]int(nil), opt.ThroughputBatches...)
	sort.Ints(batches)
	for _, b := range batches {
		plan = append(plan, series{pluginapi.TimingThroughput, b, false})
	}
	plan = append(plan, series{pluginapi.TimingTrainStep, opt.TrainBatch, true})
	var out []pluginapi.Timing
	for _, s := range plan {
		net, err := f.b.NewNet(ctx, req.Model, s.batch, req.Device, params)
		if err != nil {
			return nil, err
		}
		x, ls := tile(input, labels, s.batch)
		call := func() error {
			if s.train {
				_, err := net.Backward(x, ls)
				return err
			}
			_, err := net.Forward(x, false)
			return err
		}
		for i := 0; i < opt.Warmup; i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := call(); err != nil {
				return nil, err
			}
		}
		// Timed iterations until opt.TimingDone (docs/spec.md §7.1).
		samples := make([]float64, 0, opt.Iterations)
		first := time.Now() // the timed window's start, for the host's telemetry
		var spent, precision float64
		capped := false
		for {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			start := time.Now()
			if err := call(); err != nil {
				return nil, err
			}
			dt := time.Since(start).Seconds()
			samples = append(samples, dt)
			spent += dt
			var done bool
			if done, capped, precision = opt.TimingDone(samples, spent); done {
				break
			}
		}
		out = append(out, pluginapi.Timing{Name: s.name, Unit: "s", Batch: s.batch, Samples: samples,
			WindowStart: first, WindowEnd: time.Now(), Precision: precision, Capped: capped, Timer: pluginapi.TimerHost})
	}
	return out, nil
}
