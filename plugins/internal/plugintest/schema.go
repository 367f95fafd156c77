package plugintest

// Tests that hold the plugin kits to framework.proto, the one definition
// of a response's shape: every field of DescribeResponse and RunResponse
// (and of the messages inside them) is filled by each kit, and a Python
// worker emits no key the schema lacks. This is the one place outside
// core/pluginapi that reads the generated proto code: it inspects the wire.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/dlcompat/dlcompat/core/pluginapi"
	pb "github.com/dlcompat/dlcompat/core/pluginapi/proto"
)

// Descriptors of the two responses, the roots of the schema checks.
var (
	DescribeResponseDesc = (&pb.DescribeResponse{}).ProtoReflect().Descriptor()
	RunResponseDesc      = (&pb.RunResponse{}).ProtoReflect().Descriptor()
)

// Wire serves impl in this process over go-plugin's gRPC transport, with
// the adapter of core/pluginapi, and returns a client that sees the
// responses as they travel: proto messages.
func Wire(t testing.TB, impl pluginapi.Framework) pb.FrameworkClient {
	t.Helper()
	c, _ := plugin.TestPluginGRPCConn(t, false, pluginapi.PluginSets(impl)[pluginapi.ProtocolVersion])
	t.Cleanup(func() { c.Close() })
	return pb.NewFrameworkClient(c.Conn)
}

// Dial starts the plugin binary at path (as the host does: handshake,
// versioned sets, gRPC) and returns a client that sees its responses as
// proto messages.
func Dial(t testing.TB, path string, env ...string) pb.FrameworkClient {
	t.Helper()
	cmd := osexec.Command(path)
	cmd.Env = env
	c := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginapi.Handshake,
		VersionedPlugins: pluginapi.PluginSets(nil),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(c.Kill)
	rc, err := c.Client()
	if err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	g, ok := rc.(*plugin.GRPCClient)
	if !ok {
		t.Fatalf("%s: not a gRPC plugin (%T)", path, rc)
	}
	return pb.NewFrameworkClient(g.Conn)
}

// Exercise sends c the requests that between them reach every response
// field a kit can fill: Describe, then each check on the CNN (forward with
// activations, perf with CheapPerf made adaptive with a target no series
// reaches, so that 8 iterations — the fewest with a precision — cap each
// and Timing.precision and .capped are set) and a check the plugin does not know,
// whose answer carries a message. It returns every response.
func Exercise(t testing.TB, c pb.FrameworkClient) []proto.Message {
	t.Helper()
	ctx := context.Background()
	d, err := c.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	out := []proto.Message{d}
	if d.Unavailable != "" {
		return out
	}
	weights, inputs := readReference(t, "cnn")
	p := CheapPerf
	perf := &pb.PerfOptions{Warmup: int32(p.Warmup), Iterations: int32(p.Iterations),
		LatencyBatch: int32(p.LatencyBatch), TrainBatch: int32(p.TrainBatch),
		MaxIterations: 8, MaxSeconds: 60, TargetPrecision: 1e-12}
	perf.Iterations = max(perf.Iterations, 8)
	for _, b := range p.ThroughputBatches {
		perf.ThroughputBatches = append(perf.ThroughputBatches, int32(b))
	}
	for _, check := range append(append([]string{}, pluginapi.AllChecks...), "no-such-check") {
		r, err := c.Run(ctx, &pb.RunRequest{Model: "cnn", Check: check, Device: "cpu", Precision: pluginapi.PrecisionFP32,
			Weights: weights, Inputs: inputs, WantActivations: true, Perf: perf})
		if err != nil {
			t.Fatalf("Run %s: %v", check, err)
		}
		out = append(out, r)
	}
	return out
}

