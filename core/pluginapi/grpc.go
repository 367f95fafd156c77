package pluginapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/dlcompat/dlcompat/core/pluginapi/proto"
)

// GRPCPlugin adapts a Framework to go-plugin's gRPC transport.
type GRPCPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Framework // plugin side only
}

var _ plugin.GRPCPlugin = (*GRPCPlugin)(nil)

func (p *GRPCPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterFrameworkServer(s, &grpcServer{impl: p.Impl})
	return nil
}

func (p *GRPCPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &grpcClient{c: pb.NewFrameworkClient(c)}, nil
}

// grpcClient is the host's view of a plugin.
type grpcClient struct{ c pb.FrameworkClient }

var _ Framework = (*grpcClient)(nil)

// callError names the call that failed, so "rpc error: code = Unavailable"
// becomes "plugin Run: connection lost (...)".
func callError(call string, err error) error {
	if s, ok := status.FromError(err); ok {
		return fmt.Errorf("plugin %s: %s: %s", call, s.Code(), s.Message())
	}
	return fmt.Errorf("plugin %s: %w", call, err)
}

func (g *grpcClient) Describe(ctx context.Context, req DescribeRequest) (DescribeResponse, error) {
	r, err := g.c.Describe(ctx, &pb.DescribeRequest{HostCapabilities: req.HostCapabilities})
	if err != nil {
		return DescribeResponse{}, callError("Describe", err)
	}
	return describeFromProto(r), nil
}

func (g *grpcClient) Run(ctx context.Context, req RunRequest) (RunResponse, error) {
	pr := &pb.RunRequest{
		Model: req.Model, Check: req.Check, Device: req.Device, Precision: req.Precision,
		Weights: req.Weights, Inputs: req.Inputs, WantActivations: req.WantActivations,
		Perf: &pb.PerfOptions{
			Warmup:        int32(req.Perf.Warmup),
			Iterations:    int32(req.Perf.Iterations),
			LatencyBatch:  int32(req.Perf.LatencyBatch),
			TrainBatch:    int32(req.Perf.TrainBatch),
			MaxIterations: int32(req.Perf.MaxIterations), MaxSeconds: req.Perf.MaxSeconds,
			TargetPrecision: req.Perf.TargetPrecision,
		},
	}
	for _, b := range req.Perf.ThroughputBatches {
		pr.Perf.ThroughputBatches = append(pr.Perf.ThroughputBatches, int32(b))
	}
	r, err := g.c.Run(ctx, pr)
	if err != nil {
		return RunResponse{}, callError("Run", err)
	}
	return runFromProto(r), nil
}

// grpcServer is the plugin's side of the wire.
type grpcServer struct {
	pb.UnimplementedFrameworkServer
	impl Framework
}

func (s *grpcServer) Describe(ctx context.Context, req *pb.DescribeRequest) (*pb.DescribeResponse, error) {
	r, err := s.impl.Describe(ctx, DescribeRequest{HostCapabilities: req.HostCapabilities})
	if err != nil {
		return nil, err
	}
	out := &pb.DescribeResponse{
		Framework: r.Framework, Version: r.Version, Build: r.Build, Warnings: r.Warnings,
		Unavailable: r.Unavailable, Interpreter: r.Interpreter,
		Capabilities: &pb.Capabilities{
			Models: r.Capabilities.Models, Checks: r.Capabilities.Checks,
			Precisions: r.Capabilities.Precisions, Activations: r.Capabilities.Activations,
		},
	}
	for _, d := range r.Devices {
		out.Devices = append(out.Devices, &pb.Device{Id: d.ID, Kind: d.Kind, Name: d.Name, Uuid: d.UUID, Precisions: d.Precisions})
	}
	return out, nil
}

