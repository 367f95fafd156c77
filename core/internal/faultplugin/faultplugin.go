// Package faultplugin is a plugin for the host's own tests: it computes
// with the float64 oracle (rounded to float32) and misbehaves on request,
// so tests of the runner and the command line can drive a real go-plugin
// subprocess through crashes, hangs, wrong numbers and nondeterminism.
// It is a fake of our own seam (a plugin), never a stand-in for a
// framework under test.
//
// Faults come from the DLCOMPAT_FAULT environment variable, a
// comma-separated list of:
//
//	crash=MODEL/CHECK    panic (the process dies) when running that cell
//	hang=MODEL/CHECK     block forever in that cell
//	param=NAME:DELTA     add DELTA to every value of parameter NAME
//	nondeterministic     perturb the second of two identical calls
//	error=MODEL/CHECK    return a framework error for that cell
//	hangdescribe         block forever in Describe (a framework import
//	                     that never ends)
//	nodevices            list no device (a framework that cannot look)
//	badtiming=VALUE      make the first perf sample VALUE (NaN, +Inf, 1e300…)
//	                     and the compute time VALUE too (a broken timer)
//	bigmessage=BYTES     fail every cell with an error message of BYTES bytes
//	gpu=ID|UUID          also offer GPU ID (gpu:0) with that UUID, computing
//	                     on the CPU all the same: for host tests whose GPU
//	                     is a mock NVML device (telemetry, preflight)
//	nowindow             report no timed window with the perf series (a
//	                     plugin that predates them)
package faultplugin

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-plugin"

	"github.com/dlcompat/dlcompat/core/gokit"
	"github.com/dlcompat/dlcompat/core/pluginapi"
	"github.com/dlcompat/dlcompat/core/reference"
)

// EnvServe, when set in a test binary's environment, makes it serve the
// plugin instead of running tests (the helper-process pattern).
const EnvServe = "DLCOMPAT_FAULTPLUGIN_SERVE"

// EnvFault holds the faults.
const EnvFault = "DLCOMPAT_FAULT"

// EnvCallLog, when set, names a file to which the plugin appends a line
// per model call ("forward" or "backward"), so that a test can count
// what a check really ran (warm-ups included).
const EnvCallLog = "DLCOMPAT_FAULT_CALLS"

// EnvProtocols, when set (e.g. "1,2" or "2"), makes the plugin offer
// exactly those protocol versions, to test the host's negotiation.
const EnvProtocols = "DLCOMPAT_FAULTPLUGIN_PROTOCOLS"

// MaybeServe serves the plugin and exits if EnvServe is set. Call it
// first thing in TestMain.
func MaybeServe() {
	if os.Getenv(EnvServe) == "" {
		return
	}
	b := &backend{faults: os.Getenv(EnvFault)}
	var impl pluginapi.Framework = &tampered{Framework: gokit.New(b), b: b}
	if vs := os.Getenv(EnvProtocols); vs != "" {
		sets := map[int]plugin.PluginSet{}
		for _, v := range strings.Split(vs, ",") {
			n, _ := strconv.Atoi(v)
			sets[n] = plugin.PluginSet{pluginapi.PluginName: &pluginapi.GRPCPlugin{Impl: impl}}
		}
		plugin.Serve(&plugin.ServeConfig{HandshakeConfig: pluginapi.Handshake, VersionedPlugins: sets, GRPCServer: plugin.DefaultGRPCServer})
		os.Exit(0)
	}
	pluginapi.Serve(pluginapi.Manifest{Name: "oracle"}, impl)
	os.Exit(0)
}

// tampered alters what the kit answers, for the faults no model call can
// cause.
type tampered struct {
	pluginapi.Framework
	b *backend
}

func (t *tampered) Run(ctx context.Context, req pluginapi.RunRequest) (pluginapi.RunResponse, error) {
	resp, err := t.Framework.Run(ctx, req)
	for _, f := range strings.Split(t.b.faults, ",") {
		if v, ok := strings.CutPrefix(f, "badtiming="); ok && len(resp.Timings) > 0 {
			x, _ := strconv.ParseFloat(v, 64)
			resp.Timings[0].Samples[0], resp.ComputeSeconds = x, x
		}
		if f == "nowindow" {
			for i := range resp.Timings {
				resp.Timings[i].WindowStart, resp.Timings[i].WindowEnd = time.Time{}, time.Time{}
			}
		}
		if v, ok := strings.CutPrefix(f, "bigmessage="); ok {
			n, _ := strconv.Atoi(v)
			resp = pluginapi.RunResponse{Status: pluginapi.StatusError, Message: strings.Repeat("x", n), Warnings: []string{strings.Repeat("w", n)}}
		}
	}
	return resp, err
}

type backend struct {
	faults string
	calls  atomic.Int64
}