func readReference(t testing.TB, model string) (weights, inputs []byte) {
	t.Helper()
	var err error
	if weights, err = os.ReadFile(filepath.Join(ReferenceDir(), model+".weights.safetensors")); err != nil {
		t.Fatal(err)
	}
	if inputs, err = os.ReadFile(filepath.Join(ReferenceDir(), model+".input.safetensors")); err != nil {
		t.Fatal(err)
	}
	return weights, inputs
}

// Unfilled lists the fields of DescribeResponse and RunResponse, and of
// every message inside them, that none of msgs has set (proto3: a field
// at its zero value is not set), less those in allowed, which maps a
// field's full name ("dlcompat.plugin.v1.Device.uuid") to why this kit
// legitimately leaves it empty. An allowed field that is filled after all
// is listed too: the allow-list must not outlive its reason.
func Unfilled(msgs []proto.Message, allowed map[string]string) []string {
	seen := map[protoreflect.FullName]bool{}
	for _, m := range msgs {
		markSet(m.ProtoReflect(), seen)
	}
	var out []string
	visited := map[protoreflect.FullName]bool{}
	fields := map[string]bool{}
	for _, md := range []protoreflect.MessageDescriptor{DescribeResponseDesc, RunResponseDesc} {
		for _, f := range schemaFields(md, visited) {
			fields[string(f)] = true
			why, ok := allowed[string(f)]
			switch {
			case !seen[f] && !ok:
				out = append(out, fmt.Sprintf("%s: no response sets it", f))
			case seen[f] && ok:
				out = append(out, fmt.Sprintf("%s: set, but allowed to stay empty (%q): drop it from the allow-list", f, why))
			}
		}
	}
	for f := range allowed {
		if !fields[f] {
			out = append(out, fmt.Sprintf("%s: on the allow-list but not a response field", f))
		}
	}
	sort.Strings(out)
	return out
}

// schemaFields lists md's fields and those of the messages inside it
// (not map entries: a map is one field), depth first; visited records the
// messages walked.
func schemaFields(md protoreflect.MessageDescriptor, visited map[protoreflect.FullName]bool) []protoreflect.FullName {
	if visited[md.FullName()] {
		return nil
	}
	visited[md.FullName()] = true
	var out []protoreflect.FullName
	fs := md.Fields()
	for i := 0; i < fs.Len(); i++ {
		f := fs.Get(i)
		out = append(out, f.FullName())
		if f.Message() != nil && !f.IsMap() {
			out = append(out, schemaFields(f.Message(), visited)...)
		}
	}
	return out
}

func markSet(m protoreflect.Message, seen map[protoreflect.FullName]bool) {
	m.Range(func(f protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		seen[f.FullName()] = true
		switch {
		case f.IsMap() || f.Message() == nil:
		case f.IsList():
			for i := 0; i < v.List().Len(); i++ {
				markSet(v.List().Get(i).Message(), seen)
			}
		default:
			markSet(v.Message(), seen)
		}
		return true
	})
}

// UnknownKeys lists the keys of the JSON object raw, at any depth, that
// are not fields of md by their schema name (framework.proto's spelling,
// which the Python workers use), each with its path from where.
func UnknownKeys(md protoreflect.MessageDescriptor, raw json.RawMessage, where string) []string {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return []string{fmt.Sprintf("%s: not a JSON object of %s: %v", where, md.FullName(), err)}
	}
	var out []string
	for k, v := range obj {
		path := where + "." + k
		f := md.Fields().ByTextName(k)
		switch {
		case f == nil:
			out = append(out, fmt.Sprintf("%s: %s has no field %q", path, md.FullName(), k))
		case f.Message() == nil || f.IsMap() || string(v) == "null":
		case f.IsList():
			var items []json.RawMessage
			if err := json.Unmarshal(v, &items); err != nil {
				out = append(out, fmt.Sprintf("%s: not a list: %v", path, err))
			}
			for i, it := range items {
				out = append(out, UnknownKeys(f.Message(), it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		default:
			out = append(out, UnknownKeys(f.Message(), v, path)...)
		}
	}
	sort.Strings(out)
	return out
}