func (s *grpcServer) Run(ctx context.Context, req *pb.RunRequest) (*pb.RunResponse, error) {
	in := RunRequest{
		Model: req.Model, Check: req.Check, Device: req.Device, Precision: req.Precision,
		Weights: req.Weights, Inputs: req.Inputs, WantActivations: req.WantActivations,
	}
	if p := req.Perf; p != nil {
		in.Perf = PerfOptions{Warmup: int(p.Warmup), Iterations: int(p.Iterations),
			LatencyBatch: int(p.LatencyBatch), TrainBatch: int(p.TrainBatch),
			MaxIterations: int(p.MaxIterations), MaxSeconds: p.MaxSeconds, TargetPrecision: p.TargetPrecision}
		for _, b := range p.ThroughputBatches {
			in.Perf.ThroughputBatches = append(in.Perf.ThroughputBatches, int(b))
		}
	}
	r, err := s.impl.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	out := &pb.RunResponse{
		Status: r.Status, Message: r.Message, Outputs: r.Outputs,
		PeakMemoryBytes: r.PeakMemoryBytes, MemoryKind: r.MemoryKind, Warnings: r.Warnings,
		ComputeSeconds: r.ComputeSeconds, PrecisionInEffect: r.PrecisionInEffect, PrecisionEvidence: r.PrecisionEvidence,
	}
	for _, t := range r.Timings {
		out.Timings = append(out.Timings, &pb.Timing{Name: t.Name, Unit: t.Unit, Batch: int32(t.Batch), Samples: t.Samples,
			WindowStartUnixNano: unixNano(t.WindowStart), WindowEndUnixNano: unixNano(t.WindowEnd),
			Precision: t.Precision, Capped: t.Capped, Timer: t.Timer})
	}
	return out, nil
}

// describeFromProto and runFromProto are the one conversion from the
// wire's responses to the Go types, for both transports that carry them:
// gRPC from a plugin, and proto JSON from a Python worker (WireJSON).
func describeFromProto(r *pb.DescribeResponse) DescribeResponse {
	out := DescribeResponse{
		Framework:   r.Framework,
		Version:     r.Version,
		Build:       r.Build,
		Warnings:    r.Warnings,
		Unavailable: r.Unavailable,
		Interpreter: r.Interpreter,
	}
	for _, d := range r.Devices {
		out.Devices = append(out.Devices, Device{ID: d.Id, Kind: d.Kind, Name: d.Name, UUID: d.Uuid, Precisions: d.Precisions})
	}
	if c := r.Capabilities; c != nil {
		out.Capabilities = Capabilities{Models: c.Models, Checks: c.Checks, Precisions: c.Precisions, Activations: c.Activations}
	}
	return out
}

func runFromProto(r *pb.RunResponse) RunResponse {
	out := RunResponse{
		Status: r.Status, Message: r.Message, Outputs: r.Outputs,
		PeakMemoryBytes: r.PeakMemoryBytes, MemoryKind: r.MemoryKind, Warnings: r.Warnings,
		ComputeSeconds: r.ComputeSeconds, PrecisionInEffect: r.PrecisionInEffect, PrecisionEvidence: r.PrecisionEvidence,
	}
	for _, t := range r.Timings {
		out.Timings = append(out.Timings, Timing{Name: t.Name, Unit: t.Unit, Batch: int(t.Batch), Samples: t.Samples,
			WindowStart: fromUnixNano(t.WindowStartUnixNano), WindowEnd: fromUnixNano(t.WindowEndUnixNano),
			Precision: t.Precision, Capped: t.Capped, Timer: t.Timer})
	}
	return out
}

// ErrSchema: a response in proto JSON that framework.proto does not
// describe (a key its message lacks, a value of the wrong type).
var ErrSchema = errors.New("not a response of core/pluginapi/proto/framework.proto")

// strictJSON decodes proto JSON: a key the message lacks is an error.
var strictJSON = protojson.UnmarshalOptions{DiscardUnknown: false}

// DescribeResponseFromJSON decodes a DescribeResponse written in proto
// JSON, its keys the field names of framework.proto ("peak_memory_bytes";
// protojson also takes "peakMemoryBytes"). A key the schema lacks is an
// ErrSchema: the proto is the one definition of a response's shape, for
// plugins that speak gRPC and for the Python workers behind plugins/pyshim.
func DescribeResponseFromJSON(b []byte) (DescribeResponse, error) {
	var r pb.DescribeResponse
	if err := strictJSON.Unmarshal(b, &r); err != nil {
		return DescribeResponse{}, fmt.Errorf("%w: DescribeResponse: %v", ErrSchema, err)
	}
	return describeFromProto(&r), nil
}

// RunResponseFromJSON is DescribeResponseFromJSON for a RunResponse.
func RunResponseFromJSON(b []byte) (RunResponse, error) {
	var r pb.RunResponse
	if err := strictJSON.Unmarshal(b, &r); err != nil {
		return RunResponse{}, fmt.Errorf("%w: RunResponse: %v", ErrSchema, err)
	}
	return runFromProto(&r), nil
}

// unixNano is t on the wire: 0 for the zero time.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNano reads a wire time; 0 or less is "not reported".
func fromUnixNano(n int64) time.Time {
	if n <= 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