func (b *backend) Describe() pluginapi.DescribeResponse {
	if b.fault("hangdescribe", "") {
		fmt.Fprintln(os.Stderr, "faultplugin: hanging in Describe")
		select {}
	}
	d := pluginapi.DescribeResponse{
		Framework: "oracle", Version: "test",
		Devices:      []pluginapi.Device{{ID: "cpu", Kind: "cpu", Name: "host CPU"}},
		Capabilities: pluginapi.Capabilities{Models: reference.ModelNames(), Activations: true},
	}
	for _, f := range strings.Split(b.faults, ",") {
		if v, ok := strings.CutPrefix(f, "gpu="); ok {
			id, uuid, _ := strings.Cut(v, "|")
			d.Devices = append(d.Devices, pluginapi.Device{ID: id, Kind: "gpu", Name: "mock NVML GPU", UUID: uuid})
		}
	}
	if b.fault("nodevices", "") {
		d.Devices = nil
	}
	return d
}

func (b *backend) fault(kind, arg string) bool {
	for _, f := range strings.Split(b.faults, ",") {
		if f == kind+"="+arg || (arg == "" && f == kind) {
			return true
		}
	}
	return false
}

// net computes with the oracle. Faults key on the model and on the
// operation (forward or backward), which every check that runs it trips.
type net struct {
	b      *backend
	model  reference.Model
	params map[string]reference.Array
}

func (b *backend) NewNet(ctx context.Context, model string, batch int, device string, params map[string]gokit.Array32) (gokit.Net, error) {
	m, err := reference.ParseModel(model)
	if err != nil {
		return nil, err
	}
	p := map[string]reference.Array{}
	for name, a := range params {
		d := make([]float64, len(a.Data))
		for i, v := range a.Data {
			d[i] = float64(v)
		}
		p[name] = reference.Array{Shape: a.Shape, Data: d}
	}
	for _, f := range strings.Split(b.faults, ",") {
		if rest, ok := strings.CutPrefix(f, "param="); ok {
			name, delta, _ := strings.Cut(rest, ":")
			dv, err := strconv.ParseFloat(delta, 64)
			if err != nil {
				return nil, fmt.Errorf("bad fault %q", f)
			}
			for i := range p[name].Data {
				p[name].Data[i] += dv
			}
		}
	}
	return &net{b: b, model: m, params: p}, nil
}

func (n *net) trip(check string) error {
	arg := string(n.model) + "/" + check
	switch {
	case n.b.fault("crash", arg):
		fmt.Fprintf(os.Stderr, "faultplugin: about to crash in %s\n", arg)
		panic("faultplugin: simulated framework crash in " + arg)
	case n.b.fault("hang", arg):
		fmt.Fprintf(os.Stderr, "faultplugin: hanging in %s\n", arg)
		select {}
	case n.b.fault("error", arg):
		return fmt.Errorf("faultplugin: simulated framework error in %s", arg)
	}
	return nil
}

func to32(a reference.Array) gokit.Array32 {
	out := gokit.Array32{Shape: a.Shape, Data: make([]float32, len(a.Data))}
	for i, v := range a.Data {
		out.Data[i] = float32(v)
	}
	return out
}

func from32(a gokit.Array32) reference.Array {
	d := make([]float64, len(a.Data))
	for i, v := range a.Data {
		d[i] = float64(v)
	}
	return reference.Array{Shape: a.Shape, Data: d}
}

func (n *net) perturb(o *gokit.Output) {
	if n.b.fault("nondeterministic", "") && n.b.calls.Add(1)%2 == 0 {
		if len(o.Logits.Data) > 0 {
			o.Logits.Data[0] = math.Nextafter32(o.Logits.Data[0], float32(math.Inf(1)))
		}
	}
}

// logCall appends op to the EnvCallLog file, if one is named.
func logCall(op string) {
	path := os.Getenv(EnvCallLog)
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		panic("faultplugin: call log: " + err.Error())
	}
	defer f.Close()
	fmt.Fprintln(f, op)
}

func (n *net) Forward(x gokit.Array32, want bool) (gokit.Output, error) {
	logCall("forward")
	if err := n.trip("forward"); err != nil {
		return gokit.Output{}, err
	}
	out, err := reference.Forward(n.model, n.params, from32(x))
	if err != nil {
		return gokit.Output{}, err
	}
	o := gokit.Output{Logits: to32(out.Logits)}
	if want {
		o.Activations = map[string]gokit.Array32{}
		for k, v := range out.Activations {
			o.Activations[k] = to32(v)
		}
	}
	n.perturb(&o)
	return o, nil
}

func (n *net) Backward(x gokit.Array32, labels []int) (gokit.Output, error) {
	logCall("backward")
	if err := n.trip("backward"); err != nil {
		return gokit.Output{}, err
	}
	g, err := reference.Backward(n.model, n.params, from32(x), labels)
	if err != nil {
		return gokit.Output{}, err
	}
	o := gokit.Output{Logits: to32(g.Logits), Loss: float32(g.Loss), Grads: map[string]gokit.Array32{}}
	for k, v := range g.Grads {
		o.Grads[k] = to32(v)
	}
	return o, nil
}
